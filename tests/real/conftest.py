"""Fixtures for the real-architecture tests: sd15 and sd-turbo built once per session with
random weights, loaded one profile at a time (each is ~4-5 GB in fp32), on one thread."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os

# Before diffusers, transformers or huggingface_hub are imported: nothing may be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from engine.profiles import resolve_profile


@pytest.fixture(scope="session")
def arch_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the architectures are built; INKWELL_ARCH_MODELS keeps builds between runs."""
    kept = os.environ.get("INKWELL_ARCH_MODELS")
    return Path(kept) if kept else tmp_path_factory.mktemp("arch-models")


class OneAtATime:
    """Holds at most one loaded runner: asking for another profile closes the last one."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self._key: tuple | None = None
        self._runner: Any = None

    def get(self, name: str, overrides: Mapping[str, object] | None = None) -> Any:
        from engine.runner import ModelRunner

        key = (name, tuple(sorted((overrides or {}).items())))
        if key != self._key:
            self.release()
            profile = resolve_profile(name, overrides)
            self._runner = ModelRunner.load(profile, self.models_dir, device="cpu", max_batch=4)
            self._key = key
        return self._runner

    def release(self) -> None:
        if self._runner is not None:
            self._runner.close()
        self._runner = self._key = None
        gc.collect()
        # glibc keeps freed model memory in its arenas; hand it back, or a Ray replica or the
        # next profile loads on top of gigabytes this process no longer uses.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


@pytest.fixture(scope="session")
def real_runners(arch_models_dir: Path) -> Iterator[OneAtATime]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    holder = OneAtATime(arch_models_dir)
    try:
        yield holder
    finally:
        holder.release()
        torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def random_ip_adapter(arch_models_dir: Path) -> Callable[[str], Path]:
    """A folder in h94/IP-Adapter's layout with random weights for an architecture's UNet
    (built once, from the UNet's layout alone), the image encoder the real ViT-H/14."""

    def build(architecture: str) -> Path:
        import json

        from engine.architecture import ARCHITECTURES_DIR, Architecture
        from engine.ip_style import build_random_ip_adapter

        target = arch_models_dir / f"ip-adapter-random-{architecture}"
        if not (target / "models" / "image_encoder" / "config.json").is_file():
            config = json.loads(
                (ARCHITECTURES_DIR / "ip-adapter-sd15-image-encoder.json").read_text("utf-8")
            )
            build_random_ip_adapter(target, Architecture.named(architecture).meta_unet(), config)
        return target

    return build
