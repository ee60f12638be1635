"""One local Ray instance with the tiny engine deployed, shared by every Ray test (CPU)."""

from __future__ import annotations

import os

# Before diffusers, transformers or huggingface_hub are imported: nothing may be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest

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
