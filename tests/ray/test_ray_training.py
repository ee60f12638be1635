"""Restorer training as engine-side work on Ray: it runs on a replica, beside its models."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.engine import CancelToken, GenerationCancelled, StepReport
from engine.ray_engine import RayEngine
from tests.ray.conftest import restorer_request as _request

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]


async def test_the_restorer_trains_on_a_replica_into_the_replicas_models_folder(
    ray_app: str, checkpoints: Path
) -> None:
    engine = await RayEngine.connect(ray_app)
    steps: list[StepReport] = []
    [result] = await engine.train_restorer(_request(3), steps.append)
    assert (result.stage, result.steps, result.reason) == ("pixel", 3, "max_steps")
    assert [(s.stage, s.step, s.max_steps) for s in steps] == [("pixel", n, 3) for n in (1, 2, 3)]
    assert (checkpoints / "restorer.pt").is_file()
    described = await engine._handle.describe.remote()
    assert described["restorer_state"] == "trained"  # restore now loads what was trained


async def test_cancelled_training_stops_on_the_replica_and_keeps_serving(
    ray_app: str, checkpoints: Path
) -> None:
    engine = await RayEngine.connect(ray_app)
    cancel = CancelToken()

    def stop_after_first(report: StepReport) -> None:
        cancel.cancel()

    with pytest.raises(GenerationCancelled):
        await engine.train_restorer(_request(100_000), stop_after_first, cancel)
    [again] = await engine.train_restorer(_request(2))  # one run at a time: the stopped one ended
    assert again.steps == 2
    assert (await engine.embed_texts(["still serving"])).shape[0] == 1
