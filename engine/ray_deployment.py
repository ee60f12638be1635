"""The Ray Serve deployment: one ModelRunner per replica, calls batched across callers.

Engine calls reach the streaming method `EngineReplica.call(name, parts)` in bursts (one part
per caller, see engine.ray_burst): it yields lists of `StepEvent`s (while the model works)
and `CallResult`s (one per caller); bursts whose callers show no progress go to `answer`,
one reply with every CallResult. Behind it the replica's ModelWorker queues the calls of
all callers and runs them on its one model thread in shared batches, with the same policy as
LocalEngine (engine.batching): a batch is every compatible call waiting when the model
becomes free. torch is imported only inside the replica, so the bot can build this app
without loading any model code.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import ray
from ray import serve
from ray.serve import Application

from core.engine import (
    AdapterInfo,
    AdapterTrainingRequest,
    CancelToken,
    ProgressCallback,
    RestorerTrainingRequest,
    StepProgress,
)
from engine.batching import JOB_KINDS, Job
from engine.edit_settings import EditSettings
from engine.ray_calls import CallResult, StepEvent
from engine.settings import BatchingSettings, EngineSettings, ModelSettings

logger = logging.getLogger("inkwell.models")

DEFAULT_APP = "inkwell"
DEPLOYMENT_NAME = "EngineReplica"  # the app's one deployment, which handles call
# Serve runs a replica's methods on an event loop of their own, in a thread beside the one
# that receives requests: every call then crosses threads twice more (measured: a round trip
# of a no-op method 4.9 ms -> 2.4 ms without it, on 2 busy cores; the model call is ~45 ms).
# EngineReplica's methods never block their loop (the models run on the ModelWorker's thread,
# training on a thread of its own), so they run on the loop that receives the requests.
REPLICA_ENV = {"RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0"}


class EngineReplica:
    """A Serve replica holding one profile's ModelRunner on its ModelWorker's thread."""

    def __init__(
        self,
        profile: str,
        overrides: dict[str, Any],
        models_dir: str,
        device: str,
        max_batch: int,
        edit: dict[str, Any] | None = None,
        adapters_dir: str = "",
    ) -> None:
        from engine.device import free_cuda_cache
        from engine.edit_settings import EditSettings
        from engine.lora import adapters_root
        from engine.model_worker import ModelWorker
        from engine.profiles import resolve_profile
        from engine.runner import ModelRunner
        from training.adapter_job import AdapterTrainingRunner
        from training.restorer_job import RestorerTrainingRunner

        _log_to_stderr()
        # Restorer and adapter training run here, beside the models, on threads of their own.
        self._training = RestorerTrainingRunner(
            resolve_profile(profile, overrides), Path(models_dir), device
        )
        self._adapter_training = AdapterTrainingRunner(
            resolve_profile(profile, overrides),
            Path(models_dir),
            adapters_root(adapters_dir, Path(models_dir)),
            device,
        )
        load = partial(
            ModelRunner.load,
            resolve_profile(profile, overrides),
            Path(models_dir),
            device,
            max_batch=max_batch,
            edit_settings=EditSettings(**edit) if edit else None,
            adapters=adapters_root(adapters_dir, Path(models_dir)),
        )
        self._worker = ModelWorker(
            load, max_batch, thread_name="inkwell-model", free_memory=free_cuda_cache
        )
        self._runner = self._worker.launch().result()
        # Where this replica's models live: a training room's actor starts beside them.
        self._home = {"overrides": dict(overrides), "models_dir": models_dir, "device": device}
        logger.info("replica %d serves profile %r", os.getpid(), profile)

    def describe(self) -> dict[str, Any]:
        """What the bot shows and checks: the profile, the style branch, this replica's pid,
        and where its models live (node, folder, device, profile overrides)."""
        return {
            "profile": self._runner.profile.name,
            "style_branch": self._runner.style_branch,
            "restorer_state": getattr(self._runner, "restorer_state", "untrained"),
            "pid": os.getpid(),
            "node_id": ray.get_runtime_context().get_node_id(),
            **self._home,
            "calls": sorted(n for n in JOB_KINDS if hasattr(self._runner, n)),
            **_peak_memory(),
        }

    def list_adapters(self) -> list[AdapterInfo]:
        """The trained adapters in this replica's adapters folder, read now."""
        return self._runner.adapters()

    async def answer(self, name: str, parts: list[list[Any]]) -> list[CallResult]:
        """Answer a burst whose callers show no progress in one reply: a CallResult each."""
        if name not in JOB_KINDS:
            raise ValueError(f"unknown engine call {name!r}")
        jobs = [self._worker.submit(name, items) for items in parts]  # one turn: together
        try:
            await asyncio.wait([job.future for job in jobs])
            return [_result(job, part) for part, job in enumerate(jobs)]
        finally:
            # Done, or the callers left: a batch whose callers all left stops early.
            for job in jobs:
                self._worker.abandon(job)

    async def train_restorer(
        self, request: RestorerTrainingRequest, job_id: str
    ) -> AsyncIterator[Any]:
        """Stream one restorer training: a StepReport per step, then a CallResult with the
        stages' results. If the caller goes away the running stage stops after its step; its
        checkpoint is kept in this replica's models folder, where `restore` finds it."""
        logger.info("restorer training %s starts on replica %d", job_id, os.getpid())
        async for event in _streamed(partial(self._training.train_restorer, request)):
            yield event

    async def train_adapter(
        self, request: AdapterTrainingRequest, job_id: str
    ) -> AsyncIterator[Any]:
        """Stream one adapter's (or edit model's) training: an AdapterStep per step, then a
        CallResult with its AdapterTrainingResult. It is saved in this replica's adapters
        folder, where replicas load adapters; if the caller goes away it stops after its
        step and keeps its checkpoint."""
        logger.info(
            "%s %r training %s starts on replica %d",
            *(request.kind, request.name, job_id, os.getpid()),
        )
        async for event in _streamed(partial(self._adapter_training.train_adapter, request)):
            yield event

    async def call(
        self, name: str, parts: list[list[Any]], watched: list[bool] | None = None
    ) -> AsyncIterator[Any]:
        """Stream a burst of calls (one caller's items each): StepEvents for the `watched`
        parts (default: all), then a CallResult per caller."""
        if name not in JOB_KINDS:
            raise ValueError(f"unknown engine call {name!r}")
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[StepEvent | int] = asyncio.Queue()  # int: that part is settled

        def reporter(part: int) -> ProgressCallback | None:
            if watched is not None and not watched[part]:
                return None

            def progress(update: StepProgress) -> None:  # on the model thread
                event = StepEvent(update.step, update.total, part)
                loop.call_soon_threadsafe(events.put_nowait, event)

            return progress

        # Submitted in one turn of this loop, the parts reach the model thread together.
        jobs = [
            self._worker.submit(
                name, items, reporter(part) if watched is None or watched[part] else None
            )
            for part, items in enumerate(parts)
        ]
        for part, job in enumerate(jobs):
            # Settling reaches this loop after every step reported before it (both go FIFO).
            job.future.add_done_callback(lambda _, part=part: events.put_nowait(part))
        try:
            unsettled = len(jobs)
            while unsettled:
                # Everything that happened since the last message goes in one message: a
                # batch settles all its callers at once, and each message costs a round trip.
                happened = [await events.get()]
                while not events.empty():
                    happened.append(events.get_nowait())
                unsettled -= sum(1 for event in happened if isinstance(event, int))
                yield [e if isinstance(e, StepEvent) else _result(jobs[e], e) for e in happened]
        finally:
            # Done, or the callers left: a batch whose callers all left stops early.
            for job in jobs:
                self._worker.abandon(job)


