"""The story room over real HTTP and websockets on 127.0.0.1, with the core behind it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from adapters.web.adapter import WebAdapter
from core.health import check_health
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine


class Room:
    def __init__(self, adapter: WebAdapter, session: aiohttp.ClientSession) -> None:
        self.adapter = adapter
        self.session = session
        self.base = f"http://127.0.0.1:{adapter.bound_port}"

    async def open(self, room: str | None = "Harbor", token: str = "") -> Reader:
        query = f"?token={token}" if token else ""
        socket = await self.session.ws_connect(f"{self.base}/ws{query}")
        reader = Reader(socket)
        if room is not None:
            await reader.send({"type": "join", "room": room, "author": "Ana"})
            await reader.expect("joined")
            await reader.expect("story")
        return reader


class Reader:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket

    async def send(self, payload: dict[str, Any]) -> None:
        await self.socket.send_str(json.dumps(payload))

    async def expect(self, kind: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next message of `kind` whose fields equal `match`; others are skipped."""

        async def find() -> dict[str, Any]:
            while True:
                message = await self.socket.receive_json()
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message

        return await asyncio.wait_for(find(), timeout)


@pytest_asyncio.fixture
async def room(tmp_path: Path) -> AsyncIterator[Room]:
    async with _room(tmp_path, token="") as made:
        yield made


@asynccontextmanager
async def _room(tmp_path: Path, token: str) -> AsyncIterator[Room]:
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    engine = ScriptedEngine()
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2, max_paragraph_chars=4000))
    adapter = WebAdapter(
        "127.0.0.1",
        0,
        token,
        storage.images.get,
        engine.profile_name,
        health=lambda: check_health(engine, storage),
    )
    inkwell.attach(adapter)
    await inkwell.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Room(adapter, session)
    finally:
        await inkwell.stop()
        await storage.close()


@pytest.mark.asyncio
async def test_health_says_whether_the_engine_and_storage_answer(room: Room) -> None:
    async with room.session.get(room.base + "/health") as response:
        assert response.status == 200
        health = await response.json()
    assert health == {
        "ok": True,
        "profile": "scripted",
        "engine": "ok",
        "storage": "ok",
        "connections": {},
    }


@pytest.mark.asyncio
async def test_a_paragraph_is_accepted_drawn_and_served(room: Room) -> None:
    writer = await room.open()
    other = await room.open()
    await writer.send({"type": "paragraph", "text": "A red kite. A grey sky.", "client_id": "c1"})
    accepted = await writer.expect("accepted", client_id="c1")
    posted = await other.expect("posted")
    assert posted["entry"]["paragraph_id"] == accepted["paragraph_id"]
    assert posted["entry"]["author"] == "Ana"
    await other.expect("progress", stage="generating")
    shown = await other.expect("illustrations", paragraph_id=accepted["paragraph_id"])
    assert [image["caption"] for image in shown["images"]] == ["A red kite.", "A grey sky."]
    await other.expect("progress", stage="done")
    async with room.session.get(room.base + shown["images"][0]["url"]) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert (await response.read()).startswith(b"\x89PNG")


@pytest.mark.asyncio
async def test_joining_later_shows_the_story_so_far(room: Room) -> None:
    writer = await room.open()
    await writer.send({"type": "paragraph", "text": "Fog rolls in.", "client_id": "c1"})
    await writer.expect("progress", stage="done")
    late = await room.open(room=None)
    await late.send({"type": "join", "room": "Harbor", "author": "Bo"})
    await late.expect("joined", room="Harbor")
    story = await late.expect("story")
    [entry] = story["entries"]
    assert (entry["text"], entry["status"], len(entry["illustrations"])) == (
        "Fog rolls in.",
        "done",
        1,
    )
    async with room.session.get(f"{room.base}/api/rooms") as response:
        listing = await response.json()
    assert listing == {
        "rooms": [{"id": "Harbor", "title": "Harbor", "paragraphs": 1}],
        "profile": "scripted",
    }


@pytest.mark.asyncio
async def test_bad_input_is_answered_and_loses_nothing(room: Room) -> None:
    writer = await room.open()
    await writer.send({"type": "paragraph", "text": "The first scene stays.", "client_id": "ok"})
    await writer.expect("progress", stage="done")

    await writer.send({"type": "paragraph", "text": "   ", "client_id": "empty"})
    assert "empty" in (await writer.expect("error", client_id="empty"))["message"]
    await writer.send({"type": "paragraph", "text": "word " * 10_000, "client_id": "long"})
    assert "limit is 4,000" in (await writer.expect("error", client_id="long"))["message"]
    await writer.send({"type": "paragraph", "text": "\x00\x01\x02\x03\x04garbage\x05\x06"})
    assert "binary" in (await writer.expect("error"))["message"]
    await writer.socket.send_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "only reads text" in (await writer.expect("error"))["message"]
    await writer.socket.send_str("{not json")
    assert "couldn't read" in (await writer.expect("error"))["message"]
    await writer.send({"type": "join", "room": "../../etc/passwd", "author": "Eve"})
    assert "no slashes" in (await writer.expect("error"))["message"]

    stranger = await room.open(room=None)
    await stranger.send({"type": "paragraph", "text": "Where am I?"})
    assert "Open a room" in (await stranger.expect("error"))["message"]

    await writer.send({"type": "history", "before_seq": None})
    story = await writer.expect("story")
    assert [e["text"] for e in story["entries"]] == ["The first scene stays."]


