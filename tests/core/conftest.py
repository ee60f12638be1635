"""Core fixtures: a real SQLite store, the scripted engine and the in-process adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from core.inbox import InboxSettings
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine


@pytest_asyncio.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = await SQLiteStorage.open(tmp_path / "inkwell.sqlite3", tmp_path / "images")
    yield store
    await store.close()


@pytest_asyncio.fixture
async def engine() -> ScriptedEngine:
    return ScriptedEngine()


@pytest_asyncio.fixture
async def chat(storage: SQLiteStorage, engine: ScriptedEngine) -> AsyncIterator[FakeAdapter]:
    inkwell = Inkwell(
        engine,
        storage,
        StorySettings(
            candidates=3, max_sentences=4, max_paragraph_chars=200, progress_interval_s=0
        ),
        InboxSettings(max_attempts=2, retry_backoff_s=0),
    )
    adapter = FakeAdapter()
    inkwell.attach(adapter)
    await inkwell.start()
    adapter.inkwell = inkwell  # type: ignore[attr-defined]
    yield adapter
    await inkwell.stop()
