"""The one batching policy of both engines: which waiting calls share a model call, and how it runs.

A model call is shared by every compatible call waiting when the model becomes free (no timer:
the batch closes when nothing more is waiting). `run_batch` runs the merged call and settles
each caller: progress fans out to every caller still waiting, the call stops once all of them
cancelled, a failed batch is retried caller by caller, and each caller gets its own slice.
Pure Python over a "run this merged call" function, so it is tested without torch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from core.engine import CancelToken, GenerationCancelled, ProgressCallback, StepProgress

logger = logging.getLogger("inkwell.models")

JobKind = Literal[
    "generate",
    "embed_texts",
    "embed_images",
    "embed_regions",
    "screen",
    "edit",
    "compose",
    "restore",
]
# Model methods callers reach by name; a runner method of one of these names is forwarded as is.
JOB_KINDS: tuple[JobKind, ...] = (
    "generate",
    "embed_texts",
    "embed_images",
    "embed_regions",
    "screen",
    "edit",
    "compose",
    "restore",
)
# These take `(items, on_step, should_stop)`: their callers get progress and can stop them.
STEPPED_KINDS: frozenset[str] = frozenset({"generate", "edit", "compose"})

StepCallback = Callable[[int, int], None]  # (denoising steps done, steps in all)
StopCheck = Callable[[], bool]
# Runs one model call over the items of every caller in a batch: (kind, items, on_step,
# should_stop) -> one result per item, in order.
MergedCall = Callable[[str, list[Any], StepCallback, StopCheck], Sequence[Any]]
T = TypeVar("T")


class EngineClosed(RuntimeError):
    """The engine is not running: not started yet, closed, or its worker died."""


def job_size(kind: str, items: Sequence[Any]) -> int:
    """A caller's share of a batch: candidates (seeds) for generate, items otherwise."""
    if kind == "generate":
        return sum(len(getattr(item, "seeds", ())) for item in items)
    return len(items)


def is_out_of_memory(error: BaseException) -> bool:
    """True for torch.cuda.OutOfMemoryError (matched by name: this module imports no torch)."""
    return "OutOfMemoryError" in type(error).__name__


@dataclass(eq=False)
class Job:
    """One caller's engine call, waiting in the queue or running on the model thread."""

    kind: str
    payload: list[Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    progress: ProgressCallback | None = None  # called on the model thread
    cancel: CancelToken | None = None
    size: int = 0  # candidates (generate) or items (everything else)
    abandoned: bool = False  # the caller stopped waiting
    batch_size: int = 0  # items in the model call this job last shared
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


class Gathering(Generic[T]):
    """What callers hand in during one turn of their event loop, passed on together.

    Callers that start at the same moment (channels posting at once, asyncio.gather) run in
    the same turn; handing their calls on one by one would let an idle model start on the
    first alone. `hand_on` gets each turn's items once the turn ends, on that loop.
    """

    def __init__(self, hand_on: Callable[[list[T]], None]) -> None:
        self._hand_on = hand_on
        self._lock = threading.Lock()  # several threads' loops may gather at once
        self._turns: dict[asyncio.AbstractEventLoop, list[T]] = {}

    def add(self, item: T) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            turn = self._turns.setdefault(loop, [])
            if not turn:
                loop.call_soon(self._end_turn, loop)  # runs after every caller of this turn
            turn.append(item)

    def waiting(self) -> int:
        """Items handed in whose turn has not ended yet."""
        with self._lock:
            return sum(len(turn) for turn in self._turns.values())

    def _end_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            items = self._turns.pop(loop, [])
        if items:
            self._hand_on(items)


def take_batch(
    pending: deque[Job],
    keys_of: Callable[[Job], frozenset[Hashable]],
    max_batch: int,
) -> list[Job]:
    """Pop the oldest live job and every pending job that can share its model call.

    Generate jobs share a call when all their requests have the same sampling settings as the
    oldest job's, up to `max_batch` candidates in all; jobs of any other kind share with every
    pending job of that kind. Cancelled jobs met at the head are failed on the way. Returns []
    if nothing is pending.
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


async def answer_of(
    future: asyncio.Future[Any],
    cancel: CancelToken | None,
    poll_s: float,
    leave: Callable[[], None],
) -> Any:
    """Wait for a caller's answer. A set `cancel` (polled every `poll_s`: a CancelToken has no
    wake-up hook) raises GenerationCancelled, a cancelled task re-raises; both call `leave`."""
    try:
        if cancel is None:
            return await asyncio.shield(future)
        while True:
            done, _ = await asyncio.wait({future}, timeout=poll_s)
            if done:
                return future.result()
            if cancel.cancelled:
                leave()
                raise GenerationCancelled()
    except asyncio.CancelledError:
        leave()
        raise


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


def run_batch(
    batch: list[Job],
    call: MergedCall,
    *,
    stopping: StopCheck = _never,
    free_memory: Callable[[], None] = _nothing,
) -> None:
    """Run `batch` as one merged model call and settle every job, with its slice or an error.

    Runs on the model thread. The call stops early (GenerationCancelled) when every job in it
    is cancelled or `stopping()` says the worker is going down (then callers get EngineClosed).
    If a batch of several jobs fails, each job runs again alone, so one bad request fails only
    its own caller; an out-of-memory error first calls `free_memory` so the retries can fit.
    """
    kind = batch[0].kind
    size = sum(job.size for job in batch)
    for job in batch:
        job.batch_size = size

    def on_step(step: int, total: int) -> None:
        update = StepProgress(step, total)
        for job in batch:
            if job.progress is not None and not job.cancelled():
                try:
                    job.progress(update)
                except Exception:
                    logger.exception("progress callback failed")

    def should_stop() -> bool:
        return stopping() or all(job.cancelled() for job in batch)

    items = [item for job in batch for item in job.payload]
    started = time.perf_counter()
    try:
        results = call(kind, items, on_step, should_stop)
    except GenerationCancelled:
        for job in batch:
            job.fail(EngineClosed("engine closed") if stopping() else GenerationCancelled())
        return
    except Exception as error:
        if is_out_of_memory(error):
            free_memory()  # so the retries below, or the caller's own retry, can fit
        if len(batch) == 1:
            logger.exception("%s call failed", kind)
            batch[0].fail(error)
            return
        logger.warning(
            "batch of %d %s calls failed (%r); retrying each alone", len(batch), kind, error
        )
        for job in batch:
            if stopping():
                job.fail(EngineClosed("engine closed"))
            elif job.cancelled():
                job.fail(GenerationCancelled())
            else:
                run_batch([job], call, stopping=stopping, free_memory=free_memory)
        return
    except BaseException:
        # The worker is going down (e.g. SystemExit): nobody may be left waiting forever.
        for job in batch:
            job.fail(EngineClosed("model worker stopped"))
        raise
    logger.debug(
        "%s batch of %d calls (%d items) ran in %.3fs",
        *(kind, len(batch), size, time.perf_counter() - started),
    )
    start = 0
    for job in batch:
        mine = results[start : start + len(job.payload)]
        start += len(job.payload)
        if job.cancelled():
            job.fail(GenerationCancelled())
        else:
            # A numpy slice is a view of the whole batch's array: give each caller its own.
            job.resolve(mine.copy() if hasattr(mine, "copy") else mine)
