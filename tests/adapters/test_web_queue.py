"""The story room's Queue: the story's waiting work over the real websocket, the asker's marked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from adapters.web.adapter import WebAdapter
from core.health import check_health
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from storage.sqlite import SQLiteStorage
from tests.adapters.test_web_room import Reader, Room
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def gated(tmp_path: Path) -> AsyncIterator[tuple[Room, ScriptedEngine, Inkwell]]:
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    engine = ScriptedEngine()
    engine.gate = asyncio.Event()
    inkwell = Inkwell(engine, storage, StorySettings(candidates=1, progress_interval_s=0))
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
    try:
        async with aiohttp.ClientSession() as session:
            yield Room(adapter, session), engine, inkwell
    finally:
        engine.gate.set()
        await inkwell.stop()
        await storage.close()


async def _join(room: Room, author: str) -> Reader:
    reader = await room.open(room=None)
    await reader.send({"type": "join", "room": "Harbor", "author": author})
    await reader.expect("joined")
    return reader


async def test_the_room_shows_its_queue_with_the_askers_place(
    gated: tuple[Room, ScriptedEngine, Inkwell],
) -> None:
    room, engine, inkwell = gated
    ana, bo = await _join(room, "Ana"), await _join(room, "Bo")
    await ana.send({"type": "paragraph", "text": "A kite rises.", "client_id": "a1"})
    await ana.expect("accepted", client_id="a1")
    await asyncio.wait_for(engine.generating.wait(), 10)
    await ana.send({"type": "paragraph", "text": "A dog runs.", "client_id": "a2"})
    await ana.expect("accepted", client_id="a2")
    await bo.send({"type": "paragraph", "text": "Bo waves.", "client_id": "b1"})
    await bo.expect("accepted", client_id="b1")

    await bo.send({"type": "queue"})
    shown = await bo.expect("queue")
    assert shown["your_position"] == 2 and shown["yours"] == 1
    assert [
        (item["position"], item["kind"], item["author"], item["seq"], item["mine"])
        for item in shown["items"]
    ] == [
        (0, "paragraph", "Ana", 1, False),
        (1, "paragraph", "Ana", 2, False),
        (2, "paragraph", "Bo", 3, True),
    ]
    assert shown["items"][2]["text"] == "Bo waves."

    await ana.send({"type": "queue"})
    assert (await ana.expect("queue"))["your_position"] == 0

    engine.gate.set()
    await asyncio.wait_for(inkwell.idle(), 30)
    await bo.send({"type": "queue"})
    assert await bo.expect("queue") == {
        "type": "queue",
        "your_position": None,
        "yours": 0,
        "items": [],
    }


async def test_the_page_has_a_queue_panel_that_renders_the_message(
    gated: tuple[Room, ScriptedEngine, Inkwell],
) -> None:
    room, _, _ = gated
    async with room.session.get(room.base + "/") as response:
        page = await response.text()
    assert 'data-testid="queue-button"' in page and 'data-testid="queue-panel"' in page
    async with room.session.get(room.base + "/static/queue.js") as response:
        assert response.status == 200
        script = await response.text()
    assert '{ type: "queue" }' in script and "window.InkwellQueue = { render }" in script
    async with room.session.get(room.base + "/static/room.js") as response:
        assert "window.InkwellQueue.render(msg)" in await response.text()
