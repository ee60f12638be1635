"""The story room's Enhance button over a real websocket: the new version reaches everyone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.adapters.test_web_room import Room, _room


@pytest_asyncio.fixture
async def room(tmp_path: Path) -> AsyncIterator[Room]:
    async with _room(tmp_path, token="") as made:
        yield made


@pytest.mark.asyncio
async def test_enhance_posts_a_new_version_that_replaces_its_parent(room: Room) -> None:
    writer = await room.open()
    other = await room.open()
    await writer.send({"type": "paragraph", "text": "A fox in the snow.", "client_id": "c1"})
    accepted = await writer.expect("accepted")
    drawn = await other.expect("illustrations", paragraph_id=accepted["paragraph_id"])
    [original] = drawn["images"]
    assert "parent_id" not in original

    await writer.send(
        {"type": "enhance", "illustration_id": original["illustration_id"], "complaint": "noisy"}
    )
    enhanced = await other.expect("illustrations", paragraph_id=accepted["paragraph_id"])
    [image] = enhanced["images"]
    assert image["parent_id"] == original["illustration_id"]
    assert image["url"] != original["url"]
    async with room.session.get(room.base + image["url"]) as response:
        assert response.status == 200 and response.content_type == "image/png"

    # A reader arriving later sees the new version, with its id for the next Enhance.
    late = await room.open()
    await late.send({"type": "history"})
    story = await late.expect("story")
    [shown] = story["entries"][-1]["illustrations"]
    assert shown == {
        "url": image["url"],
        "caption": image["caption"],
        "illustration_id": image["illustration_id"],
    }


@pytest.mark.asyncio
async def test_enhance_without_a_picture_is_answered(room: Room) -> None:
    writer = await room.open()
    await writer.send({"type": "enhance", "client_id": "c9"})
    error = await writer.expect("error")
    assert error["message"] == "Pick the picture to enhance."
    await writer.send({"type": "enhance", "illustration_id": "nope:0"})
    refused = await writer.expect("error")
    assert refused["message"] == "That picture isn't part of this story."
