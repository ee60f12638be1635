"""Adapter test fixtures: tiny models built once per session, and a bot that can be restarted."""

from __future__ import annotations

import os

# Before diffusers, transformers or huggingface_hub are imported: nothing may be downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from core.adapter import Adapter
from core.engine import Engine
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from storage.sqlite import SQLiteStorage

SETTINGS = StorySettings(candidates=2, max_sentences=4, progress_interval_s=0)


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny models with their screening heads trained up front, once: first-use training
    takes minutes on a busy 2-core machine, which no test's bounded wait should include."""
    import torch

    from engine.profiles import resolve_profile
    from engine.screening import ScreeningModel

    root = tmp_path_factory.mktemp("tiny-models")
    ScreeningModel.load(resolve_profile("tiny"), root, torch.device("cpu"))
    return root


@pytest_asyncio.fixture
async def tiny_engine(tiny_models_dir: Path) -> AsyncIterator[Engine]:
    """The real local engine on the tiny profile (random weights, CPU)."""
    from engine.local_engine import LocalEngine
    from engine.profiles import resolve_profile

    engine = LocalEngine.for_profile(resolve_profile("tiny"), tiny_models_dir, "cpu", 8)
    await engine.start()
    yield engine
    await engine.close()


class Bot:
    """Inkwell on one storage; `restart` stops the process's core and adapter and starts anew."""

    def __init__(
        self, tmp: Path, engine: Engine, make_adapters: Callable[[Bot], list[Adapter]]
    ) -> None:
        self._tmp = tmp
        self.engine = engine
        self._make_adapters = make_adapters
        self.storage: SQLiteStorage | None = None
        self.inkwell: Inkwell | None = None
        self.adapters: list[Adapter] = []

    async def start(self) -> None:
        self.storage = await SQLiteStorage.open(self._tmp / "db.sqlite3", self._tmp / "images")
        self.inkwell = Inkwell(self.engine, self.storage, SETTINGS)
        self.adapters = self._make_adapters(self)
        for adapter in self.adapters:
            self.inkwell.attach(adapter)
        await self.inkwell.start()

    async def stop(self) -> None:
        if self.inkwell is not None:
            await self.inkwell.stop()
        if self.storage is not None:
            await self.storage.close()
        self.inkwell = self.storage = None
        self.adapters = []

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def idle(self) -> None:
        assert self.inkwell is not None
        await self.inkwell.idle()
