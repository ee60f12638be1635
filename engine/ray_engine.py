"""RayEngine: the Engine protocol over a Ray Serve deployment, reached by a deployment handle.

The bot side imports no torch: every call is streamed from a replica (progress events, then
the result). A replica that dies or runs out of memory fails only the calls it held; each is
retried once on another replica, then answered with EngineUnavailable, which a writer can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from core import metrics
from core.engine import (
    AdapterInfo,
    AdapterStep,
    AdapterTrainingRequest,
    AdapterTrainingResult,
    Box,
    CancelToken,
    ComposedImage,
    CompositionRequest,
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    ProgressCallback,
    RestorerTrainingRequest,
    Screening,
    StageResult,
    StepReport,
    StyleBranchState,
    TrainingRoomControls,
)
from engine.batching import JOB_KINDS
from engine.ray_burst import WRITER_MESSAGE, Bursts, EngineUnavailable, replica_lost
from engine.ray_calls import CallResult

__all__ = ["EngineUnavailable", "RayEngine", "replica_lost"]

logger = logging.getLogger("inkwell.models")


class RayEngine:
    """Calls `EngineReplica` through a Serve deployment handle; one instance per bot process.

    Progress callbacks run on the event loop's thread. Setting a call's CancelToken answers it
    with GenerationCancelled within `cancel_poll_s`; the replica stops a batch once all of its
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
        # Calls made in one event-loop turn travel together.
        self._bursts = Bursts(handle, retries, cancel_poll_s)
        self._streaming = handle.options(stream=True)  # training; options() costs per call
        self._poll = cancel_poll_s
        self._profile_name = profile_name
        self._style_branch: StyleBranchState = style_branch
        self.restorer_state = restorer_state  # the replicas' restorer when this connected

    @classmethod
    async def connect(cls, app_name: str = "inkwell", **options: Any) -> RayEngine:
        """The engine of the Serve app `app_name` on the Ray cluster this process joined;
        use it from the event loop that connected it (its handle's router runs there)."""
        handle = fast_handle(app_name)
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

    async def embed_regions(self, images: Sequence[bytes], boxes: Sequence[Box]) -> np.ndarray:
        if not images:
            return np.zeros((0, len(boxes), 0), np.float32)
        found = await self.call("embed_regions", [(png, tuple(boxes)) for png in images])
        return np.stack(found)

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

    async def compose(
        self,
        requests: Sequence[CompositionRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[ComposedImage]:
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        return await self.call("compose", list(requests), progress, cancel) if requests else []

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        return await self.call("restore", list(images)) if images else []

    async def adapters(self) -> list[AdapterInfo]:
        """The trained adapters in a replica's adapters folder (replicas share the folder)."""
        return list(await self._handle.list_adapters.remote())

    async def train_restorer(
        self,
        request: RestorerTrainingRequest,
        on_step: Callable[[StepReport], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> list[StageResult]:
        """Seed 002's training on a replica, beside its models: checkpoints land in the
        replicas' models folder. Not retried: a lost replica keeps its last checkpoint."""
        return list(await self._training("train_restorer", request, on_step, cancel))

    async def train_adapter(
        self,
        request: AdapterTrainingRequest,
        on_step: Callable[[AdapterStep], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> AdapterTrainingResult:
        """An adapter or edit model trained on a replica's node, saved in the replicas'
        adapters folder (where they load adapters). Not retried: a lost replica keeps its
        last checkpoint, and a rerun resumes from it there."""
        return await self._training("train_adapter", request, on_step, cancel)

    async def _training(
        self,
        method: str,
        request: Any,
        on_step: Callable[[Any], None] | None,
        cancel: CancelToken | None,
    ) -> Any:
        """Stream a training run from a replica: its steps to `on_step`, then its answer."""
        job_id = uuid.uuid4().hex[:12]
        response = getattr(self._streaming, method).remote(request, job_id)
        watcher = None
        if cancel is not None:
            watcher = asyncio.ensure_future(_cancel_when_set(cancel, response, self._poll))
        try:
            async for event in response:
                if isinstance(event, CallResult):
                    return event.value
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
            response.cancel()  # the replica stops the training after its step
            raise
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    async def open_training_room(self, request: RestorerTrainingRequest) -> TrainingRoomControls:
        """The training room's session in an actor beside a replica's models (see
        engine.ray_training_room): its checkpoints land where the replicas' `restore` loads."""
        from engine.ray_training_room import RayTrainingRoom

        return await RayTrainingRoom.open(self._handle, request)

    async def close(self) -> None:
        """Nothing to release: the deployment belongs to the cluster, not to this process."""

    @property
    def retried(self) -> int:
        """Bursts of calls sent again after a replica failure (metrics and tests read it)."""
        return self._bursts.retried

    async def call(
        self,
        name: str,
        items: list[Any],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Any:
        """Run the runner's `name` call on a replica; sent again once if the replica is lost.

        Calls made in the same event-loop turn share one replica call, so they reach the
        replica together and share a batch (engine.ray_burst).
        """
        if name not in JOB_KINDS:
            raise ValueError(f"unknown engine call {name!r}")
        return await self._bursts.call(name, items, progress, cancel)


def fast_handle(app_name: str) -> Any:
    """A handle to the app's EngineReplica deployment that costs each call the least.

    Measured per call on 2 busy cores (a 50 ms drawing, bench.batching at 1 channel), against
    the handle `serve.get_app_handle` gives: calls travel to the replica over Serve's direct
    gRPC channel, not as Ray object references (no accept-then-answer streamed task per call:
    the bot-to-replica leg 2.6-3.0 ms -> 1.2-1.4 ms), and the handle's router runs on this
    event loop instead of a thread of its own (two thread hops less: 0.3-0.5 ms). Both are
    Serve handle options (`_init`, `options`) marked private; a new handle each time, since
    the router belongs to the loop that made it.
    """
    from ray import serve
    from ray.serve.handle import DeploymentHandle

    from engine.ray_deployment import DEPLOYMENT_NAME

    serve.get_app_handle(app_name)  # raises while the app is not deployed (the bot waits)
    handle = DeploymentHandle(DEPLOYMENT_NAME, app_name)
    handle._init(_run_router_in_separate_loop=False)
    return handle.options(_by_reference=False)


async def _cancel_when_set(cancel: CancelToken, response: Any, poll_s: float) -> None:
    while not cancel.cancelled:
        await asyncio.sleep(poll_s)
    response.cancel()
