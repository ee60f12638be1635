"""Restorer training as engine-side work on Ray: it runs on a replica, beside its models."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.engine import (
    CancelToken,
    GenerationCancelled,
    RestorerTrainingRequest,
    StepReport,
)
from core.feedback.training_settings import StageSettings, TrainingSettings
from engine.ray_engine import RayEngine

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _request(pixel_steps: int) -> RestorerTrainingRequest:
    pixel = StageSettings(pixel_steps, 0.0, 3e-4)
    return RestorerTrainingRequest(
        settings=TrainingSettings(image_size=16, pairs=4, pixel=pixel),
        stages=("pixel",),
        feedback=(("f1", _png(), "too blurry"),),
    )


@pytest.fixture
def checkpoints(ray_models_dir: Path) -> Iterator[Path]:
    """The replicas' restorer folder, removed afterwards so other tests see no trained one."""
    folder = ray_models_dir / "restorer"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


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
