"""Change requests, undo and candidates in the story room, over real websockets."""

# ruff: noqa: F811  (the room fixture comes from test_web_room)
from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest

from tests.adapters.test_web_room import Room, room  # noqa: F401
from tests.fakes.engine import luminance


async def _both(reader: Any, *kinds: str) -> dict[str, dict]:
    """The first message of each kind, whatever order they arrive in."""

    async def collect() -> dict[str, dict]:
        found: dict[str, dict] = {}
        while len(found) < len(kinds):
            message = await reader.socket.receive_json()
            if message["type"] in kinds:
                found.setdefault(message["type"], message)
        return found

    return await asyncio.wait_for(collect(), 10)


async def _picture(room: Room, url: str) -> bytes:
    async with room.session.get(room.base + url) as response:
        assert response.status == 200
        return await response.read()


@pytest.mark.asyncio
async def test_darker_then_undo_in_the_room(room: Room) -> None:
    reader = await room.open()
    await reader.send({"type": "paragraph", "text": "The knight rides home.", "client_id": "c1"})
    drawn = await reader.expect("illustrations")
    [first] = drawn["images"]
    assert first["sentence_index"] is None

    await reader.send(
        {"type": "edit", "illustration_id": first["illustration_id"], "text": "I prefer darker"}
    )
    found = await _both(reader, "text", "illustrations")  # in whichever order they land
    read, edited = found["text"], found["illustrations"]
    assert read["text"].startswith("I read this as: a global change (dark, dim lighting)")
    [darker] = edited["images"]
    assert darker["sentence_index"] == 0 and darker["illustration_id"] != first["illustration_id"]
    parent_png, darker_png = await _picture(room, first["url"]), await _picture(room, darker["url"])
    assert luminance(darker_png) < luminance(parent_png)

    await reader.send(
        {"type": "edit", "illustration_id": darker["illustration_id"], "text": "undo"}
    )
    [undone] = (await reader.expect("illustrations"))["images"]
    assert undone["illustration_id"] == first["illustration_id"]

    # Joining later shows the current version, with its id for the next change.
    later = await room.open()
    await later.send({"type": "history"})
    story = await later.expect("story")
    [entry] = story["entries"]
    assert entry["illustrations"][0]["illustration_id"] == first["illustration_id"]


@pytest.mark.asyncio
async def test_candidates_arrive_inline_with_the_chosen_one_marked(room: Room) -> None:
    reader = await room.open()
    await reader.send({"type": "paragraph", "text": "A fox waits.", "client_id": "c1"})
    drawn = await reader.expect("illustrations")
    await reader.send({"type": "candidates", "paragraph_id": drawn["paragraph_id"]})
    shown = await reader.expect("candidates")
    assert len(shown["images"]) == 2
    assert sum(image["chosen"] for image in shown["images"]) == 1
    chosen = next(image for image in shown["images"] if image["chosen"])
    png = base64.b64decode(chosen["data_url"].removeprefix("data:image/png;base64,"))
    assert png == await _picture(room, drawn["images"][0]["url"])

    await reader.send({"type": "edit", "illustration_id": "nope", "text": "darker"})
    error = await reader.expect("error")
    assert "can't find that picture" in error["message"]
