"""LocalEngine: one worker thread, micro-batched calls, per-caller progress and cancellation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio

from core.engine import CancelToken, GenerationCancelled, GenerationRequest, StepProgress
from engine.local_engine import EngineClosed, LocalEngine
from engine.profiles import ModelProfile
from engine.runner import ModelRunner, StepCallback, StopCheck


class CountingRunner(ModelRunner):
    """The real tiny runner, recording its generate calls; it can hold the worker or fail."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.calls: list[list[GenerationRequest]] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None
        self.fail_prompt: str | None = None

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list:
        self.calls.append(list(requests))
        self.entered.set()
        if self.gate is not None:
            gate, self.gate = self.gate, None  # hold only the first call
            assert gate.wait(10)
        if any(r.prompt == self.fail_prompt for r in requests):
            raise RuntimeError("the model fell over")
        return super().generate(requests, on_step, should_stop)


Engine = tuple[LocalEngine, CountingRunner]


@pytest_asyncio.fixture
async def engine(models_dir: Path, tiny_profile: ModelProfile) -> AsyncIterator[Engine]:
    loaded: list[CountingRunner] = []

    def factory() -> ModelRunner:
        loaded.append(CountingRunner.load(tiny_profile, models_dir, device="cpu"))
        return loaded[0]

    local = LocalEngine(factory, "tiny", max_batch=4)
    await local.start()
    yield local, loaded[0]
    await local.close()


async def hold_worker(
    local: LocalEngine, runner: CountingRunner
) -> tuple[asyncio.Task, threading.Event]:
    """Start a call that keeps the worker busy until the returned event is set."""
    gate = threading.Event()
    runner.gate = gate
    runner.entered.clear()  # an earlier call may have set it
    task = asyncio.create_task(local.generate([GenerationRequest("hold", (0,))]))
    assert await asyncio.to_thread(runner.entered.wait, 10)
    return task, gate


def recorder(into: list[StepProgress], then: Callable[[], None] | None = None):
    def record(progress: StepProgress) -> None:
        into.append(progress)
        if then is not None:
            then()

    return record


@pytest.mark.asyncio
async def test_concurrent_calls_share_one_runner_call(engine: Engine) -> None:
    local, runner = engine
    assert local.profile_name == "tiny"
    held, release = await hold_worker(local, runner)
    b = asyncio.create_task(local.generate([GenerationRequest("b", (2, 3))]))
    c = asyncio.create_task(local.generate([GenerationRequest("c", (4,))]))
    d = asyncio.create_task(local.generate([GenerationRequest("d", (5,), steps=3)]))
    await local.until_queued(3)
    release.set()
    [[_held]], rows_b, rows_c, rows_d = await asyncio.gather(held, b, c, d)
    assert [[r.prompt for r in call] for call in runner.calls] == [["hold"], ["b", "c"], ["d"]]
    assert [[i.provenance.seed for i in row] for row in rows_b] == [[2, 3]]
    assert [(i.provenance.prompt, i.provenance.seed) for i in rows_c[0]] == [("c", 4)]
    assert rows_d[0][0].provenance.steps == 3


@pytest.mark.asyncio
async def test_batches_stop_at_max_batch(engine: Engine) -> None:
    local, runner = engine
    held, release = await hold_worker(local, runner)
    calls = [local.generate([GenerationRequest(p, (1, 2))]) for p in "xyz"]
    tasks = [asyncio.create_task(call) for call in calls]
    await local.until_queued(3)
    release.set()
    await asyncio.gather(held, *tasks)
    assert [[r.prompt for r in call] for call in runner.calls] == [["hold"], ["x", "y"], ["z"]]


