"""One status message per paragraph, edited in place no more often than the platform tolerates."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("inkwell.status")

StateT = TypeVar("StateT")
Create = Callable[[StateT], Awaitable[str]]  # posts the message, returns its id
Edit = Callable[[str, StateT], Awaitable[None]]


@dataclass
class _Status(Generic[StateT]):
    edit: Edit[StateT]
    message_id: str | None = None
    last_edit: float = float("-inf")
    pending: StateT | None = None
    final: bool = False
    flusher: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StatusBoard(Generic[StateT]):
    """Keeps at most one edit per `interval_s` per message; the last state always lands.

    Updates that arrive inside the interval replace each other, and the newest one is sent when
    the interval is over, so a paragraph that finishes quickly still ends showing "done".
    """

    def __init__(
        self,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._interval = interval_s
        self._clock = clock  # with `sleep`, a test's ManualTimer (core.testing)
        self._sleep = sleep
        self._statuses: dict[str, _Status[StateT]] = {}

    def message_id(self, key: str) -> str | None:
        status = self._statuses.get(key)
        return status.message_id if status else None

    async def show(
        self, key: str, state: StateT, create: Create[StateT], edit: Edit[StateT], final: bool
    ) -> None:
        status = self._statuses.get(key)
        if status is None or (status.final and status.flusher is None):
            status = self._statuses[key] = _Status(edit)  # a redraw gets a fresh message
        async with status.lock:
            status.final = status.final or final
            if status.message_id is None:
                status.message_id = await create(state)
                status.last_edit = self._clock()
            else:
                status.pending = state
                wait = status.last_edit + self._interval - self._clock()
                if wait <= 0 and status.flusher is None:
                    await self._edit_now(status)
                elif status.flusher is None:
                    status.flusher = asyncio.create_task(self._flush_later(key, status))
            if status.final and status.flusher is None and status.pending is None:
                self._statuses.pop(key, None)

    async def _edit_now(self, status: _Status[StateT]) -> None:
        state, status.pending = status.pending, None
        if state is None or status.message_id is None:
            return
        status.last_edit = self._clock()
        try:
            await status.edit(status.message_id, state)
        except Exception:
            log.exception("editing status message %s failed", status.message_id)

    async def _flush_later(self, key: str, status: _Status[StateT]) -> None:
        # Until the interval after the last edit is over, counted from now (not from when
        # this task was made: it starts a turn of the loop later).
        await self._sleep(status.last_edit + self._interval - self._clock())
        async with status.lock:
            status.flusher = None
            await self._edit_now(status)
            if status.final and self._statuses.get(key) is status:
                del self._statuses[key]

    async def close(self) -> None:
        """Deliver what is still waiting (shutdown), then forget every message."""
        for status in list(self._statuses.values()):
            if status.flusher is not None:
                status.flusher.cancel()
                status.flusher = None
                async with status.lock:
                    await self._edit_now(status)
        self._statuses.clear()
