"""The shared batching policy (engine.batching.run_batch), over plain merged-call functions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from core.engine import CancelToken, GenerationCancelled, StepProgress
from engine.batching import (
    EngineClosed,
    Gathering,
    Job,
    StepCallback,
    StopCheck,
    job_size,
    run_batch,
)

pytestmark = pytest.mark.asyncio


def job(kind: str, *items: Any, progress: Any = None, cancel: CancelToken | None = None) -> Job:
    loop = asyncio.get_running_loop()
    made = Job(kind, list(items), loop, loop.create_future(), progress, cancel)
    made.size = job_size(kind, made.payload)
    return made


async def outcome(of: Job) -> Any:
    """The job's result, or the exception it failed with (bounded: it must be settled)."""
    try:
        return await asyncio.wait_for(of.future, 5)
    except Exception as error:
        return error


class Model:
    """A merged call that records each call's items, reports steps and can fail or stop."""

    def __init__(self, steps: int = 3, fail_on: str | None = None) -> None:
        self.steps = steps
        self.fail_on = fail_on
        self.calls: list[list[Any]] = []
        self.reached: list[int] = []  # steps taken, over all calls
        self.after_step: list[Any] = []  # run after each step, e.g. to cancel a caller

    def __call__(
        self, kind: str, items: list[Any], on_step: StepCallback, should_stop: StopCheck
    ) -> Sequence[Any]:
        self.calls.append(list(items))
        if self.fail_on in items:
            raise RuntimeError(f"cannot draw {self.fail_on}")
        for step in range(1, self.steps + 1):
            self.reached.append(step)
            on_step(step, self.steps)
            if step - 1 < len(self.after_step):
                self.after_step[step - 1]()
            if should_stop():
                raise GenerationCancelled()
        return [f"picture of {item}" for item in items]


async def test_each_caller_gets_its_own_slice_of_one_merged_call() -> None:
    model = Model()
    a, b, c = job("edit", "kite"), job("edit", "boat", "gull"), job("edit", "sun")
    run_batch([a, b, c], model)
    assert model.calls == [["kite", "boat", "gull", "sun"]]
    assert await outcome(a) == ["picture of kite"]
    assert await outcome(b) == ["picture of boat", "picture of gull"]
    assert await outcome(c) == ["picture of sun"]
    assert a.batch_size == b.batch_size == 4


