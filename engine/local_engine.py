"""LocalEngine: the Engine protocol in-process, one model worker thread with micro-batching."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import metrics
from core.engine import (
    CancelToken,
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    ProgressCallback,
    RestorerTrainingRequest,
    Screening,
    StageResult,
    StepProgress,
    StepReport,
    StyleBranchState,
)
from engine.batching import EngineClosed, Job, JobKind, take_batch
from engine.edit_settings import EditSettings
from engine.profiles import ModelProfile
from engine.runner import ModelRunner

__all__ = ["EngineClosed", "LocalEngine"]

logger = logging.getLogger("inkwell.models")


class LocalEngine:
    """Runs a ModelRunner on one worker thread; concurrent calls share batched model calls.

    While the worker is busy, `generate` calls with the same steps, size and guidance queue up
    and then run as one batch of at most `max_batch` candidates; pending embed or screen calls
    of one kind are merged too. Each caller gets its own results, progress and cancellation.

    Progress callbacks run ON THE WORKER THREAD, between denoising steps: keep them short and
    hop to your event loop yourself, e.g. `loop.call_soon_threadsafe(queue.put_nowait, p)`.
    """

    def __init__(
        self,
        runner_factory: Callable[[], ModelRunner],
        profile_name: str,
        max_batch: int = 16,
        *,
        cancel_poll_s: float = 0.05,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._factory = runner_factory
        self._profile_name = profile_name
        self._max_batch = max_batch
        self._poll = cancel_poll_s
        self._cond = threading.Condition()
        self._pending: deque[Job] = deque()
        self._thread: threading.Thread | None = None
        self._running = False
        self._closing = False
        self._style_branch: StyleBranchState = "untrained"  # the runner's, once loaded
        self._runner: ModelRunner | None = None  # read-only from other threads: restorer_state
        self.training: Any = None  # a RestorerTrainingRunner, set by for_profile

    @classmethod
    def for_profile(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        device: str = "auto",
        max_batch: int = 16,
        *,
        edit_settings: EditSettings | None = None,
    ) -> LocalEngine:
        """An engine whose worker loads `profile` with ModelRunner.load."""
        from training.restorer_job import RestorerTrainingRunner

        engine = cls(
            lambda: ModelRunner.load(
                profile, models_dir, device, max_batch=max_batch, edit_settings=edit_settings
            ),
            profile.name,
            max_batch,
        )
        engine.training = RestorerTrainingRunner(profile, models_dir, device)
        return engine

    @property
    def profile_name(self) -> str:
        return self._profile_name

    @property
    def style_branch(self) -> StyleBranchState:
        return self._style_branch

    async def start(self) -> None:
        """Start the worker and wait until its models are loaded; raises the load error."""
        if self._thread is not None or self._closing:
            raise RuntimeError("LocalEngine.start() can be called once")
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(loop, ready), name="inkwell-model-worker", daemon=True
        )
        self._thread.start()
        try:
            await ready
        except BaseException:
            # Load failed or start() was cancelled: the worker exits once loading returns.
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            raise

    async def close(self) -> None:
        """Stop the worker: queued calls fail with EngineClosed, a running batch stops."""
        with self._cond:
            self._closing = True
            dropped = list(self._pending)
            self._pending.clear()
            self._cond.notify_all()
        for job in dropped:
            job.fail(EngineClosed("engine closed"))
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[list[GeneratedImage]]:
        """One list of candidates per request, in seed order.

        `progress` is called on the worker thread (see the class docstring). Setting `cancel`
        raises GenerationCancelled here within `cancel_poll_s`; a shared batch keeps running
        for the other callers and stops early only when all of its callers have cancelled.
        """
        requests = list(requests)
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        size = sum(len(r.seeds) for r in requests)
        if size == 0:
            return [[] for _ in requests]
        return await self._submit("generate", requests, size, progress, cancel)

    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text features, shape (len(texts), dim), float32."""
        return await self._submit("embed_texts", list(texts), len(texts))

    async def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        """L2-normalised CLIP image features of encoded images, shape (len(images), dim)."""
        return await self._submit("embed_images", list(images), len(images))

    async def screen(self, texts: Sequence[str]) -> list[Screening]:
        """Seed 000's screening of each prompt; pending screen calls share one model pass."""
        return await self._submit("screen", list(texts), len(texts)) if texts else []

    async def edit(
        self,
        requests: Sequence[EditRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[GeneratedImage]:
        """One new version per edit request; progress and cancel work as in `generate`.

        Pending edit calls share one worker turn, but each request is its own model call.
        """
        requests = list(requests)
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        if not requests:
            return []
        return await self._submit("edit", requests, len(requests), progress, cancel)

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        """Seed 002's restorer on each encoded picture; pending restore calls share a pass."""
        restored = await self._submit("restore", list(images), len(images)) if images else []
        return list(restored)

    async def train_restorer(
        self,
        request: RestorerTrainingRequest,
        on_step: Callable[[StepReport], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> list[StageResult]:
        """Seed 002's training in this process, on its own thread beside the model worker;
        checkpoints go to the models folder `restore` reads (see Engine.train_restorer)."""
        if self.training is None:
            raise RuntimeError("restorer training needs an engine made by LocalEngine.for_profile")
        return await self.training.train_restorer(request, on_step, cancel)

    @property
    def restorer_state(self) -> str:
        """Seed 002's restorer: "untrained" (random weights) until a checkpoint exists."""
        runner = self._runner
        return runner.restorer_state if runner is not None else "untrained"

    async def _submit(
        self,
        kind: JobKind,
        payload: list[Any],
        size: int,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        job = Job(kind, payload, loop, loop.create_future(), progress, cancel, size)
        with self._cond:
            if not self._running or self._closing:
                raise EngineClosed("engine is not running (call start(), or it was closed)")
            self._pending.append(job)
            self._cond.notify_all()
        try:
            if cancel is None:
                return await asyncio.shield(job.future)
            # CancelToken has no wake-up hook, so poll it while waiting.
            while True:
                done, _ = await asyncio.wait({job.future}, timeout=self._poll)
                if done:
                    return job.future.result()
                if cancel.cancelled:
                    self._abandon(job)
                    raise GenerationCancelled()
        except asyncio.CancelledError:
            self._abandon(job)
            raise

    def _abandon(self, job: Job) -> None:
        with self._cond:
            job.abandoned = True
            if job in self._pending:
                self._pending.remove(job)

    # --- worker thread -------------------------------------------------------------------

    def _serve(self, loop: asyncio.AbstractEventLoop, ready: asyncio.Future[None]) -> None:
        def settle(error: BaseException | None) -> None:
            if ready.done():
                return
            if error is not None:
                ready.set_exception(error)
            else:
                ready.set_result(None)

        try:
            runner = self._factory()
        except BaseException as error:
            logger.exception("model runner failed to load for profile %r", self._profile_name)
            with contextlib.suppress(RuntimeError):  # the loop is gone; nobody is waiting
                loop.call_soon_threadsafe(settle, error)
            return
        if runner.profile.name != self._profile_name:
            logger.warning(
                "engine named %r runs profile %r", self._profile_name, runner.profile.name
            )
        with self._cond:
            self._running = True
            self._style_branch = runner.style_branch
            self._runner = runner
        loop.call_soon_threadsafe(settle, None)
        try:
            while (batch := self._next_batch(runner)) is not None:
                self._run(runner, batch)
        finally:
            with self._cond:
                self._running = False
                dropped = list(self._pending)
                self._pending.clear()
            for job in dropped:
                job.fail(EngineClosed("model worker stopped"))
            runner.close()

    def _next_batch(self, runner: ModelRunner) -> list[Job] | None:
        """Wait for work and take the next batch; None once the engine is closing."""

        def keys_of(job: Job) -> frozenset[Hashable]:
            if job.keys is None:
                job.keys = frozenset(runner.sampling_key(r) for r in job.payload)
            return job.keys

        with self._cond:
            while not self._closing:
                batch = take_batch(self._pending, keys_of, self._max_batch)
                if batch:
                    return batch
                self._cond.wait()
            return None

    def _run(self, runner: ModelRunner, batch: list[Job]) -> None:
        metrics.engine_batch(batch[0].kind, sum(job.size for job in batch))
        try:
            if batch[0].kind in ("generate", "edit"):
                self._generate(runner, batch)
            else:
                self._embed(runner, batch)
        except GenerationCancelled:
            for job in batch:
                job.fail(EngineClosed("engine closed") if self._closing else GenerationCancelled())
        except Exception as error:
            if len(batch) > 1:
                # Isolate the failing caller: one bad request must not fail its batch mates.
                logger.warning(
                    "batch of %d %s calls failed (%r); retrying each alone",
                    len(batch),
                    batch[0].kind,
                    error,
                )
                for job in batch:
                    self._run(runner, [job])
                return
            logger.exception("%s call failed", batch[0].kind)
            batch[0].fail(error)
        except BaseException:
            # The worker is going down (e.g. SystemExit): nobody may be left waiting forever.
            for job in batch:
                job.fail(EngineClosed("model worker stopped"))
            raise

    def _generate(self, runner: ModelRunner, batch: list[Job]) -> None:
        requests = [request for job in batch for request in job.payload]

        def on_step(step: int, total: int) -> None:
            update = StepProgress(step, total)
            for job in batch:
                if job.progress is not None and not job.cancelled():
                    try:
                        job.progress(update)
                    except Exception:
                        logger.exception("progress callback failed")

        def should_stop() -> bool:
            return self._closing or all(job.cancelled() for job in batch)

        call = runner.edit if batch[0].kind == "edit" else runner.generate
        results = call(requests, on_step, should_stop)
        start = 0
        for job in batch:
            mine = results[start : start + len(job.payload)]
            start += len(job.payload)
            if job.cancelled():
                job.fail(GenerationCancelled())
            else:
                job.resolve(mine)

    def _embed(self, runner: ModelRunner, batch: list[Job]) -> None:
        items = [item for job in batch for item in job.payload]
        calls = {
            "embed_texts": runner.embed_texts,
            "embed_images": runner.embed_images,
            "restore": runner.restore,
        }
        # Screening is per item like embedding: one model pass, each caller's slice back.
        features = calls.get(batch[0].kind, runner.screen)(items)
        start = 0
        for job in batch:
            job.resolve(features[start : start + job.size].copy())
            start += job.size
