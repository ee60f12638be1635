"""Carries denoising progress from the model thread to the writers, throttled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from core.engine import StepProgress
from core.events import Action, ChannelRef, Progress

# Share of the progress bar drawing fills; choosing the pictures takes the rest.
GENERATING_SHARE = 0.85

Send = Callable[[Action], Awaitable[None]]


class ProgressReporter:
    """Carries step progress from the model thread to the event loop, throttled."""

    def __init__(self, send: Send, channel: ChannelRef, paragraph_id: str, interval_s: float):
        self._send = send
        self._channel = channel
        self._paragraph_id = paragraph_id
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._last = 0.0
        self._pending: set[asyncio.Future[None]] = set()

    def on_step(self, progress: StepProgress) -> None:
        now = time.monotonic()
        if progress.step < progress.total and now - self._last < self._interval_s:
            return
        self._last = now
        action = Progress(
            self._channel,
            self._paragraph_id,
            "generating",
            round(progress.fraction * GENERATING_SHARE, 3),
            detail="Drawing",
        )
        self._loop.call_soon_threadsafe(self._schedule, action)

    def _schedule(self, action: Progress) -> None:
        task = asyncio.ensure_future(self._send(action))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def flush(self) -> None:
        """Let updates already scheduled land before later stages are announced."""
        await asyncio.sleep(0)  # run callbacks the worker thread queued just before finishing
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