async def test_array_slices_are_the_callers_own_copies() -> None:
    def embed(kind: str, items: list[Any], on_step: StepCallback, stop: StopCheck) -> np.ndarray:
        return np.arange(len(items) * 2, dtype=np.float32).reshape(len(items), 2)

    first, second = job("embed_texts", "a", "b"), job("embed_texts", "c")
    run_batch([first, second], embed)
    mine, theirs = await outcome(first), await outcome(second)
    np.testing.assert_array_equal(mine, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(theirs, [[4, 5]])
    mine[0, 0] = 99
    assert not np.shares_memory(mine, theirs) and theirs[0, 0] == 4


async def test_progress_fans_out_to_every_caller_still_waiting() -> None:
    seen: dict[str, list[int]] = {"a": [], "b": []}
    leaving = CancelToken()
    a = job("edit", "kite", progress=lambda p: seen["a"].append(p.step))
    b = job("edit", "boat", progress=lambda p: seen["b"].append(p.step), cancel=leaving)
    model = Model(steps=3)
    model.after_step = [leaving.cancel]  # b leaves after the first step
    run_batch([a, b], model)
    assert seen == {"a": [1, 2, 3], "b": [1]}
    assert await outcome(a) == ["picture of kite"]
    assert isinstance(await outcome(b), GenerationCancelled)


async def test_a_failing_progress_callback_hurts_nobody() -> None:
    def broken(update: StepProgress) -> None:
        raise ValueError("the status message is gone")

    a, b = job("edit", "kite", progress=broken), job("edit", "boat")
    run_batch([a, b], Model())
    assert await outcome(a) == ["picture of kite"] and await outcome(b) == ["picture of boat"]


async def test_the_call_stops_only_when_all_its_callers_cancelled() -> None:
    first, second = CancelToken(), CancelToken()
    a = job("edit", "kite", cancel=first)
    b = job("edit", "boat", cancel=second)
    model = Model(steps=10)
    model.after_step = [first.cancel, lambda: None, second.cancel]
    run_batch([a, b], model)
    assert model.reached == [1, 2, 3]  # stopped right after the last caller left
    assert isinstance(await outcome(a), GenerationCancelled)
    assert isinstance(await outcome(b), GenerationCancelled)


async def test_a_stopping_worker_answers_engine_closed() -> None:
    a, b = job("edit", "kite"), job("edit", "boat")
    run_batch([a, b], Model(), stopping=lambda: True)
    assert isinstance(await outcome(a), EngineClosed)
    assert isinstance(await outcome(b), EngineClosed)


async def test_a_failed_batch_is_retried_caller_by_caller() -> None:
    model = Model(fail_on="storm")
    good, bad, other = job("edit", "kite"), job("edit", "storm"), job("edit", "sun")
    run_batch([good, bad, other], model)
    assert model.calls == [["kite", "storm", "sun"], ["kite"], ["storm"], ["sun"]]
    assert await outcome(good) == ["picture of kite"]
    assert await outcome(other) == ["picture of sun"]
    error = await outcome(bad)
    assert isinstance(error, RuntimeError) and "storm" in str(error)
    assert good.batch_size == 1  # it was answered by its own call


async def test_a_caller_that_left_is_not_retried() -> None:
    model = Model(fail_on="storm")
    gone = CancelToken()
    gone.cancel()
    leaving, bad = job("edit", "kite", cancel=gone), job("edit", "storm")
    run_batch([leaving, bad], model)
    assert model.calls == [["kite", "storm"], ["storm"]]
    assert isinstance(await outcome(leaving), GenerationCancelled)


class OutOfMemoryError(RuntimeError):
    """Named like torch.cuda.OutOfMemoryError, which this CPU machine cannot raise."""


async def test_out_of_memory_frees_the_cache_before_the_retries() -> None:
    events: list[str] = []

    def model(kind: str, items: list[Any], on_step: StepCallback, stop: StopCheck) -> list:
        events.append(f"call {len(items)}")
        if len(items) > 1:
            raise OutOfMemoryError("CUDA out of memory")
        return [f"picture of {item}" for item in items]

    a, b = job("edit", "kite"), job("edit", "boat")
    run_batch([a, b], model, free_memory=lambda: events.append("freed"))
    assert events == ["call 2", "freed", "call 1", "call 1"]
    assert await outcome(a) == ["picture of kite"] and await outcome(b) == ["picture of boat"]


async def test_out_of_memory_alone_frees_the_cache_and_fails_the_caller() -> None:
    freed: list[bool] = []

    def model(kind: str, items: list[Any], on_step: StepCallback, stop: StopCheck) -> list:
        raise OutOfMemoryError("CUDA out of memory")

    only = job("edit", "kite")
    run_batch([only], model, free_memory=lambda: freed.append(True))
    assert freed == [True]
    assert isinstance(await outcome(only), OutOfMemoryError)


async def test_other_errors_leave_the_cache_alone() -> None:
    freed: list[bool] = []
    only = job("edit", "storm")
    run_batch([only], Model(fail_on="storm"), free_memory=lambda: freed.append(True))
    assert freed == [] and isinstance(await outcome(only), RuntimeError)


async def test_what_one_turn_gathers_is_handed_on_together() -> None:
    handed: list[list[str]] = []
    gathering: Gathering[str] = Gathering(handed.append)

    async def hand_in(item: str) -> None:
        gathering.add(item)

    await asyncio.gather(hand_in("kite"), hand_in("boat"), hand_in("gull"))
    await asyncio.sleep(0)  # at the latest one more turn later, the gathering's turn ended
    assert handed == [["kite", "boat", "gull"]] and gathering.waiting() == 0
    gathering.add("sun")
    assert gathering.waiting() == 1 and len(handed) == 1  # this turn is still running
    await asyncio.sleep(0)
    assert handed == [["kite", "boat", "gull"], ["sun"]]
