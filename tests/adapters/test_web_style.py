"""The story room's style reference over real HTTP and websockets: upload, show, strength, clear."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image

from adapters.web import convert
from adapters.web.adapter import WebAdapter
from core.events import Author, ChannelRef, StyleReferenceShown, StyleStrengthSet
from core.health import check_health
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine


def picture(colour: str = "teal", size: tuple[int, int] = (200, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


class Socket:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket

    async def send(self, payload: dict[str, Any]) -> None:
        await self.socket.send_str(json.dumps(payload))

    async def expect(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                message = await self.socket.receive_json()
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message

        return await asyncio.wait_for(find(), timeout)


@pytest_asyncio.fixture
async def site(tmp_path: Path) -> AsyncIterator[tuple[str, aiohttp.ClientSession, ScriptedEngine]]:
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    engine = ScriptedEngine()
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2, max_paragraph_chars=4000))
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
            yield f"http://127.0.0.1:{adapter.bound_port}", session, engine
    finally:
        await inkwell.stop()
        await storage.close()


async def join(session: aiohttp.ClientSession, base: str, author: str) -> Socket:
    reader = Socket(await session.ws_connect(f"{base}/ws"))
    await reader.send({"type": "join", "room": "Harbor", "author": author})
    await reader.expect("joined")
    return reader


@pytest.mark.asyncio
async def test_upload_reaches_the_room_and_later_drawings(site: Any) -> None:
    base, session, engine = site
    ana = await join(session, base, "Ana")
    first = await ana.expect("style")
    assert first["image_url"] is None and first["changed"] is False
    bo = await join(session, base, "Bo")
    await bo.expect("style")

    url = f"{base}/api/rooms/Harbor/style?author=Ana"
    async with session.post(url, data=picture(), headers={"Content-Type": "image/png"}) as reply:
        assert reply.status == 200
        answer = await reply.json()
    assert answer["changed"] and answer["set_by"] == "Ana"
    for reader in (ana, bo):  # the uploader's own socket hears it too
        seen = await reader.expect("style", changed=True)
        assert seen["image_url"] == answer["image_url"]
    async with session.get(base + answer["image_url"]) as image:
        assert image.status == 200 and (await image.read()).startswith(b"\x89PNG")

    await bo.send({"type": "style_strength", "strength": 0.5})
    assert (await ana.expect("style", changed=True))["strength"] == 0.5
    await ana.send({"type": "paragraph", "text": "Gulls over the boats.", "client_id": "p1"})
    await ana.expect("illustrations")
    [[request]] = engine.generate_calls
    assert request.style is not None and request.style.strength == 0.5

    late = await join(session, base, "Cy")
    shown = await late.expect("style")
    assert shown["image_url"] == answer["image_url"] and shown["changed"] is False
    await late.send({"type": "style_clear"})
    cleared = await bo.expect("style", changed=True, image_url=None)
    assert "Cy cleared" in cleared["message"]


@pytest.mark.asyncio
async def test_bad_uploads_are_answered_with_a_reason(site: Any) -> None:
    base, session, _ = site
    url = f"{base}/api/rooms/Harbor/style"
    cases = [
        (b"GIF89a not really", "image/gif", 400, "isn't a picture"),
        (picture(size=(50, 50)), "image/png", 400, "50×50"),
        (picture(), "text/plain", 400, "PNG, JPEG, WebP"),
        (bytes(10 * 2**20 + 10), "image/png", 413, "at most 10 MB"),
    ]
    for body, kind, status, says in cases:
        async with session.post(url, data=body, headers={"Content-Type": kind}) as reply:
            assert reply.status == status, says
            assert says in (await reply.json())["error"]
    bad_room = f"{base}/api/rooms/..%2Fetc/style"
    async with session.post(bad_room, data=picture(), headers={"Content-Type": "image/png"}) as r:
        assert r.status in (400, 404)


def test_style_messages_convert_both_ways() -> None:
    message = convert.parse_client_message('{"type": "style_strength", "strength": 1.5}')
    event = convert.to_event(message, "Harbor", "Ana")
    assert isinstance(event, StyleStrengthSet) and event.strength == 1.5
    for raw in ('{"type": "style_strength", "strength": "high"}', '{"type": "style_strength"}'):
        with pytest.raises(convert.ClientMessageError, match="number"):
            convert.to_event(convert.parse_client_message(raw), "Harbor", "Ana")
    shown = StyleReferenceShown(
        ChannelRef("web", "Harbor"), image_id="ab" * 16, strength=1.0, note="untrained"
    )
    payload = convert.action_json(shown)
    assert payload["image_url"] == f"/images/{'ab' * 16}.png" and payload["note"] == "untrained"
    upload = convert.style_upload_event("Harbor", "Ana", "IMAGE/PNG", b"x")
    assert upload.author == Author("web:Ana", "Ana")