async def _streamed(train: Any) -> AsyncIterator[Any]:
    """Run `train(on_step, stop)` on this loop, yielding each step it reports, then a
    CallResult with its answer; the training stops after its step if the caller leaves."""
    loop = asyncio.get_running_loop()
    steps: asyncio.Queue[Any] = asyncio.Queue()
    stop = CancelToken()

    def on_step(report: Any) -> None:  # on the training thread
        loop.call_soon_threadsafe(steps.put_nowait, report)

    task = asyncio.ensure_future(train(on_step, stop))
    try:
        while not task.done():
            step = asyncio.ensure_future(steps.get())
            await asyncio.wait({task, step}, return_when=asyncio.FIRST_COMPLETED)
            if step.done():
                yield step.result()
            else:
                step.cancel()
        while not steps.empty():
            yield steps.get_nowait()
        yield CallResult(task.result())
    finally:
        stop.cancel()  # the thread ends after its current step; nothing waits for it


def _result(job: Job, part: int) -> CallResult:
    error = job.future.exception()
    if error is not None:
        return CallResult(batch_size=job.batch_size, part=part, error=error)
    return CallResult(job.future.result(), job.batch_size, part)


def _log_to_stderr() -> None:
    """Inkwell's INFO lines from the replica reach Ray's worker logs, tagged with their job."""
    from core.log_context import JobContext

    root = logging.getLogger("inkwell")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.addFilter(JobContext())
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s%(context)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


def _peak_memory() -> dict[str, float | None]:
    """This replica's peak resident memory and peak CUDA allocation, in MiB."""
    import resource

    import torch

    cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"peak_rss_mb": rss, "cuda_peak_mb": cuda}


@dataclass(frozen=True)
class DeploymentSettings:
    """How the engine is deployed: the config's model, batching, engine and edit sections."""

    models: ModelSettings
    models_dir: str
    batching: BatchingSettings = field(default_factory=BatchingSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
    edit: EditSettings = field(default_factory=EditSettings)


def build_app(settings: DeploymentSettings) -> Application:
    """The Serve application for `settings`; deploy it with `serve.run(app, name=...)`."""
    engine, max_batch = settings.engine, settings.batching.max_batch
    actor = {
        "num_cpus": engine.num_cpus,
        "num_gpus": engine.num_gpus,
        "runtime_env": {"env_vars": dict(REPLICA_ENV)},
    }
    options: dict[str, Any] = {
        "ray_actor_options": actor,
        "max_ongoing_requests": engine.max_ongoing_requests,
    }
    if engine.min_replicas == engine.max_replicas:
        options["num_replicas"] = engine.min_replicas
    else:
        options["autoscaling_config"] = {
            "min_replicas": engine.min_replicas,
            "max_replicas": engine.max_replicas,
            "target_ongoing_requests": max_batch,
        }
    deployment = serve.deployment(EngineReplica, name=DEPLOYMENT_NAME, **options)
    return deployment.bind(
        settings.models.profile,
        dict(settings.models.overrides),
        settings.models_dir,
        settings.models.device,
        max_batch,
        asdict(settings.edit),
        settings.models.adapters_dir,
    )
