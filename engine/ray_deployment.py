"""The Ray Serve deployment: one ModelRunner per replica, calls batched across callers.

Each engine call reaches `EngineReplica.call(name, items, job_id)`, a streaming method: it
yields `StepEvent`s while the model works and a `CallResult` last. Behind it, one
`@serve.batch` method per entry of BATCHED_CALLS gathers concurrent callers into one runner
call (forwarded by name), run on the replica's single model thread. torch is imported only
inside the replica, so the bot can build this app without loading any model code.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ray import serve
from ray.serve import Application

from core.engine import CancelToken, GenerationCancelled, RestorerTrainingRequest, StepReport
from engine.edit_settings import EditSettings
from engine.ray_calls import BATCHED_CALLS, BatchedCall, CallResult, StepEvent
from engine.settings import BatchingSettings, EngineSettings, ModelSettings

logger = logging.getLogger("inkwell.models")

DEFAULT_APP = "inkwell"


@dataclass(eq=False)
class _ReplicaJob:
    """One caller's call on this replica: its progress queue and whether it stopped waiting."""

    events: asyncio.Queue[StepEvent] = field(default_factory=asyncio.Queue)
    cancelled: bool = False
    batch_size: int = 0


def _batched(call: BatchedCall) -> Callable[..., Any]:
    """A `@serve.batch` method gathering concurrent `call.name` calls into one runner call."""

    async def method(self: EngineReplica, requests: list[tuple[str, list[Any]]]) -> list[Any]:
        return await self._run_batch(call, requests)

    method.__name__ = method.__qualname__ = f"batched_{call.name}"
    # Generate batches count candidates, so one call never holds more than max_batch seeds.
    return serve.batch(method, batch_size_fn=lambda reqs: sum(call.size_of(r[1]) for r in reqs))


