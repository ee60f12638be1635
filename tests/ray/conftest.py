"""One local Ray instance with the tiny engine deployed, shared by every Ray test (CPU)."""

from __future__ import annotations

import os

# Before diffusers, transformers or huggingface_hub are imported: nothing may be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from core.engine import RestorerTrainingRequest
from core.feedback.training_settings import StageSettings, TrainingSettings

APP = "inkwell-test"


@pytest.fixture(scope="session")
def ray_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The replicas' models folder: where they load models and training writes checkpoints."""
    return tmp_path_factory.mktemp("ray-models")


@pytest.fixture(scope="session")
def ray_app(ray_models_dir: Path) -> Iterator[str]:
    """A local Ray instance (2 CPUs) serving the tiny profile as app APP; yields its name."""
    ray = pytest.importorskip("ray", reason="the Ray tests need the 'ray' extra (install.sh)")
    serve = pytest.importorskip("ray.serve")
    from engine.ray_deployment import DeploymentSettings, build_app
    from engine.settings import BatchingSettings, EngineSettings, ModelSettings

    models_dir = ray_models_dir
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    settings = DeploymentSettings(
        ModelSettings(profile="tiny", device="cpu"),
        str(models_dir),
        BatchingSettings(max_batch=8),
        EngineSettings(num_cpus=0),
    )
    try:
        serve.run(build_app(settings), name=APP, route_prefix=None)
        yield APP
    finally:
        serve.shutdown()
        ray.shutdown()


def restorer_request(pixel_steps: int) -> RestorerTrainingRequest:
    """A small restorer training: 16-pixel crops, 4 pairs, `pixel_steps` of the pixel stage,
    one writer's feedback."""
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), (200, 30, 30)).save(buffer, format="PNG")
    pixel = StageSettings(pixel_steps, 0.0, 3e-4)
    return RestorerTrainingRequest(
        settings=TrainingSettings(image_size=16, pairs=4, pixel=pixel),
        stages=("pixel",),
        feedback=(("f1", buffer.getvalue(), "too blurry"),),
    )


@pytest.fixture
def checkpoints(ray_models_dir: Path) -> Iterator[Path]:
    """The replicas' restorer folder, removed afterwards so other tests see no trained one."""
    folder = ray_models_dir / "restorer"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
