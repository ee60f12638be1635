"""LocalEngine: the Engine protocol in-process, over one ModelWorker (a model thread, batched)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
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
from engine.batching import EngineClosed
from engine.device import free_cuda_cache
from engine.edit_settings import EditSettings
from engine.lora import adapters_root, list_adapters
from engine.model_worker import ModelWorker
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
        self._profile_name = profile_name
        self._worker: ModelWorker[ModelRunner] = ModelWorker(
            runner_factory,
            max_batch,
            cancel_poll_s=cancel_poll_s,
            free_memory=free_cuda_cache,
            on_batch=metrics.engine_batch,
        )
        self.training: Any = None  # a RestorerTrainingRunner, set by for_profile
        self.adapter_training: Any = None  # an AdapterTrainingRunner, set by for_profile
        self.adapters_root: Path | None = None  # trained LoRA adapters, set by for_profile

    @classmethod
    def for_profile(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        device: str = "auto",
        max_batch: int = 16,
        *,
        edit_settings: EditSettings | None = None,
        adapters: Path | None = None,
    ) -> LocalEngine:
        """An engine whose worker loads `profile` with ModelRunner.load; `adapters` is the
        trained adapters' folder (None: `<models_dir>/adapters`)."""
        from training.adapter_job import AdapterTrainingRunner
        from training.restorer_job import RestorerTrainingRunner

        root = adapters or adapters_root("", models_dir)
        engine = cls(
            lambda: ModelRunner.load(
                *(profile, models_dir, device),
                max_batch=max_batch,
                edit_settings=edit_settings,
                adapters=root,
            ),
            profile.name,
            max_batch,
        )
        engine.training = RestorerTrainingRunner(profile, models_dir, device)
        engine.adapter_training = AdapterTrainingRunner(profile, models_dir, root, device)
        engine.adapters_root = root
        return engine

    @property
    def profile_name(self) -> str:
        return self._profile_name

    @property
    def style_branch(self) -> StyleBranchState:
        runner = self._worker.model
        return runner.style_branch if runner is not None else "untrained"

    @property
    def queued(self) -> int:
        """Calls waiting for the worker (not counting the batch it is running)."""
        return self._worker.queued

    async def until_queued(self, count: int, timeout: float = 10) -> None:
        """Return once exactly `count` calls wait for the model (see ModelWorker)."""
        await self._worker.until_queued(count, timeout)

    async def start(self) -> None:
        """Start the worker and wait until its models are loaded; raises the load error."""
        try:
            runner = await self._worker.start()
        except Exception:
            logger.exception("model runner failed to load for profile %r", self._profile_name)
            raise
        if runner.profile.name != self._profile_name:
            logger.warning(
                "engine named %r runs profile %r", self._profile_name, runner.profile.name
            )

    async def close(self) -> None:
        """Stop the worker: queued calls fail with EngineClosed, a running batch stops."""
        await self._worker.close()

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
        if sum(len(r.seeds) for r in requests) == 0:
            return [[] for _ in requests]
        return await self._worker.run("generate", requests, progress, cancel)

    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text features, shape (len(texts), dim), float32."""
        return await self._worker.run("embed_texts", list(texts))

    async def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        """L2-normalised CLIP image features of encoded images, shape (len(images), dim)."""
        return await self._worker.run("embed_images", list(images))

    async def embed_regions(self, images: Sequence[bytes], boxes: Sequence[Box]) -> np.ndarray:
        """CLIP features of each box of each image, shape (len(images), len(boxes), dim)."""
        if not images:
            return np.zeros((0, len(boxes), 0), np.float32)
        found = await self._worker.run("embed_regions", [(png, tuple(boxes)) for png in images])
        return np.stack(found)

    async def screen(self, texts: Sequence[str]) -> list[Screening]:
        """Seed 000's screening of each prompt; pending screen calls share one model pass."""
        return await self._worker.run("screen", list(texts)) if texts else []

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
        return await self._worker.run("edit", requests, progress, cancel)

    async def compose(
        self,
        requests: Sequence[CompositionRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[ComposedImage]:
        """Seed 001's composed pictures; progress and cancel work as in `generate`."""
        requests = list(requests)
        if cancel is not None and cancel.cancelled:
            raise GenerationCancelled()
        if not requests:
            return []
        return await self._worker.run("compose", requests, progress, cancel)

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        """Seed 002's restorer on each encoded picture; pending restore calls share a pass."""
        restored = await self._worker.run("restore", list(images)) if images else []
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

    async def open_training_room(self, request: RestorerTrainingRequest) -> TrainingRoomControls:
        """The training room's session in this process, training into this engine's models
        folder (see Engine.open_training_room)."""
        from training.restorer_session import ThreadedControls, session_for

        if self.training is None:
            raise RuntimeError("the training room needs an engine made by LocalEngine.for_profile")
        runner = self.training
        return ThreadedControls(
            session_for(request, runner.profile, runner.models_dir, runner.device)
        )

    async def adapters(self) -> list[AdapterInfo]:
        """The trained adapters in this engine's adapters folder, read now (see engine.lora)."""
        if self.adapters_root is None:
            return []
        return await asyncio.to_thread(list_adapters, self.adapters_root, self._profile_name)

    async def train_adapter(
        self,
        request: AdapterTrainingRequest,
        on_step: Callable[[AdapterStep], None] | None = None,
        cancel: CancelToken | None = None,
    ) -> AdapterTrainingResult:
        """An adapter or edit model trained in this process, on its own thread beside the
        model worker, into the folder `adapters` lists (see Engine.train_adapter)."""
        if self.adapter_training is None:
            raise RuntimeError("adapter training needs an engine made by LocalEngine.for_profile")
        return await self.adapter_training.train_adapter(request, on_step, cancel)

    @property
    def restorer_state(self) -> str:
        """Seed 002's restorer: "untrained" (random weights) until a checkpoint exists."""
        runner = self._worker.model
        return runner.restorer_state if runner is not None else "untrained"
