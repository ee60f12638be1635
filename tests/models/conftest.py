"""Fixtures for the model tests: tiny models built once per session, offline."""

from __future__ import annotations

import os

# Before diffusers, transformers or huggingface_hub are imported: nothing may be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest

from engine.profiles import ModelProfile, resolve_profile


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_profile() -> ModelProfile:
    return resolve_profile("tiny")


@pytest.fixture(scope="session")
def runner(models_dir: Path, tiny_profile: ModelProfile):  # -> ModelRunner
    from engine.runner import ModelRunner

    loaded = ModelRunner.load(tiny_profile, models_dir, device="cpu")
    yield loaded
    loaded.close()
