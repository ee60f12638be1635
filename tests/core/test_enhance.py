"""Enhancing an illustration: the complaint is kept, the restorer runs, a new version is posted."""

from __future__ import annotations

import pytest

from core.events import (
    Author,
    EnhanceRequested,
    PostError,
    PostIllustrations,
    PostText,
    Refused,
    StoryPage,
    StoryRequested,
)
from core.feedback.enhance import FEEDBACK_KEPT, IMG2IMG_NOTE, UNTRAINED_NOTE
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

ANA = Author("ana", "Ana")


async def _illustrated(chat: FakeAdapter) -> PostIllustrations:
    await chat.post("A fox in the snow. An owl watches.")
    [posted] = await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    return posted


@pytest.mark.asyncio
async def test_a_complaint_is_kept_and_the_restored_picture_posted_as_a_new_version(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    posted = await _illustrated(chat)
    original = posted.images[1]
    replies = await chat.dispatch(
        EnhanceRequested(chat.channel(), ANA, original.illustration_id, complaint="too blurry")
    )
    assert replies == []
    assert engine.restore_calls == [[original.png]]
    enhanced = chat.of_type(PostIllustrations)[-1]
    [image] = enhanced.images
    assert image.parent_id == original.illustration_id
    assert image.caption == original.caption
    assert image.sentence_index == 1  # replaces the owl's picture only
    assert image.png != original.png
    assert await storage.images.get(image.image_id) == image.png

    [feedback] = await storage.feedback.list(chat.channel().key)
    assert (feedback.text, feedback.label, feedback.target_text) == ("too blurry", 1, "sharp")
    assert feedback.illustration_id == original.illustration_id
    assert feedback.image_id == original.image_id
    assert feedback.author_id == "ana"

    # The story now shows the enhanced version in place of the original, with its id.
    [page] = [a for a in await chat.dispatch(StoryRequested(chat.channel(), ANA))]
    assert isinstance(page, StoryPage)
    entry = page.entries[0]
    assert entry.illustration_ids[1] == image.illustration_id
    assert entry.illustrations[1][0] == image.image_id
    assert entry.illustration_ids[0] == posted.images[0].illustration_id


@pytest.mark.asyncio
async def test_an_untrained_restorer_is_announced_and_recorded(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    posted = await _illustrated(chat)
    engine.restorer_state = "untrained"
    replies = await chat.dispatch(
        EnhanceRequested(chat.channel(), ANA, posted.images[0].illustration_id)
    )
    assert replies == [PostText(chat.channel(), UNTRAINED_NOTE, posted.paragraph_id)]
    replies = await chat.dispatch(
        EnhanceRequested(chat.channel(), ANA, posted.images[0].illustration_id, "grainy")
    )
    note = UNTRAINED_NOTE + FEEDBACK_KEPT
    assert replies == [PostText(chat.channel(), note, posted.paragraph_id)]
    records = (await storage.illustrations.for_paragraphs([posted.paragraph_id]))[
        posted.paragraph_id
    ]
    restored = [r for r in records if "restorer" in r.provenance]
    assert len(restored) == 2 and {r.provenance["restorer"] for r in restored} == {"untrained"}


@pytest.mark.asyncio
async def test_enhance_by_img2img_names_its_method(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    posted = await _illustrated(chat)
    engine.restorer_state = "img2img"
    replies = await chat.dispatch(
        EnhanceRequested(chat.channel(), ANA, posted.images[0].illustration_id)
    )
    note = IMG2IMG_NOTE.format(profile=engine.profile_name)
    assert replies == [PostText(chat.channel(), note, posted.paragraph_id)]
    assert "img2img at low strength" in note and engine.profile_name in note
    records = (await storage.illustrations.for_paragraphs([posted.paragraph_id]))[
        posted.paragraph_id
    ]
    [enhanced] = [r for r in records if "restorer" in r.provenance]
    assert enhanced.provenance["restorer"] == "img2img"


@pytest.mark.asyncio
async def test_a_failed_restore_keeps_the_feedback_and_says_so(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    posted = await _illustrated(chat)
    engine.restore_error = RuntimeError("out of memory")
    replies = await chat.dispatch(
        EnhanceRequested(
            chat.channel(), ANA, posted.images[0].illustration_id, "her face is not clear"
        )
    )
    [error] = replies
    assert isinstance(error, PostError)
    assert "couldn't enhance" in error.message and "feedback is saved" in error.message
    [feedback] = await storage.feedback.list()
    assert feedback.target_text == "her face is clear"
    assert len(chat.of_type(PostIllustrations)) == 1


@pytest.mark.asyncio
async def test_pictures_of_other_stories_or_unknown_ones_are_refused(
    chat: FakeAdapter, storage: SQLiteStorage
) -> None:
    posted = await _illustrated(chat)
    mine = posted.images[0].illustration_id
    for channel, illustration in ((chat.channel("other"), mine), (chat.channel(), "nope:0")):
        [refused] = await chat.dispatch(EnhanceRequested(channel, ANA, illustration, "noisy"))
        assert isinstance(refused, Refused)
    assert await storage.feedback.list() == []