@pytest.mark.asyncio
async def test_progress_is_per_step_on_the_worker_thread(engine: Engine) -> None:
    local, _ = engine
    seen: list[StepProgress] = []
    threads: list[str] = []
    record = recorder(seen, lambda: threads.append(threading.current_thread().name))
    await local.generate([GenerationRequest("a", (1, 2), steps=4)], progress=record)
    assert [(p.step, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert seen[-1].fraction == 1.0
    assert set(threads) == {"inkwell-model-worker"}


@pytest.mark.asyncio
async def test_cancel_while_queued_never_runs(engine: Engine) -> None:
    local, runner = engine
    held, release = await hold_worker(local, runner)
    token = CancelToken()
    queued = asyncio.create_task(local.generate([GenerationRequest("q", (1,))], cancel=token))
    await local.until_queued(1)
    token.cancel()
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(queued, 2)  # while the worker is still busy
    release.set()
    await held
    await local.generate([GenerationRequest("after", (1,))])
    assert [[r.prompt for r in call] for call in runner.calls] == [["hold"], ["after"]]


@pytest.mark.asyncio
async def test_cancel_a_running_call_stops_it_early(engine: Engine) -> None:
    local, _ = engine
    token = CancelToken()
    seen: list[StepProgress] = []
    request = GenerationRequest("a", (1,), steps=6)
    with pytest.raises(GenerationCancelled):
        await local.generate([request], progress=recorder(seen, token.cancel), cancel=token)
    await local.generate([GenerationRequest("next", (1,))])  # the worker is free again
    assert [p.step for p in seen] == [1]
    with pytest.raises(GenerationCancelled):
        await local.generate([request], cancel=token)  # an already set token


@pytest.mark.asyncio
async def test_cancel_one_caller_of_a_shared_batch(engine: Engine) -> None:
    local, runner = engine
    held, release = await hold_worker(local, runner)
    token = CancelToken()
    seen_b: list[StepProgress] = []
    seen_c: list[StepProgress] = []
    b = asyncio.create_task(
        local.generate(
            [GenerationRequest("b", (1,), steps=3)],
            progress=recorder(seen_b, token.cancel),
            cancel=token,
        )
    )
    c = asyncio.create_task(
        local.generate([GenerationRequest("c", (2,), steps=3)], progress=recorder(seen_c))
    )
    await local.until_queued(2)
    release.set()
    await held
    with pytest.raises(GenerationCancelled):
        await b
    [[image]] = await c
    assert image.provenance.prompt == "c"
    assert [[r.prompt for r in call] for call in runner.calls] == [["hold"], ["b", "c"]]
    assert [p.step for p in seen_b] == [1]  # no progress once cancelled
    assert [p.step for p in seen_c] == [1, 2, 3]


@pytest.mark.asyncio
async def test_runner_error_fails_only_that_call(engine: Engine) -> None:
    local, runner = engine
    runner.fail_prompt = "boom"
    with pytest.raises(RuntimeError, match="fell over"):
        await local.generate([GenerationRequest("boom", (1,))])
    [[image]] = await local.generate([GenerationRequest("fine", (1,))])
    assert image.provenance.prompt == "fine"

    # Sharing a batch with a failing call: the others are retried alone and succeed.
    held, release = await hold_worker(local, runner)
    bad = asyncio.create_task(local.generate([GenerationRequest("boom", (1,))]))
    good = asyncio.create_task(local.generate([GenerationRequest("good", (2,))]))
    await local.until_queued(2)
    release.set()
    await held
    with pytest.raises(RuntimeError, match="fell over"):
        await bad
    [[image]] = await good
    assert image.provenance.seed == 2


@pytest.mark.asyncio
async def test_embeddings_and_concurrent_embeds(engine: Engine) -> None:
    local, runner = engine
    texts = ["a red fox", "a whale", "a ship"]
    together = await asyncio.gather(*(local.embed_texts([t]) for t in texts))
    assert [f.shape for f in together] == [(1, runner.embed_dim)] * 3
    direct = await local.embed_texts(texts)
    np.testing.assert_allclose(np.concatenate(together), direct, atol=1e-6)
    [images] = await local.generate([GenerationRequest("a tree", (1, 2))])
    features = await local.embed_images([i.png for i in images])
    assert features.shape == (2, runner.embed_dim) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1.0, atol=1e-5)
    assert (await local.embed_texts([])).shape == (0, runner.embed_dim)


@pytest.mark.asyncio
async def test_regions_are_embedded_crop_by_crop(engine: Engine) -> None:
    local, runner = engine
    [images] = await local.generate([GenerationRequest("a fox in a forest", (1, 2))])
    pngs = [i.png for i in images]
    boxes = [(0.0, 0.0, 1.0, 1.0), (0.0, 0.0, 0.5, 0.5), (0.5, 0.5, 1.0, 1.0)]
    regions = await local.embed_regions(pngs, boxes)
    assert regions.shape == (2, 3, runner.embed_dim) and regions.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(regions, axis=2), 1.0, atol=1e-5)
    # The whole-picture box is the picture's own feature; two corners differ.
    np.testing.assert_allclose(regions[:, 0], await local.embed_images(pngs), atol=1e-4)
    assert not np.allclose(regions[0, 1], regions[0, 2], atol=1e-3)


@pytest.mark.asyncio
async def test_lifecycle(models_dir: Path, tiny_profile: ModelProfile) -> None:
    def broken() -> ModelRunner:
        raise OSError("no weights here")

    failing = LocalEngine(broken, "tiny")
    with pytest.raises(OSError, match="no weights here"):
        await failing.start()
    with pytest.raises(EngineClosed):
        await failing.generate([GenerationRequest("a", (1,))])

    local = LocalEngine.for_profile(tiny_profile, models_dir, device="cpu")
    with pytest.raises(EngineClosed):
        await local.embed_texts(["not started"])
    await local.start()
    assert (await local.embed_texts(["x"])).shape[0] == 1
    await local.close()
    with pytest.raises(EngineClosed):
        await local.embed_texts(["closed"])
    await local.close()  # closing twice is harmless


@pytest.mark.asyncio
async def test_close_fails_queued_calls_and_stops_the_running_one(engine: Engine) -> None:
    local, runner = engine
    held, release = await hold_worker(local, runner)
    queued = asyncio.create_task(local.generate([GenerationRequest("q", (1,))]))
    await local.until_queued(1)
    closing = asyncio.create_task(local.close())
    with pytest.raises(EngineClosed):
        await asyncio.wait_for(queued, 2)
    release.set()
    await asyncio.wait_for(closing, 10)
    with pytest.raises(EngineClosed):
        await held
    assert [[r.prompt for r in call] for call in runner.calls] == [["hold"]]
