"""RayEngine: the Engine protocol over a Ray Serve deployment, reached by a deployment handle.

The bot side imports no torch: every call is streamed from a replica (progress events, then
the result). A replica that dies or runs out of memory fails only the calls it held; each is
retried once on another replica, then answered with EngineUnavailable, which a writer can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Sequence
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
from engine.ray_calls import BATCHED_CALLS, CallResult, StepEvent

logger = logging.getLogger("inkwell.models")


class EngineUnavailable(RuntimeError):
    """The engine's workers failed this call twice; the message is meant for writers."""


WRITER_MESSAGE = (
    "The drawing engine stopped while working on this ({kind}) and stopped again on a retry. "
    "Your text is kept; please try again in a minute."
)


def replica_lost(error: BaseException) -> str | None:
    """'replica died' or 'out of memory' when `error` means the replica failed, else None."""
    from ray import exceptions

    if isinstance(error, exceptions.OutOfMemoryError):
        return "out of memory"
    if isinstance(error, exceptions.RayTaskError):
        cause = getattr(error, "cause", None)
        if cause is not None and "OutOfMemoryError" in type(cause).__name__:
            return "out of memory"  # torch.cuda.OutOfMemoryError inside the runner
    lost = (
        exceptions.RayActorError,
        exceptions.ActorUnavailableError,
        exceptions.WorkerCrashedError,
        exceptions.NodeDiedError,
    )
    if isinstance(error, lost) or "OutOfMemoryError" in type(error).__name__:
        return "replica died" if isinstance(error, lost) else "out of memory"
    return None


class RayEngine:
    """Calls `EngineReplica` through a Serve deployment handle; one instance per bot process.

    Progress callbacks run on the event loop's thread. Setting a call's CancelToken cancels
    its streamed response within `cancel_poll_s`; the replica stops a batch once all of its
    callers have cancelled.
    """

    def __init__(
        self,
        handle: Any,
        profile_name: str,
        style_branch: StyleBranchState = "untrained",
        restorer_state: str = "untrained",
        *,
        retries: int = 1,
        cancel_poll_s: float = 0.05,
    ) -> None:
        self._handle = handle
        self._streaming = handle.options(stream=True)  # made once: options() costs per call
        self._profile_name = profile_name
        self._style_branch: StyleBranchState = style_branch
        self.restorer_state = restorer_state  # the replicas' restorer when this connected
        self._retries = retries
        self._poll = cancel_poll_s
        self.retried = 0  # calls retried after a replica failure (metrics and tests read it)

    @classmethod
    async def connect(cls, app_name: str = "inkwell", **options: Any) -> RayEngine:
        """The engine of the Serve app `app_name` on the Ray cluster this process joined."""
        from ray import serve

        handle = serve.get_app_handle(app_name)
        info = await handle.describe.remote()
        logger.info("engine on Ray Serve app %r: profile %r", app_name, info["profile"])
        state = info.get("restorer_state", "untrained")
        return cls(handle, info["profile"], info["style_branch"], state, **options)

    @property
    def profile_name(self) -> str:
        return self._profile_name

    @property
    def style_branch(self) -> StyleBranchState:
        return self._style_branch

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[list[GeneratedImage]]:
        """One list of candidates per request, in seed order."""
        requests = list(requests)
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        if sum(len(r.seeds) for r in requests) == 0:
            return [[] for _ in requests]
        return await self.call("generate", requests, progress, cancel)

    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        return await self.call("embed_texts", list(texts))

    async def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        return await self.call("embed_images", list(images))

    async def screen(self, texts: Sequence[str]) -> list[Screening]:
        return await self.call("screen", list(texts)) if texts else []

    async def edit(
        self,
        requests: Sequence[EditRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[GeneratedImage]:
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        return await self.call("edit", list(requests), progress, cancel) if requests else []

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        return await self.call("restore", list(images)) if images else []

    async def train_restorer(
        self,
        request: RestorerTrainingRequest,
        on_step: Callable[[StepReport], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> list[StageResult]:
        """Seed 002's training on a replica, beside its models: checkpoints land in the
        replicas' models folder. Not retried: a lost replica keeps its last checkpoint."""
        job_id = uuid.uuid4().hex[:12]
        response = self._streaming.train_restorer.remote(request, job_id)
        watcher = None
        if cancel is not None:
            watcher = asyncio.ensure_future(_cancel_when_set(cancel, response, self._poll))
        try:
            async for event in response:
                if isinstance(event, CallResult):
                    return list(event.value)
                if on_step is not None:
                    on_step(event)
            raise EngineUnavailable(f"the engine ended training {job_id} without an answer")
        except Exception as error:
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled() from None
            kind = replica_lost(error)
            if kind is not None:
                metrics.count_error(f"engine:{kind}")
                raise EngineUnavailable(WRITER_MESSAGE.format(kind=kind)) from error
            raise
        except asyncio.CancelledError:
            response.cancel()  # the replica stops the stage after its step
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def close(self) -> None:
        """Nothing to release: the deployment belongs to the cluster, not to this process."""

    async def call(
        self,
        name: str,
        items: list[Any],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """Run BATCHED_CALLS[name] on a replica; retried once if the replica is lost."""
        if name not in BATCHED_CALLS:
            raise ValueError(f"unknown engine call {name!r}")
        job_id = uuid.uuid4().hex[:12]
        for attempt in range(self._retries + 1):
            started = time.perf_counter()
            try:
                return await self._stream(name, items, job_id, progress, cancel)
            except (GenerationCancelled, asyncio.CancelledError):
                raise
            except Exception as error:
                kind = replica_lost(error)
                metrics.count_error(f"engine:{kind or type(error).__name__}")
                if kind is None:
                    raise
                logger.warning(
                    "engine job %s: %s %s after %.1fs (attempt %d)",
                    *(job_id, name, kind, time.perf_counter() - started, attempt + 1),
                )
                if attempt == self._retries:
                    metrics.count_error("engine:unavailable")
                    raise EngineUnavailable(WRITER_MESSAGE.format(kind=kind)) from error
                self.retried += 1
        raise AssertionError("unreachable")

    async def _stream(
        self,
        name: str,
        items: list[Any],
        job_id: str,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> Any:
        started = time.perf_counter()
        response = self._streaming.call.remote(name, items, job_id)
        watcher = None
        if cancel is not None:
            watcher = asyncio.ensure_future(_cancel_when_set(cancel, response, self._poll))
        try:
            async for event in response:
                if isinstance(event, CallResult):
                    metrics.engine_batch(name, event.batch_size)
                    metrics.engine_call(name, started)
                    return event.value
                if isinstance(event, StepEvent) and progress is not None:
                    try:
                        progress(StepProgress(event.step, event.total))
                    except Exception:
                        logger.exception("progress callback failed")
            raise EngineUnavailable(f"the engine ended job {job_id} without an answer")
        except Exception:
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled() from None
            raise
        except asyncio.CancelledError:
            response.cancel()
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher


async def _cancel_when_set(cancel: CancelToken, response: Any, poll_s: float) -> None:
    while not cancel.cancelled:
        await asyncio.sleep(poll_s)
    response.cancel()
