"""The web story room end to end with the engine on Ray Serve: post, progress, pictures."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.web.adapter import WebAdapter
from core.health import check_health
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from engine.ray_engine import RayEngine
from storage.sqlite import SQLiteStorage

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]


async def _expect(socket: aiohttp.ClientWebSocketResponse, kind: str, **match: Any) -> dict:
    async def find() -> dict:
        while True:
            message = await socket.receive_json()
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    return await asyncio.wait_for(find(), 120)


async def test_a_paragraph_is_drawn_through_ray_and_served(ray_app: str, tmp_path: Path) -> None:
    engine = await RayEngine.connect(ray_app)
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    settings = StorySettings(candidates=2, max_sentences=4, progress_interval_s=0)
    inkwell = Inkwell(engine, storage, settings)
    adapter = WebAdapter(
        "127.0.0.1",
        0,
        "",
        storage.images.get,
        engine.profile_name,
        health=lambda: check_health(engine, storage),
    )
    inkwell.attach(adapter)
    await inkwell.start()
    base = f"http://127.0.0.1:{adapter.bound_port}"
    try:
        async with aiohttp.ClientSession() as session:
            writer = await session.ws_connect(f"{base}/ws")
            await writer.send_str(json.dumps({"type": "join", "room": "Harbor", "author": "Ana"}))
            await _expect(writer, "story")
            text = "A lighthouse stands on a black cliff. A small boat sails below."
            await writer.send_str(json.dumps({"type": "paragraph", "text": text, "client_id": "c"}))
            accepted = await _expect(writer, "accepted", client_id="c")
            await _expect(writer, "progress", stage="generating")
            shown = await _expect(writer, "illustrations", paragraph_id=accepted["paragraph_id"])
            await _expect(writer, "progress", stage="done")
            assert shown["images"]
            async with session.get(base + shown["images"][0]["url"]) as response:
                assert response.status == 200
                assert (await response.read()).startswith(b"\x89PNG")
            async with session.get(f"{base}/api/rooms") as response:
                assert (await response.json())["profile"] == "tiny"
    finally:
        await inkwell.stop()
        await storage.close()
