"""One story's jobs run in order; different stories run side by side."""

from __future__ import annotations

import asyncio

import pytest

from core.sequencer import ChannelSequencer


@pytest.mark.asyncio
async def test_jobs_of_one_channel_run_in_order_one_at_a_time() -> None:
    log: list[str] = []
    running = 0

    async def work(job: str) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await asyncio.sleep(0.01)
        log.append(job)
        running -= 1

    sequencer: ChannelSequencer[str] = ChannelSequencer(work)
    positions = [sequencer.submit("a", f"a{i}") for i in range(4)]
    await sequencer.join()
    assert positions == [0, 1, 2, 3]
    assert log == ["a0", "a1", "a2", "a3"]


@pytest.mark.asyncio
async def test_channels_run_in_parallel() -> None:
    started: set[str] = set()
    both_started = asyncio.Event()

    async def work(job: str) -> None:
        started.add(job)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), 1)

    sequencer: ChannelSequencer[str] = ChannelSequencer(work)
    sequencer.submit("a", "a0")
    sequencer.submit("b", "b0")
    await sequencer.join()
    assert started == {"a0", "b0"}


@pytest.mark.asyncio
async def test_a_failing_job_does_not_stall_the_story() -> None:
    done: list[str] = []

    async def work(job: str) -> None:
        if job == "bad":
            raise RuntimeError("boom")
        done.append(job)

    sequencer: ChannelSequencer[str] = ChannelSequencer(work)
    for job in ("one", "bad", "two"):
        sequencer.submit("a", job)
    await sequencer.join()
    assert done == ["one", "two"]


@pytest.mark.asyncio
async def test_waiting_jobs_are_announced_as_the_queue_moves() -> None:
    announced: list[list[str]] = []

    async def work(job: str) -> None:
        await asyncio.sleep(0)

    async def on_advance(channel: str, waiting: list[str]) -> None:
        announced.append(list(waiting))

    sequencer: ChannelSequencer[str] = ChannelSequencer(work, on_advance)
    for job in ("p1", "p2", "p3"):
        sequencer.submit("a", job)
    await sequencer.join()
    assert announced == [["p2", "p3"], ["p3"], []]