class EngineReplica:
    """A Serve replica holding one profile's ModelRunner (see the module docstring)."""

    def __init__(
        self,
        profile: str,
        overrides: dict[str, Any],
        models_dir: str,
        device: str,
        max_batch: int,
        batch_wait_s: float,
        edit: dict[str, Any] | None = None,
    ) -> None:
        from engine.edit_settings import EditSettings
        from engine.profiles import resolve_profile
        from engine.runner import ModelRunner
        from training.restorer_job import RestorerTrainingRunner

        _log_to_stderr()
        # Restorer training runs here, beside the models, on a thread of its own.
        self._training = RestorerTrainingRunner(
            resolve_profile(profile, overrides), Path(models_dir), device
        )

        # The runner is thread-confined: every model call runs on this one thread.
        self._model_thread = ThreadPoolExecutor(1, thread_name_prefix="inkwell-model")
        load = partial(
            ModelRunner.load,
            resolve_profile(profile, overrides),
            Path(models_dir),
            device,
            max_batch=max_batch,
            edit_settings=EditSettings(**edit) if edit else None,
        )
        self._runner = self._model_thread.submit(load).result()
        self._jobs: dict[str, _ReplicaJob] = {}
        for name in BATCHED_CALLS:
            batched = getattr(self, f"batched_{name}")
            batched.set_max_batch_size(max_batch)
            batched.set_batch_wait_timeout_s(batch_wait_s)
        logger.info("replica %d serves profile %r", os.getpid(), profile)

    def describe(self) -> dict[str, Any]:
        """What the bot shows and checks: the profile, the style branch, this replica's pid."""
        return {
            "profile": self._runner.profile.name,
            "style_branch": self._runner.style_branch,
            "restorer_state": getattr(self._runner, "restorer_state", "untrained"),
            "pid": os.getpid(),
            "calls": sorted(n for n in BATCHED_CALLS if hasattr(self._runner, n)),
            **_peak_memory(),
        }

    async def call(self, name: str, items: list[Any], job_id: str) -> AsyncIterator[Any]:
        """Stream one caller's call: StepEvents while it runs, then its CallResult."""
        if name not in BATCHED_CALLS:
            raise ValueError(f"unknown engine call {name!r}")
        job = self._jobs[job_id] = _ReplicaJob()
        task = asyncio.ensure_future(getattr(self, f"batched_{name}")((job_id, items)))
        try:
            while not task.done():
                step = asyncio.ensure_future(job.events.get())
                await asyncio.wait({task, step}, return_when=asyncio.FIRST_COMPLETED)
                if step.done():
                    yield step.result()
                else:
                    step.cancel()
            while not job.events.empty():
                yield job.events.get_nowait()
            value = task.result()
            if isinstance(value, BaseException):
                raise value
            yield CallResult(value, job.batch_size)
        finally:
            # The caller cancelled (or went away): its share of a running batch may stop.
            job.cancelled = True
            task.cancel()
            self._jobs.pop(job_id, None)

    async def train_restorer(
        self, request: RestorerTrainingRequest, job_id: str
    ) -> AsyncIterator[Any]:
        """Stream one restorer training: a StepReport per step, then a CallResult with the
        stages' results. If the caller goes away the running stage stops after its step; its
        checkpoint is kept in this replica's models folder, where `restore` finds it."""
        loop = asyncio.get_running_loop()
        steps: asyncio.Queue[StepReport] = asyncio.Queue()
        stop = CancelToken()

        def on_step(report: StepReport) -> None:
            loop.call_soon_threadsafe(steps.put_nowait, report)

        logger.info("restorer training %s starts on replica %d", job_id, os.getpid())
        task = asyncio.ensure_future(self._training.train_restorer(request, on_step, stop))
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

    async def _run_batch(self, call: BatchedCall, requests: list[tuple[str, list[Any]]]) -> list:
        """One runner call for every caller in `requests`; each gets its slice or its error."""
        jobs = [self._jobs.get(job_id) for job_id, _ in requests]
        items = [item for _, payload in requests for item in payload]
        method = getattr(self._runner, call.name)
        loop = asyncio.get_running_loop()
        size = sum(call.size_of(payload) for _, payload in requests)
        for job in jobs:
            if job is not None:
                job.batch_size = size
        if call.steps:

            def on_step(step: int, total: int) -> None:
                for job in jobs:
                    if job is not None and not job.cancelled:
                        loop.call_soon_threadsafe(job.events.put_nowait, StepEvent(step, total))

            def should_stop() -> bool:
                return all(job is None or job.cancelled for job in jobs)

            work = partial(method, items, on_step, should_stop)
        else:
            work = partial(method, items)
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._model_thread, work)
            logger.info(
                "%s batch of %d calls (%d items) ran in %.3fs",
                *(call.name, len(requests), size, time.perf_counter() - started),
            )
        except GenerationCancelled as cancelled:
            return [cancelled for _ in requests]
        except Exception as error:
            if "OutOfMemoryError" in type(error).__name__:
                _free_cuda_cache()  # so the retries below (and the caller's) can fit
            if len(requests) == 1:
                logger.exception("%s call failed on replica %d", call.name, os.getpid())
                return [error]
            # Isolate the failing caller: one bad request must not fail its batch mates.
            logger.warning(
                "batch of %d %s calls failed (%r); retrying each alone",
                *(len(requests), call.name, error),
            )
            return [(await self._run_batch(call, [request]))[0] for request in requests]
        answers: list[Any] = []
        start = 0
        for _, payload in requests:
            mine = results[start : start + len(payload)]
            answers.append(mine.copy() if hasattr(mine, "copy") else mine)
            start += len(payload)
        return answers


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


def _free_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _peak_memory() -> dict[str, float | None]:
    """This replica's peak resident memory and peak CUDA allocation, in MiB."""
    import resource

    import torch

    cuda = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    return {"peak_rss_mb": rss, "cuda_peak_mb": cuda}


for _call in BATCHED_CALLS.values():
    setattr(EngineReplica, f"batched_{_call.name}", _batched(_call))


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
    options: dict[str, Any] = {
        "ray_actor_options": {"num_cpus": engine.num_cpus, "num_gpus": engine.num_gpus},
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
    deployment = serve.deployment(EngineReplica, name="EngineReplica", **options)
    return deployment.bind(
        settings.models.profile,
        dict(settings.models.overrides),
        settings.models_dir,
        settings.models.device,
        max_batch,
        settings.batching.batch_wait_s,
        asdict(settings.edit),
    )