@pytest.mark.asyncio
async def test_two_posts_in_the_same_instant_are_both_drawn_in_order(room: Room) -> None:
    writer = await room.open()
    await asyncio.gather(
        writer.send({"type": "paragraph", "text": "Thunder.", "client_id": "a"}),
        writer.send({"type": "paragraph", "text": "Lightning.", "client_id": "b"}),
    )
    first = await writer.expect("accepted", client_id="a")
    second = await writer.expect("accepted", client_id="b")
    assert second["seq"] == first["seq"] + 1
    shown = [await writer.expect("illustrations"), await writer.expect("illustrations")]
    assert [s["paragraph_id"] for s in shown] == [first["paragraph_id"], second["paragraph_id"]]


@pytest.mark.asyncio
async def test_missing_pictures_and_unknown_paths_get_clear_answers(room: Room) -> None:
    async with room.session.get(f"{room.base}/images/{'0' * 32}.png") as response:
        assert response.status == 404
        assert "no longer exists" in (await response.json())["error"]
    async with room.session.get(f"{room.base}/images/..%2F..%2Fdb.sqlite3.png") as response:
        assert response.status == 404
    async with room.session.get(f"{room.base}/") as response:
        assert response.status == 200 and "text/html" in response.content_type


@pytest.mark.asyncio
async def test_a_token_guards_the_room_when_one_is_set(tmp_path: Path) -> None:
    async with _room(tmp_path, token="s3cret") as guarded:
        async with guarded.session.get(f"{guarded.base}/api/rooms") as response:
            assert response.status == 401
            assert "access token" in (await response.json())["error"]
        async with guarded.session.get(f"{guarded.base}/api/rooms?token=s3cret") as response:
            assert response.status == 200
        refused = await guarded.open(room=None)
        closing = await refused.socket.receive(timeout=5)
        assert closing.type == aiohttp.WSMsgType.CLOSE
        assert (closing.data, closing.extra) == (
            4401,
            "This story room needs its access token in the link.",
        )
        reader = await guarded.open(token="s3cret")
        await reader.send({"type": "paragraph", "text": "Let me in.", "client_id": "t"})
        await reader.expect("accepted", client_id="t")


@pytest.mark.asyncio
async def test_a_resent_post_is_recognised_not_stored_twice(room: Room) -> None:
    writer = await room.open()
    watcher = await room.open()
    post = {"type": "paragraph", "text": "The bridge sways.", "client_id": "c-42"}
    await writer.send(post)
    first = await writer.expect("accepted", client_id="c-42")
    await watcher.expect("posted")
    await writer.socket.close()  # the answer "got lost"; the page reconnects and resends

    again = await room.open()
    await again.send(post)
    second = await again.expect("accepted", client_id="c-42")
    assert (second["paragraph_id"], second["seq"]) == (first["paragraph_id"], first["seq"])
    await again.send({"type": "history", "before_seq": None})
    story = await again.expect("story")
    assert [e["text"] for e in story["entries"]] == ["The bridge sways."]
    await watcher.send({"type": "paragraph", "text": "Then silence.", "client_id": "c-43"})
    posted = await watcher.expect("posted")  # the resend was not shown to the room again
    assert posted["entry"]["text"] == "Then silence."


@pytest.mark.asyncio
async def test_a_post_resent_after_a_restart_is_stored_and_drawn_once(tmp_path: Path) -> None:
    post = {"type": "paragraph", "text": "The bridge sways. A gull cries.", "client_id": "c-7"}
    async with _room(tmp_path, token="") as before:
        writer = await before.open()
        await writer.send(post)
        first = await writer.expect("accepted", client_id="c-7")
        await writer.expect("illustrations", paragraph_id=first["paragraph_id"])
        await writer.expect("progress", stage="done")
    async with _room(tmp_path, token="") as after:  # the same data directory
        again = await after.open()
        await again.send(post)
        second = await again.expect("accepted", client_id="c-7")
        assert (second["paragraph_id"], second["seq"]) == (first["paragraph_id"], first["seq"])
        await again.send({"type": "paragraph", "text": "Then silence.", "client_id": "c-8"})
        later = await again.expect("accepted", client_id="c-8")
        await again.expect("progress", stage="done", paragraph_id=later["paragraph_id"])
        await again.send({"type": "history", "before_seq": None})
        story = await again.expect("story")
    entries = [(e["text"], len(e["illustrations"])) for e in story["entries"]]
    assert entries == [("The bridge sways. A gull cries.", 2), ("Then silence.", 1)]
