"""Fair scheduling: waiting limits per story and per writer, and stories served in turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.events import Accepted, Author, ParagraphPosted, Progress, Refused
from core.inbox import InboxSettings
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio
LIMITS = InboxSettings(stories_at_once=1, max_waiting_per_story=4, max_waiting_per_writer=2)


@pytest_asyncio.fixture
async def chat(storage: SQLiteStorage, engine: ScriptedEngine) -> AsyncIterator[FakeAdapter]:
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2, progress_interval_s=0), LIMITS)
    adapter = FakeAdapter()
    inkwell.attach(adapter)
    await inkwell.start()
    adapter.inkwell = inkwell  # type: ignore[attr-defined]
    yield adapter
    engine.gate = None
    await inkwell.stop()


def _post(chat: FakeAdapter, text: str, author: str, source: str) -> ParagraphPosted:
    return ParagraphPosted(
        chat.channel(), Author(author, author.title()), text=text, source_id=source
    )


async def test_a_writer_and_a_story_can_only_have_so_much_waiting(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.gate = asyncio.Event()
    [first] = await chat.dispatch(_post(chat, "A kite rises.", "ana", "m1"))
    assert isinstance(first, Accepted)
    await asyncio.wait_for(engine.generating.wait(), 10)  # m1 is being drawn, not waiting
    for source in ("m2", "m3"):
        [queued] = await chat.dispatch(_post(chat, f"Paragraph {source}.", "ana", source))
        assert isinstance(queued, Accepted)
    [refused] = await chat.dispatch(_post(chat, "One more.", "ana", "m4"))
    assert isinstance(refused, Refused)
    assert "You already have 2 paragraphs waiting" in refused.message
    assert "(the limit is 2 per writer)" in refused.message and "try again" in refused.message

    [taken] = await chat.dispatch(_post(chat, "Bo's turn.", "bo", "m5"))
    assert isinstance(taken, Accepted)  # Bo has nothing waiting; the story has room for one
    [full] = await chat.dispatch(_post(chat, "Bo again.", "bo", "m6"))
    assert isinstance(full, Refused)
    assert "This story already has 4 paragraphs and edits waiting" in full.message
    assert "(the limit is 4)" in full.message

    [again] = await chat.dispatch(_post(chat, "Paragraph m2.", "ana", "m2"))  # a resend
    assert isinstance(again, Accepted) and again.again and again.queue_position == 1

    engine.gate.set()
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    [later] = await chat.dispatch(_post(chat, "Bo again.", "bo", "m6"))
    assert isinstance(later, Accepted)


async def test_stories_are_served_in_turn_so_a_flood_cannot_starve_another_room(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    drawing, most = 0, 0
    generate = engine.generate

    async def counted(*args, **kwargs):  # how many stories draw at once
        nonlocal drawing, most
        drawing += 1
        most = max(most, drawing)
        try:
            return await generate(*args, **kwargs)
        finally:
            drawing -= 1

    engine.generate = counted  # type: ignore[method-assign]
    engine.gate = asyncio.Event()
    for number in range(1, 3):
        await chat.dispatch(_post(chat, f"Flood {number}.", "ana", f"a{number}"))
    await asyncio.wait_for(engine.generating.wait(), 10)
    await chat.dispatch(_post(chat, "Flood 3.", "bo", "a3"))
    quiet = ParagraphPosted(chat.channel("quiet"), Author("cy", "Cy"), text="A calm lake.")
    [accepted] = await chat.dispatch(quiet)
    assert isinstance(accepted, Accepted)
    turns = chat.inkwell._worker.turns  # type: ignore[attr-defined]
    await asyncio.wait_for(turns.until_waiting("fake:quiet"), 10)
    assert turns.waiting == ["fake:quiet"]
    engine.gate.set()
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    drawn = [calls[0].prompt for calls in engine.generate_calls]
    names = ("Flood 1", "Flood 2", "Flood 3", "calm lake")
    order = [next(name for name in names if name in prompt) for prompt in drawn]
    # The quiet room waited for one turn of the flooded room, not for all of it.
    assert order == ["Flood 1", "calm lake", "Flood 2", "Flood 3"]
    assert most == 1  # stories_at_once
    assert len(chat.of_type(Progress)) > 0
