"""A story's pictures stay within its byte budget: the oldest go, the story text stays."""

from __future__ import annotations

import pytest

from core.events import Author, PostIllustrations, StoryRequested
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine, _png


@pytest.mark.asyncio
async def test_old_pictures_make_room_for_new_ones(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    picture_size = len(_png(0, 0, 0))  # the scripted engine's pictures are all about this size
    budget = 2 * picture_size + picture_size // 2  # room for two pictures, not three
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2, max_image_bytes=budget))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    for night in ("The first night.", "The second night.", "The third night."):
        await chat.post(night)
    posted = await chat.wait_for(PostIllustrations, count=3)
    await inkwell.idle()

    kept = [await storage.images.get(p.images[0].image_id) is not None for p in posted]
    assert kept == [False, True, True]
    assert await storage.illustrations.image_bytes("fake:story") <= budget
    [page] = await chat.dispatch(StoryRequested(chat.channel(), Author("ana", "Ana")))
    assert [e.text for e in page.entries] == [
        "The first night.",
        "The second night.",
        "The third night.",
    ]
    assert [len(e.illustrations) for e in page.entries] == [0, 1, 1]
    await inkwell.stop()
