"""ModelWorker with a plain-Python model: batches close when the model is free, not on a timer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from core.engine import CancelToken, GenerationCancelled
from engine.batching import EngineClosed, StepCallback, StopCheck
from engine.model_worker import ModelWorker

pytestmark = pytest.mark.asyncio


@dataclass(frozen=True)
class Request:
    prompt: str
    seeds: tuple[int, ...] = (0,)
    steps: int = 2


class Model:
    """Draws words; the first call can be held at a gate to keep the thread busy."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None
        self.closed = False

    def sampling_key(self, request: Request) -> int:
        return request.steps

    def generate(
        self, requests: list[Request], on_step: StepCallback, should_stop: StopCheck
    ) -> list[list[str]]:
        self.calls.append([r.prompt for r in requests])
        self.entered.set()
        if self.gate is not None:
            gate, self.gate = self.gate, None
            assert gate.wait(10)
        for step in range(2):
            on_step(step + 1, 2)
            if should_stop():
                raise GenerationCancelled()
        return [[f"{r.prompt} #{seed}" for seed in r.seeds] for r in requests]

    def embed_texts(self, texts: list[str]) -> list[int]:
        self.calls.append(list(texts))
        return [len(text) for text in texts]

    def close(self) -> None:
        self.closed = True


Worker = tuple[ModelWorker[Model], Model]


@pytest_asyncio.fixture
async def worker() -> AsyncIterator[Worker]:
    model = Model()
    running = ModelWorker(lambda: model, max_batch=4, cancel_poll_s=0.01)
    assert await running.start() is model
    yield running, model
    await running.close()


async def hold(running: ModelWorker[Model], model: Model) -> tuple[asyncio.Task, threading.Event]:
    """Start a call that keeps the model thread busy until the returned event is set."""
    gate = model.gate = threading.Event()
    model.entered.clear()  # an earlier call may have set it
    held = asyncio.create_task(running.run("generate", [Request("hold")]))
    assert await asyncio.to_thread(model.entered.wait, 10)
    return held, gate


async def test_calls_waiting_while_the_model_works_share_its_next_call(worker: Worker) -> None:
    running, model = worker
    held, release = await hold(running, model)
    calls = [running.run("generate", [Request(p)]) for p in ("kite", "boat", "gull")]
    tasks = [asyncio.create_task(call) for call in calls]
    await running.until_queued(3)
    release.set()
    answers = await asyncio.wait_for(asyncio.gather(held, *tasks), 10)
    assert model.calls == [["hold"], ["kite", "boat", "gull"]]
    assert answers[1:] == [[["kite #0"]], [["boat #0"]], [["gull #0"]]]


async def test_calls_made_in_one_turn_reach_an_idle_model_together(worker: Worker) -> None:
    running, model = worker
    calls = [running.run("embed_texts", texts) for texts in (["a"], ["bb", "ccc"], ["dddd"])]
    answers = await asyncio.wait_for(asyncio.gather(*calls), 10)
    assert model.calls == [["a", "bb", "ccc", "dddd"]]
    assert answers == [[1], [2, 3], [4]]


async def test_batches_respect_max_batch_and_sampling_settings(worker: Worker) -> None:
    running, model = worker
    held, release = await hold(running, model)
    tasks = [
        asyncio.create_task(running.run("generate", [request]))
        for request in (
            Request("a", (1, 2)),
            Request("b", (3, 4)),
            Request("c", (5,)),  # over max_batch (4 seeds) with a and b
            Request("d", steps=3),  # other settings
        )
    ]
    await running.until_queued(4)
    release.set()
    await asyncio.wait_for(asyncio.gather(held, *tasks), 10)
    assert model.calls == [["hold"], ["a", "b"], ["c"], ["d"]]


async def test_a_cancelled_queued_call_never_reaches_the_model(worker: Worker) -> None:
    running, model = worker
    held, release = await hold(running, model)
    token = CancelToken()
    queued = asyncio.create_task(running.run("generate", [Request("q")], cancel=token))
    await running.until_queued(1)
    token.cancel()
    with pytest.raises(GenerationCancelled):
        await asyncio.wait_for(queued, 5)
    assert running.queued == 0
    release.set()
    await asyncio.wait_for(held, 10)
    assert model.calls == [["hold"]]


async def test_close_fails_queued_calls_and_closes_the_model(worker: Worker) -> None:
    running, model = worker
    held, release = await hold(running, model)
    queued = asyncio.create_task(running.run("embed_texts", ["late"]))
    await running.until_queued(1)
    closing = asyncio.create_task(running.close())
    with pytest.raises(EngineClosed):
        await asyncio.wait_for(queued, 5)
    release.set()
    await asyncio.wait_for(closing, 10)
    with pytest.raises(EngineClosed):
        await held  # its batch stopped at the next step
    assert model.closed
    with pytest.raises(EngineClosed):
        running.submit("embed_texts", ["after"])


async def test_a_load_error_reaches_start() -> None:
    def broken() -> Any:
        raise OSError("no weights here")

    failing: ModelWorker[Any] = ModelWorker(broken)
    with pytest.raises(OSError, match="no weights here"):
        await failing.start()
    with pytest.raises(EngineClosed):
        await failing.run("embed_texts", ["x"])
    with pytest.raises(RuntimeError, match="started once"):
        failing.launch()
