"""Queued engine calls and the rule for which of them may share one model call."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Literal

from core.engine import CancelToken, GenerationCancelled, ProgressCallback

logger = logging.getLogger("inkwell.models")

JobKind = Literal["generate", "embed_texts", "embed_images", "screen", "edit", "restore"]


class EngineClosed(RuntimeError):
    """The engine is not running: not started yet, closed, or its worker died."""


@dataclass(eq=False)
class Job:
    """One caller's engine call, waiting in the queue or running on the worker."""

    kind: JobKind
    payload: list[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    progress: ProgressCallback | None = None
    cancel: CancelToken | None = None
    size: int = 0  # candidates (generate) or items (embeds, screens)
    abandoned: bool = False  # the caller stopped waiting
    keys: frozenset[Hashable] | None = field(default=None, repr=False)  # worker-side cache

    def cancelled(self) -> bool:
        return self.abandoned or (self.cancel is not None and self.cancel.cancelled)

    def resolve(self, value: Any) -> None:
        self._deliver(lambda: self.future.set_result(value))

    def fail(self, error: BaseException) -> None:
        self._deliver(lambda: self.future.set_exception(error))

    def _deliver(self, action: Callable[[], None]) -> None:
        def apply() -> None:
            # The caller may have stopped waiting (cancelled its task) before this arrived.
            if not self.future.done():
                action()

        # A closed loop means nobody is left to receive the result.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(apply)


def take_batch(
    pending: deque[Job],
    keys_of: Callable[[Job], frozenset[Hashable]],
    max_batch: int,
) -> list[Job]:
    """Pop the oldest live job and every pending job that can share its model call.

    Generate jobs share a call when all their requests have the same sampling settings as the
    oldest job's, up to `max_batch` candidates in all; embed and screen jobs of one kind always
    share. Cancelled jobs met at the head are failed on the way. Returns [] if nothing is pending.
    """
    while pending and pending[0].cancelled():
        pending.popleft().fail(GenerationCancelled())
    if not pending:
        return []
    head = pending.popleft()
    batch, total = [head], head.size
    head_keys = keys_of(head) if head.kind == "generate" else None
    if head_keys is not None and len(head_keys) != 1:
        return batch  # mixed settings need several calls anyway; run it alone
    for job in list(pending):
        if job.kind != head.kind or job.cancelled():
            continue
        too_big_or_different = head_keys is not None and (
            total + job.size > max_batch or keys_of(job) != head_keys
        )
        if too_big_or_different:
            continue
        pending.remove(job)
        batch.append(job)
        total += job.size
    return batch
