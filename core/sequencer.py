"""Runs one story's jobs in order while different stories run in parallel."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("inkwell.sequencer")

JobT = TypeVar("JobT")


@dataclass
class _Lane(Generic[JobT]):
    waiting: deque[JobT] = field(default_factory=deque)
    running: JobT | None = None
    task: asyncio.Task[None] | None = None


class ChannelSequencer(Generic[JobT]):
    """One lane per channel; each lane works its jobs one at a time, first in first out.

    `work` must handle its own failures; an exception escaping it is logged and the lane
    moves on, so one bad job never stalls a story. `on_advance` is called whenever a lane's
    queue moves, with the jobs still waiting, so callers can tell writers their position.
    """

    def __init__(
        self,
        work: Callable[[JobT], Awaitable[None]],
        on_advance: Callable[[str, list[JobT]], Awaitable[None]] | None = None,
    ) -> None:
        self._work = work
        self._on_advance = on_advance
        self._lanes: dict[str, _Lane[JobT]] = {}
        self._closed = False

    def submit(self, channel_key: str, job: JobT) -> int:
        """Queue a job; returns how many jobs of this channel are ahead of it."""
        if self._closed:
            raise RuntimeError("sequencer is closed")
        lane = self._lanes.setdefault(channel_key, _Lane())
        ahead = len(lane.waiting) + (1 if lane.running is not None else 0)
        lane.waiting.append(job)
        if lane.task is None:
            lane.task = asyncio.create_task(self._run_lane(channel_key, lane))
        return ahead

    def running(self, channel_key: str) -> JobT | None:
        lane = self._lanes.get(channel_key)
        return lane.running if lane else None

    def waiting(self, channel_key: str) -> list[JobT]:
        lane = self._lanes.get(channel_key)
        return list(lane.waiting) if lane else []

    @property
    def busy_channels(self) -> int:
        return len(self._lanes)

    async def _run_lane(self, channel_key: str, lane: _Lane[JobT]) -> None:
        try:
            while lane.waiting:
                lane.running = lane.waiting.popleft()
                if self._on_advance is not None:
                    await self._notify(channel_key, list(lane.waiting))
                try:
                    await self._work(lane.running)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("job failed in %s", channel_key)
                finally:
                    lane.running = None
        finally:
            lane.task = None
            if not lane.waiting and self._lanes.get(channel_key) is lane:
                del self._lanes[channel_key]

    async def _notify(self, channel_key: str, waiting: list[JobT]) -> None:
        assert self._on_advance is not None
        try:
            await self._on_advance(channel_key, waiting)
        except Exception:
            log.exception("queue update failed in %s", channel_key)

    async def join(self) -> None:
        """Wait until every lane is idle (tests and graceful shutdown)."""
        while True:
            tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._lanes.clear()
