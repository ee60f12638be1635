"""`/health`'s answer: the engine and storage are asked for real, each within a bound."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from core.health import OK, check_health
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio


class BrokenEngine(ScriptedEngine):
    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("CUDA error: device lost")


class StuckEngine(ScriptedEngine):
    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")


async def test_a_working_engine_and_storage_are_healthy(storage: SQLiteStorage) -> None:
    health = await check_health(ScriptedEngine(), storage)
    assert (health.ok, health.engine, health.storage, health.profile) == (
        True,
        OK,
        OK,
        "scripted",
    )


async def test_a_failing_or_silent_engine_is_reported(storage: SQLiteStorage) -> None:
    broken = await check_health(BrokenEngine(), storage)
    assert not broken.ok and broken.storage == OK
    assert broken.engine == "RuntimeError: CUDA error: device lost"
    stuck = await check_health(StuckEngine(), storage, timeout_s=0.05)
    assert not stuck.ok and stuck.engine == "no answer within 0.05 s (busy or stuck)"


async def test_closed_storage_is_reported(tmp_path: Path) -> None:
    closed = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    await closed.close()
    health = await check_health(ScriptedEngine(), closed)
    assert not health.ok and health.engine == OK and health.storage != OK


async def test_a_restarting_connection_is_reported_with_its_cause(storage: SQLiteStorage) -> None:
    from core import metrics
    from core.connections import Backoff, Connection

    gateway = Connection("discord")
    gateway.connected()
    assert (await check_health(ScriptedEngine(), storage, connections=[gateway])).ok
    gateway.failed("KeyError: 'version'")
    health = await check_health(ScriptedEngine(), storage, connections=[gateway])
    assert not health.ok
    assert health.connections == (("discord", "restarting: KeyError: 'version'"),)
    text = metrics.exposition().decode()
    assert 'inkwell_connection_up{platform="discord"} 0.0' in text
    assert 'inkwell_connection_restarts_total{platform="discord"}' in text
    gateway.connected()
    assert 'inkwell_connection_up{platform="discord"} 1.0' in metrics.exposition().decode()

    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_pause() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_pause() == 0.5
