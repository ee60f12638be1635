"""ModelWorker: one model thread and its queue of calls, behind LocalEngine and the Ray replica."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from core.engine import CancelToken, ProgressCallback
from engine.batching import (
    STEPPED_KINDS,
    EngineClosed,
    Gathering,
    Job,
    MergedCall,
    StepCallback,
    StopCheck,
    answer_of,
    job_size,
    run_batch,
    take_batch,
)


class BatchedModel(Protocol):
    """What the worker needs of its model, besides the methods named by the job kinds."""

    def sampling_key(self, request: Any) -> Hashable: ...

    def close(self) -> None: ...


M = TypeVar("M", bound=BatchedModel)


def forward_to(model: Any) -> MergedCall:
    """The merged call that runs a batch as `model.<kind>(items[, on_step, should_stop])`."""

    def call(kind: str, items: list[Any], on_step: StepCallback, stop: StopCheck) -> Sequence:
        method = getattr(model, kind)
        return method(items, on_step, stop) if kind in STEPPED_KINDS else method(items)

    return call


def _nothing() -> None:
    return None


class ModelWorker(Generic[M]):
    """Loads a model on its own thread, then runs queued calls there in shared batches.

    The model is thread-confined: it is loaded, called and closed on the worker thread only.
    Whenever the thread is free it takes every waiting call that can share the oldest one's
    model call (see engine.batching): a batch closes when nothing more is waiting.
    """

    def __init__(
        self,
        load: Callable[[], M],
        max_batch: int = 16,
        *,
        thread_name: str = "inkwell-model-worker",
        cancel_poll_s: float = 0.05,
        free_memory: Callable[[], None] = _nothing,
        on_batch: Callable[[str, int], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._load = load
        self._max_batch = max_batch
        self._thread_name = thread_name
        self._poll = cancel_poll_s
        self._free_memory = free_memory
        self._on_batch = on_batch
        self._cond = threading.Condition()
        self._pending: deque[Job] = deque()
        self._turn: Gathering[Job] = Gathering(self._enqueue)
        self._thread: threading.Thread | None = None
        self._running = False
        self._closing = False
        self._model: M | None = None

    @property
    def model(self) -> M | None:
        """The loaded model (None before loading ends); read it, call it only through jobs."""
        return self._model

    @property
    def queued(self) -> int:
        """Calls waiting for the model thread (not counting the batch it is running)."""
        with self._cond:
            return len(self._pending) + self._turn.waiting()

    async def until_queued(self, count: int, timeout: float = 10) -> None:
        """Return once exactly `count` calls wait for the model thread (tests and benchmarks
        line calls up behind a busy model this way); TimeoutError after `timeout` seconds."""

        def wait() -> bool:
            with self._cond:  # notified whenever the queue changes
                return self._cond.wait_for(lambda: self.queued == count, timeout)

        if not await asyncio.to_thread(wait):
            raise TimeoutError(f"{self.queued} calls queued, not {count}, after {timeout}s")

    def launch(self) -> concurrent.futures.Future[M]:
        """Start the thread; the returned future gets the model once loaded, or the load error."""
        if self._thread is not None or self._closing:
            raise RuntimeError("a ModelWorker can be started once")
        loaded: concurrent.futures.Future[M] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._serve, args=(loaded,), name=self._thread_name, daemon=True
        )
        self._thread.start()
        return loaded

    async def start(self) -> M:
        """Start the thread and wait until the model is loaded; raises the load error."""
        loaded = self.launch()
        try:
            return await asyncio.wrap_future(loaded)
        except BaseException:
            # Load failed or start() was cancelled: the thread exits once loading returns.
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            raise

    def submit(
        self,
        kind: str,
        payload: list[Any],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Job:
        """Queue a call from the running event loop; its future settles on that loop.

        Calls submitted in the same turn of the loop reach the thread together, so an idle
        model takes them in one batch rather than starting on the first alone.
        """
        loop = asyncio.get_running_loop()
        job = Job(kind, payload, loop, loop.create_future(), progress, cancel)
        job.size = job_size(kind, payload)
        self._refuse_if_stopped()
        self._turn.add(job)
        return job

    def _refuse_if_stopped(self) -> None:
        with self._cond:
            if not self._running or self._closing:
                raise EngineClosed("engine is not running (call start(), or it was closed)")

    def _enqueue(self, jobs: list[Job]) -> None:
        """The end of a turn: its calls join the queue at once (ones already left are dropped)."""
        with self._cond:
            stopped = not self._running or self._closing
            if not stopped:
                self._pending.extend(job for job in jobs if not job.abandoned)
                self._cond.notify_all()
        if stopped:
            for job in jobs:
                job.fail(EngineClosed("engine closed"))

    def abandon(self, job: Job) -> None:
        """The caller stopped waiting: drop the job if queued; a shared call may stop early."""
        with self._cond:
            job.abandoned = True
            if job in self._pending:
                self._pending.remove(job)
                self._cond.notify_all()

    async def run(
        self,
        kind: str,
        payload: list[Any],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """Queue a call and wait for its result; a set `cancel` raises within `cancel_poll_s`."""
        job = self.submit(kind, payload, progress, cancel)
        return await answer_of(job.future, cancel, self._poll, lambda: self.abandon(job))

    async def close(self) -> None:
        """Stop the thread: queued calls fail with EngineClosed, a running batch stops."""
        with self._cond:
            self._closing = True
            dropped = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for job in dropped:
            job.fail(EngineClosed("engine closed"))
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # --- the worker thread ---------------------------------------------------------------

    def _serve(self, loaded: concurrent.futures.Future[M]) -> None:
        try:
            model = self._load()
        except BaseException as error:  # the starter logs it (it knows what was loading)
            loaded.set_exception(error)
            return
        with self._cond:
            self._running = True
            self._model = model
        loaded.set_result(model)
        call = forward_to(model)
        try:
            while (batch := self._next_batch(model)) is not None:
                if self._on_batch is not None:
                    self._on_batch(batch[0].kind, sum(job.size for job in batch))
                run_batch(
                    batch, call, stopping=lambda: self._closing, free_memory=self._free_memory
                )
        finally:
            with self._cond:
                self._running = False
                dropped = list(self._pending)
                self._pending.clear()
            for job in dropped:
                job.fail(EngineClosed("model worker stopped"))
            model.close()

    def _next_batch(self, model: M) -> list[Job] | None:
        """Wait for work and take the next batch; None once the worker is closing."""

        def keys_of(job: Job) -> frozenset[Hashable]:
            if job.keys is None:
                job.keys = frozenset(model.sampling_key(r) for r in job.payload)
            return job.keys

        with self._cond:
            while not self._closing:
                batch = take_batch(self._pending, keys_of, self._max_batch)
                if batch:
                    self._cond.notify_all()  # the queue shrank (see until_queued)
                    return batch
                self._cond.wait()
            return None
