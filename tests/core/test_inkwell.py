"""Core conversations with the in-process adapter, a real SQLite store and a scripted engine."""

from __future__ import annotations

import asyncio

import pytest

from core.events import (
    Accepted,
    Author,
    CancelRequested,
    ChannelList,
    ChannelsRequested,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
    StoryPage,
    StoryRequested,
)
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

WHO = Author("ana", "Ana")


@pytest.mark.asyncio
async def test_a_paragraph_gets_the_best_candidate_per_sentence(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.similarities = {
        "A fox in the snow.": [0.2, 0.9, 0.5],
        "An owl watches.": [0.7, 0.1, 0.3],
    }
    replies = await chat.post("A fox in the snow. An owl watches.")
    assert isinstance(replies[0], Accepted)
    assert replies[0].entry.seq == 1

    posted = (await chat.wait_for(PostIllustrations))[0]
    await chat.inkwell.idle()
    assert [image.caption for image in posted.images] == ["A fox in the snow.", "An owl watches."]
    # The first sentence opens the story: its best text match wins (0.9). The second is
    # scored against the story so far too: 0.5 * 0.7 + 0.5 * cos(its pick, the first) = 0.821.
    assert [round(image.score, 3) for image in posted.images] == [0.9, 0.821]
    assert len(engine.generate_calls) == 1, "all sentences go to the engine in one call"
    assert [len(r.seeds) for r in engine.generate_calls[0]] == [3, 3]

    stages = [p.stage for p in chat.of_type(Progress)]
    assert stages[0] == "generating"
    assert stages[-1] == "done"
    assert "scoring" in stages


@pytest.mark.asyncio
async def test_the_story_remembers_paragraphs_and_illustrations(chat: FakeAdapter) -> None:
    await chat.post("The harbour at dawn.")
    await chat.post("Gulls over the boats.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    page = (await chat.dispatch(StoryRequested(chat.channel(), WHO)))[0]
    assert isinstance(page, StoryPage)
    assert [entry.text for entry in page.entries] == [
        "The harbour at dawn.",
        "Gulls over the boats.",
    ]
    assert all(entry.status == "done" for entry in page.entries)
    assert all(len(entry.illustrations) == 1 for entry in page.entries)


@pytest.mark.asyncio
async def test_paging_back_through_a_story(chat: FakeAdapter) -> None:
    for number in range(1, 6):
        await chat.post(f"Scene number {number}.")
    await chat.wait_for(PostIllustrations, count=5)
    latest = (await chat.dispatch(StoryRequested(chat.channel(), WHO, limit=2)))[0]
    assert [e.seq for e in latest.entries] == [4, 5] and latest.has_more
    older = (await chat.dispatch(StoryRequested(chat.channel(), WHO, before_seq=4, limit=2)))[0]
    assert [e.seq for e in older.entries] == [2, 3] and older.has_more
    oldest = (await chat.dispatch(StoryRequested(chat.channel(), WHO, before_seq=2, limit=2)))[0]
    assert [e.seq for e in oldest.entries] == [1] and not oldest.has_more


@pytest.mark.asyncio
async def test_two_posts_at_once_keep_their_order(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    first, second = await asyncio.gather(chat.post("First light."), chat.post("Second wind."))
    assert {first[0].entry.seq, second[0].entry.seq} == {1, 2}
    posted = await chat.wait_for(PostIllustrations, count=2)
    by_seq = {
        first[0].entry.paragraph_id: first[0].entry.seq,
        second[0].entry.paragraph_id: second[0].entry.seq,
    }
    assert [by_seq[p.paragraph_id] for p in posted] == [1, 2]


@pytest.mark.asyncio
async def test_queued_paragraphs_are_told_their_position(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.gate = asyncio.Event()
    replies = [await chat.post(f"Part {n}.") for n in range(3)]
    assert [r[0].queue_position for r in replies] == [0, 1, 2]
    engine.gate.set()
    await chat.wait_for(PostIllustrations, count=3)
    queued = [p for p in chat.of_type(Progress) if p.stage == "queued"]
    assert [(p.paragraph_id, p.queue_position) for p in queued][-1] == (
        replies[2][0].entry.paragraph_id,
        1,
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("text", "words"),
    [("", "empty"), ("x" * 201, "limit is 200"), ("\x00\x01\x02\x03", "binary")],
)
async def test_bad_paragraphs_get_a_clear_reply_and_store_nothing(
    chat: FakeAdapter, text: str, words: str
) -> None:
    replies = await chat.post(text)
    assert len(replies) == 1 and isinstance(replies[0], PostError)
    assert words in replies[0].message
    page = (await chat.dispatch(StoryRequested(chat.channel(), WHO)))[0]
    assert page.entries == ()


@pytest.mark.asyncio
async def test_a_failed_drawing_is_tried_again(chat: FakeAdapter, engine: ScriptedEngine) -> None:
    engine.failures = [RuntimeError("CUDA out of memory")]
    await chat.post("The lighthouse keeper waves.")
    [posted] = await chat.wait_for(PostIllustrations)
    assert posted.images[0].caption == "The lighthouse keeper waves."
    retrying = [p for p in chat.of_type(Progress) if "try again" in p.detail]
    assert len(retrying) == 1 and retrying[0].stage == "queued"
    assert chat.of_type(PostError) == []


@pytest.mark.asyncio
async def test_a_drawing_that_keeps_failing_keeps_the_paragraph_and_explains(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.failures = [RuntimeError("CUDA out of memory")] * 2  # every allowed attempt
    await chat.post("The lighthouse keeper waves.")
    error = (await chat.wait_for(PostError))[0]
    assert "couldn't draw" in error.message and error.reference
    assert "CUDA" not in error.message
    await chat.post("The ship turns back.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    page = (await chat.dispatch(StoryRequested(chat.channel(), WHO)))[0]
    assert [(e.text, e.status) for e in page.entries] == [
        ("The lighthouse keeper waves.", "failed"),
        ("The ship turns back.", "done"),
    ]


@pytest.mark.asyncio
async def test_cancel_stops_the_running_paragraph(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.gate = asyncio.Event()
    await chat.post("A long procession of lanterns.")
    await asyncio.wait_for(engine.generating.wait(), 30)
    replies = await chat.dispatch(CancelRequested(chat.channel(), WHO))
    assert "Stopping" in replies[0].text
    engine.gate.set()
    stopped = await chat.wait_for(PostText)
    assert "Stopped" in stopped[-1].text
    await chat.inkwell.idle()
    assert chat.of_type(PostIllustrations) == []
    idle = await chat.dispatch(CancelRequested(chat.channel(), WHO))
    assert "Nothing is being drawn" in idle[0].text


@pytest.mark.asyncio
async def test_stories_are_listed_per_platform(chat: FakeAdapter) -> None:
    await chat.post("North story.", channel="north")
    await chat.post("South story.", channel="south")
    listing = (await chat.dispatch(ChannelsRequested(chat.channel(""), WHO)))[0]
    assert isinstance(listing, ChannelList)
    assert sorted((c.channel_id, c.paragraphs) for c in listing.channels) == [
        ("north", 1),
        ("south", 1),
    ]


@pytest.mark.asyncio
async def test_unfinished_paragraphs_resume_after_a_restart(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    engine.gate = asyncio.Event()
    first = Inkwell(engine, storage, StorySettings(candidates=2))
    adapter = FakeAdapter()
    first.attach(adapter)
    await first.start()
    await adapter.post("Snow falls on the village.")
    await adapter.post("A bell rings.")
    await first.stop()  # the process "dies" with both paragraphs unfinished

    engine.gate = None
    second = Inkwell(engine, storage, StorySettings(candidates=2))
    restarted = FakeAdapter()
    second.attach(restarted)
    await second.start()
    posted = await restarted.wait_for(PostIllustrations, count=2)
    assert [p.images[0].caption for p in posted] == ["Snow falls on the village.", "A bell rings."]
    await second.stop()
