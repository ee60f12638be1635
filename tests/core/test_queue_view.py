"""`/inkwell queue`: the story's waiting work in drawing order, and the asker's place in it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from adapters.chat_text import answer_text
from core.events import Author, ParagraphPosted, QueuedWork, QueueRequested, QueueShown
from core.inbox import InboxSettings
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def chat(storage: SQLiteStorage, engine: ScriptedEngine) -> AsyncIterator[FakeAdapter]:
    settings = StorySettings(candidates=1, progress_interval_s=0)
    inkwell = Inkwell(engine, storage, settings, InboxSettings(stories_at_once=1))
    adapter = FakeAdapter()
    inkwell.attach(adapter)
    await inkwell.start()
    adapter.inkwell = inkwell  # type: ignore[attr-defined]
    yield adapter
    engine.gate = None
    await inkwell.stop()


def _post(chat: FakeAdapter, text: str, who: str, source: str) -> ParagraphPosted:
    return ParagraphPosted(chat.channel(), Author(who, who.title()), text=text, source_id=source)


async def _queue(chat: FakeAdapter, who: str) -> QueueShown:
    [shown] = await chat.dispatch(QueueRequested(chat.channel(), Author(who, who.title())))
    assert isinstance(shown, QueueShown)
    return shown


async def test_the_queue_lists_waiting_paragraphs_in_order_with_the_askers_place(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.gate = asyncio.Event()
    await chat.dispatch(_post(chat, "A kite rises over the hill.", "ana", "m1"))
    await asyncio.wait_for(engine.generating.wait(), 10)  # m1 is being drawn
    await chat.dispatch(_post(chat, "A dog runs after it.", "ana", "m2"))
    await chat.dispatch(_post(chat, "Bo waves from the boat.", "bo", "m3"))

    bo = await _queue(chat, "bo")
    assert [(item.position, item.kind, item.author, item.seq) for item in bo.items] == [
        (0, "paragraph", "Ana", 1),
        (1, "paragraph", "Ana", 2),
        (2, "paragraph", "Bo", 3),
    ]
    assert [item.mine for item in bo.items] == [False, False, True]
    assert bo.your_position == 2 and bo.yours == 1
    assert bo.items[2].text == "Bo waves from the boat."

    ana = await _queue(chat, "ana")
    assert ana.your_position == 0 and ana.yours == 2
    cy = await _queue(chat, "cy")
    assert cy.your_position is None and cy.yours == 0 and len(cy.items) == 3

    engine.gate.set()
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    done = await _queue(chat, "bo")
    assert done.items == () and done.your_position is None


async def test_chat_platforms_show_the_queue_with_the_askers_items_marked(
    chat: FakeAdapter,
) -> None:
    shown = QueueShown(
        chat.channel(),
        items=(
            QueuedWork(0, "paragraph", "Ana", "A kite rises.", "p1", 1, False),
            QueuedWork(1, "edit", "Bo", "make it darker", "p1", 1, True),
            QueuedWork(2, "paragraph", "Bo", "Bo waves.", "p2", 2, True),
        ),
        your_position=1,
        yours=2,
    )
    text = answer_text(shown, 2000, "discord")
    assert text.splitlines() == [
        "Your next is at position 1 (2 of yours in the queue).",
        "now paragraph 1 by Ana: A kite rises.",
        "1. edit by Bo: make it darker ← you",
        "2. paragraph 2 by Bo: Bo waves. ← you",
    ]
    short = answer_text(shown, 120, "slack")
    assert len(short) <= 120 and short.startswith("Your next is at position 1")
    empty = QueueShown(chat.channel(), items=(), your_position=None, yours=0)
    assert answer_text(empty, 2000, "slack") == "Nothing is waiting to be drawn in this story."
