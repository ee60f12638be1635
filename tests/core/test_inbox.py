"""The durable inbox: one worker per story across processes, leases that expire, posts once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from core.events import PostIllustrations
from core.inbox import InboxSettings
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter, ManualClock
from storage.codec import now_utc
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio


async def _process(
    storage: SQLiteStorage,
    engine: ScriptedEngine,
    lease_s: float = 30,
    clock: ManualClock | None = None,
    stories_at_once: int = 8,
):
    """One 'bot process': its own core and worker owner over the shared store."""
    inkwell = Inkwell(
        engine,
        storage,
        StorySettings(candidates=2, progress_interval_s=0),
        InboxSettings(
            lease_s=lease_s,
            max_attempts=2,
            retry_backoff_s=0,
            stories_at_once=stories_at_once,
        ),
        clock=clock or now_utc,
    )
    adapter = FakeAdapter()
    inkwell.attach(adapter)
    await inkwell.start()
    return inkwell, adapter


async def test_a_story_leased_by_one_process_is_not_worked_by_another(
    storage: SQLiteStorage,
) -> None:
    slow, fast = ScriptedEngine(), ScriptedEngine()
    slow.gate = asyncio.Event()
    first, first_chat = await _process(storage, slow)
    second, second_chat = await _process(storage, fast)

    await first_chat.post("The tide comes in.")
    await asyncio.wait_for(slow.generating.wait(), 30)
    await second_chat.post("A crab hides.")  # same story, posted through the other process
    assert await second.sweep() == 1
    await second.idle()  # its drain found the lease taken and gave up
    assert fast.generate_calls == [], "the second process must not touch a leased story"

    slow.gate.set()
    posted = await first_chat.wait_for(PostIllustrations, count=2)
    assert [p.images[0].caption for p in posted] == ["The tide comes in.", "A crab hides."]
    await first.stop()
    await second.stop()


async def test_a_dead_process_lease_runs_out_and_another_finishes_its_story(
    storage: SQLiteStorage,
) -> None:
    # What a process killed mid-drawing leaves behind: stored work and its unexpired lease.
    clock = ManualClock()
    await storage.channels.ensure("fake:story", "fake", "story", None, "story")
    paragraph = await storage.paragraphs.add(
        "fake:story", "ana", "Ana", "The lamp flickers.", clock()
    )
    await storage.inbox.add(
        "fake:story", "illustrate", {"paragraph_id": paragraph.id}, "work-1", clock()
    )
    assert await storage.channels.try_lease("fake:story", "killed-process", 30, clock())

    alive, alive_chat = await _process(storage, ScriptedEngine(), clock=clock)
    assert await alive.sweep() == 1
    await alive.idle()
    assert alive_chat.of_type(PostIllustrations) == [], "not before the lease expires"
    clock.advance(29)
    assert await alive.sweep() == 1
    await alive.idle()
    assert alive_chat.of_type(PostIllustrations) == [], "not a second before it expires either"
    clock.advance(1.5)
    assert await alive.sweep() == 1
    [posted] = await alive_chat.wait_for(PostIllustrations)
    assert posted.images[0].caption == "The lamp flickers."
    await alive.stop()


async def test_a_story_whose_lease_ran_out_while_waiting_for_a_turn_is_left_to_its_new_owner(
    storage: SQLiteStorage,
) -> None:
    """Two processes once drew one paragraph at once: the lease ran out while the story waited
    in line for the engine, and the process worked it anyway when its turn came."""
    clock = ManualClock()
    engine = ScriptedEngine()
    inkwell, chat = await _process(storage, engine, clock=clock, stories_at_once=1)
    turns = inkwell._worker.turns
    busy = turns.turn("fake:another-story")
    await busy.__aenter__()  # the only turn is taken
    await storage.channels.ensure("fake:story", "fake", "story", None, "story")
    paragraph = await storage.paragraphs.add(
        "fake:story", "ana", "Ana", "The lamp flickers.", clock()
    )
    await storage.inbox.add(
        "fake:story", "illustrate", {"paragraph_id": paragraph.id}, "work-1", clock()
    )
    assert await inkwell.sweep() == 1
    await asyncio.wait_for(turns.until_waiting("fake:story"), 10)
    clock.advance(31)  # the lease runs out, and another process takes the story
    assert await storage.channels.try_lease("fake:story", "other-process", 30, clock())
    await busy.__aexit__(None, None, None)
    await inkwell.idle()
    assert engine.generate_calls == [] and chat.of_type(PostIllustrations) == []
    [item] = await storage.inbox.due("fake:story", clock(), limit=1)  # still there for the owner
    assert item.kind == "illustrate"
    await inkwell.stop()


async def test_a_post_already_made_is_not_made_again(storage: SQLiteStorage) -> None:
    engine = ScriptedEngine()
    inkwell, chat = await _process(storage, engine)
    [accepted] = await chat.post("Snow on the roofs.")
    await chat.wait_for(PostIllustrations)
    await inkwell.idle()
    paragraph_id = accepted.entry.paragraph_id

    # Replay the work as a crash right after posting would: the inbox item is pending again.
    item = await storage.inbox.add(
        "fake:story", "illustrate", {}, f"illustrate:{paragraph_id}:", now_utc()
    )
    await storage.inbox.mark_retry(item.id, now_utc() - timedelta(seconds=1), "replayed")
    # Put the finished item back to pending, as if the crash came before it was marked done.
    await storage._db.execute("UPDATE inbox SET status = 'pending' WHERE id = ?", (item.id,))
    calls = len(engine.generate_calls)
    await inkwell.sweep()
    await inkwell.idle()
    assert len(engine.generate_calls) == calls, "the stored drawing is reused"
    assert len(chat.of_type(PostIllustrations)) == 1, "and not posted twice"
    delivery = await storage.deliveries.get(f"illustrations:{paragraph_id}")
    assert delivery is not None and delivery.status == "posted"
    await inkwell.stop()


async def test_a_failed_post_is_retried_without_drawing_again(storage: SQLiteStorage) -> None:
    engine = ScriptedEngine()
    inkwell, chat = await _process(storage, engine)
    original_send = chat.send
    failures = [ConnectionError("401 Invalid Webhook Token")]

    async def flaky_send(action):
        if isinstance(action, PostIllustrations) and failures:
            raise failures.pop()
        return await original_send(action)

    chat.send = flaky_send  # type: ignore[method-assign]
    await chat.post("The bridge sways in the wind.")
    [posted] = await chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert posted.images[0].caption == "The bridge sways in the wind."
    assert len(engine.generate_calls) == 1, "the retry posts the stored drawing"
    await inkwell.stop()


async def test_a_post_not_recorded_before_a_crash_is_resent_under_its_delivery_id(
    storage: SQLiteStorage,
) -> None:
    engine = ScriptedEngine()
    inkwell, chat = await _process(storage, engine)
    [accepted] = await chat.post("Rain on the harbour.")
    [first] = await chat.wait_for(PostIllustrations)
    await inkwell.idle()
    paragraph_id = accepted.entry.paragraph_id
    assert (first.delivery_id, first.again) == (f"illustrations:{paragraph_id}", False)

    # A crash after the post reached the platform, before it was recorded as posted.
    item = await storage.inbox.add(
        "fake:story", "illustrate", {}, f"illustrate:{paragraph_id}:", now_utc()
    )
    await storage._db.execute("UPDATE inbox SET status = 'pending' WHERE id = ?", (item.id,))
    await storage._db.execute(
        "UPDATE deliveries SET status = 'intent' WHERE id = ?", (first.delivery_id,)
    )
    await storage._db.commit()
    await inkwell.sweep()
    await inkwell.idle()
    [_, resent] = chat.of_type(PostIllustrations)
    # The same pictures under the same key, marked as possibly landed: the adapter makes the
    # platform show it once (Discord's nonce, the room page's delivery ids).
    assert (resent.delivery_id, resent.again) == (first.delivery_id, True)
    assert [i.illustration_id for i in resent.images] == [i.illustration_id for i in first.images]
    await inkwell.stop()
