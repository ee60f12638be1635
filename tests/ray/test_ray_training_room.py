"""The web training room with a Ray engine: its session in an actor beside a replica's models."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from adapters.web.adapter import WebAdapter
from adapters.web.training import TrainingRoom
from core.feedback.capture import TRAINING_ROOM
from core.health import Health
from engine.ray_engine import RayEngine
from storage.sqlite import SQLiteStorage
from tests.ray.conftest import restorer_request

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]


REQUEST = restorer_request(3)


async def not_checked() -> Health:
    raise AssertionError("this test never asks /health")


async def test_the_training_room_trains_beside_the_replicas_models_over_http(
    ray_app: str, checkpoints: Path, tmp_path: Path
) -> None:
    engine = await RayEngine.connect(ray_app)
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    room = TrainingRoom(storage, lambda: engine.open_training_room(REQUEST), "tiny")
    adapter = WebAdapter("127.0.0.1", 0, "", storage.images.get, "tiny", health=not_checked)
    adapter.add_room(room.mount, frozenset({TrainingRoom.page}))

    async def dispatch(event: object) -> list:
        return []

    await adapter.start(dispatch)
    base = f"http://127.0.0.1:{adapter.bound_port}/api/training"
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/samples") as response:
                samples = (await response.json())["samples"]
            assert len(samples) == 4 and samples[0]["id"] == "s0"
            async with http.get(f"{base}/samples/s0/input.png") as response:
                assert response.status == 200
                assert (await response.read()).startswith(b"\x89PNG")
            async with http.post(f"{base}/start", json={"stage": "paint"}) as response:
                assert response.status == 400  # the session's ValueError, through the actor
                assert "unknown stage" in (await response.json())["error"]

            async with http.post(f"{base}/start", json={"stage": "pixel"}) as response:
                assert response.status == 200
            session = await room.session()
            await session.join()  # type: ignore[attr-defined]
            async with http.get(base) as response:
                state = await response.json()
            assert state["status"] == "idle" and state["error"] == ""
            [result] = state["results"]
            assert (result["stage"], result["steps"], result["reason"]) == ("pixel", 3, "max_steps")
            assert [p["step"] for p in state["points"]] == [1, 2, 3]
            # The checkpoint is in the replicas' models folder, where `restore` loads it.
            assert (checkpoints / "restorer.pt").is_file()
            described = await engine._handle.describe.remote()
            assert described["restorer_state"] == "trained"

            feedback = {"text": "her face is not clear", "author": "Ana"}
            async with http.post(f"{base}/samples/s1/feedback", json=feedback) as response:
                bound = await response.json()
            assert bound["target"] == "her face is clear"
            [stored] = await storage.feedback.list(TRAINING_ROOM)
            assert stored.text == "her face is not clear"
            assert (await storage.images.get(bound["image_id"])).startswith(b"\x89PNG")
    finally:
        await room.close()
        await adapter.stop()
        await storage.close()
