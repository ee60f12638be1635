"""Edits by reply through the whole core: read, queued in story order, drawn, chained, undone."""

from __future__ import annotations

import numpy as np
import pytest

from core.edit.preference import story_preference
from core.events import (
    Author,
    EditRequested,
    MessageRef,
    PostIllustrations,
    PostText,
    Refused,
)
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import DIM, ScriptedEngine, luminance

pytestmark = pytest.mark.asyncio


async def _reply(chat: FakeAdapter, text: str, to: str) -> list:
    channel = chat.channel()
    event = EditRequested(
        channel,
        Author("bo", "Bo"),
        text=text,
        message_id=to,
        message=MessageRef(channel, f"reply-{text}-{len(chat.sent)}"),
    )
    return await chat.dispatch(event)


async def _illustrated(chat: FakeAdapter, text: str) -> tuple[PostIllustrations, str]:
    """Post a paragraph and wait for its illustrations; returns them and their message id."""
    before = len(chat.of_type(PostIllustrations))
    await chat.post(text)
    posts = await chat.wait_for(PostIllustrations, before + 1)
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    post = posts[before]
    return post, chat.message_of(post)


async def _edited(chat: FakeAdapter, text: str, to: str) -> PostIllustrations:
    before = len(chat.of_type(PostIllustrations))
    replies = await _reply(chat, text, to)
    assert not any(isinstance(r, Refused) for r in replies), replies
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    posts = chat.of_type(PostIllustrations)
    assert len(posts) == before + 1, [a for a in chat.sent if isinstance(a, PostText)]
    return posts[-1]


async def test_i_prefer_darker_draws_a_darker_child_and_keeps_the_preference(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    post, message = await _illustrated(chat, "The fox waits by the river.")
    parent = post.images[0]
    replies = await _reply(chat, "I prefer darker", message)
    assert "I read this as: a global change (dark, dim lighting) for this story" in (
        replies[0].text
    )
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    edited = chat.of_type(PostIllustrations)[-1]
    child = edited.images[0]
    assert luminance(child.png) < luminance(parent.png)
    request = engine.edits[-1]
    assert request.kind == "global" and request.tone.brightness < 1
    assert request.image == parent.png
    assert request.prompt.endswith("dark, dim lighting")

    record = await storage.illustrations.get(child.illustration_id)
    assert record.parent_id == parent.illustration_id
    assert record.provenance["edit_chain"] == [parent.illustration_id]
    assert record.provenance["request"] == "I prefer darker"
    assert await story_preference(storage, record.channel_key) == "dark, dim lighting"

    # The next paragraph's drawings carry the preference.
    await _illustrated(chat, "The moon rises.")
    assert engine.generate_calls[-1][0].prompt == "The moon rises., dark, dim lighting"


async def test_undo_redo_and_the_original_walk_the_chain(
    chat: FakeAdapter, storage: SQLiteStorage
) -> None:
    post, message = await _illustrated(chat, "The fox waits by the river.")
    root = post.images[0]
    darker_post = await _edited(chat, "make it darker", message)
    darker, darker_message = darker_post.images[0], chat.message_of(darker_post)
    winter = (await _edited(chat, "make it a winter night", darker_message)).images[0]
    assert (await storage.illustrations.get(winter.illustration_id)).provenance["edit_chain"] == [
        root.illustration_id,
        darker.illustration_id,
    ]

    undone = (await _edited(chat, "undo", message)).images[0]
    assert undone.illustration_id == darker.illustration_id
    assert undone.png == darker.png
    again = (await _edited(chat, "undo", message)).images[0]
    assert again.illustration_id == root.illustration_id
    await _reply(chat, "undo", message)
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    assert chat.of_type(PostText)[-1].text == "There's no edit to undo."

    redone = (await _edited(chat, "redo", message)).images[0]
    assert redone.illustration_id == darker.illustration_id
    original = (await _edited(chat, "show the original", darker_message)).images[0]
    assert original.illustration_id == root.illustration_id and original.png == root.png

    # The story page shows each sentence's current version.
    page = await chat.dispatch(_story_request(chat))
    [entry] = page[0].entries
    assert entry.illustrations[0][0] == darker.image_id


async def test_a_reply_can_name_one_of_several_pictures(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    post, message = await _illustrated(chat, "The fox waits. The owl watches.")
    assert len(post.images) == 2
    refused = await _reply(chat, "make it darker", message)
    assert isinstance(refused[0], Refused) and "2: make it darker" in refused[0].message
    edited = await _edited(chat, "2: make it darker", message)
    assert engine.edits[-1].image == post.images[1].png
    assert edited.images[0].caption.startswith("The owl watches.")


async def test_local_attribute_and_added_elements_reach_the_engine(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    _, message = await _illustrated(chat, "The knight rides home.")
    await _edited(chat, "give him slicked-back hair", message)
    request = engine.edits[-1]
    assert (request.kind, request.attribute, request.attribute_word) == (
        "attribute",
        "slicked-back hair",
        "hair",
    )
    assert "with slicked-back hair" in request.prompt
    await _edited(chat, "add a dog on the left", message)
    request = engine.edits[-1]
    assert (request.kind, request.element, request.region) == ("add", "a dog", (0.0, 0.3, 0.5, 1.0))
    names = {e.name for e in await storage.elements.list(chat.channel().key)}
    assert "dog" in names  # the library learns the new element


async def test_unclear_unknown_and_missing_targets_get_answers_not_guesses(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    _, message = await _illustrated(chat, "The fox waits.")
    [answer] = await _reply(chat, "make it better", message)
    assert isinstance(answer, PostText) and "Try for example" in answer.text
    [answer] = await _reply(chat, "animate it", message)
    assert "still pictures" in answer.text
    [answer] = await _reply(chat, "make it darker", "m999")
    assert isinstance(answer, Refused) and "can't find that picture" in answer.message
    assert engine.edits == []


def _story_request(chat: FakeAdapter):
    from core.events import StoryRequested

    return StoryRequested(chat.channel(), Author("bo", "Bo"))


async def test_a_quality_complaint_goes_to_the_restorer_and_can_be_undone(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    post, message = await _illustrated(chat, "The fox waits by the river.")
    root = post.images[0]
    enhanced = (await _edited(chat, "it's too blurry", message)).images[0]
    assert engine.restore_calls == [[root.png]] and engine.edits == []
    assert enhanced.caption == root.caption and enhanced.sentence_index == 0
    [kept] = await storage.feedback.list(chat.channel().key)
    assert kept.text == "it's too blurry" and kept.illustration_id == root.illustration_id
    undone = (await _edited(chat, "undo", message)).images[0]
    assert undone.illustration_id == root.illustration_id


async def test_redo_brings_back_the_last_undone_version_even_among_siblings(
    chat: FakeAdapter,
) -> None:
    post, message = await _illustrated(chat, "The fox waits by the river.")
    first = (await _edited(chat, "make it darker", message)).images[0]
    second = (await _edited(chat, "make it brighter", message)).images[0]  # also from the root
    assert (await _edited(chat, "undo", message)).images[0].illustration_id == first.illustration_id
    assert (await _edited(chat, "undo", message)).images[0].illustration_id == (
        post.images[0].illustration_id
    )
    assert (await _edited(chat, "redo", message)).images[0].illustration_id == first.illustration_id
    assert (await _edited(chat, "redo", message)).images[0].illustration_id == (
        second.illustration_id
    )
    # A new edit after an undo leaves nothing to redo.
    await _edited(chat, "undo", message)
    await _edited(chat, "make it a winter night", message)
    await _reply(chat, "redo", message)
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    assert chat.of_type(PostText)[-1].text == "There's no undone edit to bring back."


async def test_a_request_the_rules_cannot_place_is_read_by_its_nearest_prototype(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    from core.edit.prototypes import PROTOTYPES

    toward, away = np.eye(DIM, dtype=np.float32)[2], np.eye(DIM, dtype=np.float32)[3]
    for kind, phrases in PROTOTYPES.items():
        for phrase in phrases:
            engine.text_features[phrase] = toward if kind == "global" else away
    engine.text_features["make it more ominous"] = toward
    _, message = await _illustrated(chat, "The fox waits by the river.")
    [read] = await _reply(chat, "make it more ominous", message)
    assert read.text.startswith("I read this as: a global change (make it more ominous)")
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    assert engine.edits[-1].prompt.endswith(", make it more ominous")


async def test_new_kinds_are_read_and_drawn_end_to_end(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    pytest.importorskip("spacy")
    post, message = await _illustrated(chat, "Tom waits by the shop. He holds a bucket.")
    first = post.images[0]
    [read] = await _reply(chat, "1: zoom in a little", message)
    assert read.text.startswith("I read this as: zooming in.")
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    zoom = engine.edits[-1]
    from core.edit.effects import ZOOM_IN_STRENGTH, zoomed_in

    # The middle of the picture, redrawn lightly by img2img.
    assert (zoom.kind, zoom.strength) == ("global", ZOOM_IN_STRENGTH)
    assert zoom.image == zoomed_in(first.png)
    before = len(engine.edits)
    await _edited(chat, "1: move the shop to the left", message)
    assert [e.kind for e in engine.edits[before:]] == ["remove", "add"]
    assert engine.edits[-1].region == (0.0, 0.3, 0.5, 1.0)
    [read] = await _reply(chat, "1: that is not Tom, he has a grey beard", message)
    assert read.text.startswith("I read this as: a correction of tom: a grey beard")
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    fix = engine.edits[-1]
    assert (fix.kind, fix.attribute_word, fix.attribute) == ("attribute", "beard", "a grey beard")


async def test_the_encoder_reads_what_the_grammar_cannot_place(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    from core.edit.intents import read_phrasings
    from core.engine import Screening

    toward, away = np.eye(DIM)[2], np.eye(DIM)[3]
    for kind, phrase in read_phrasings():
        feature = toward if kind == "global" else away
        engine.screenings[phrase] = Screening(2, False, feature=tuple(feature))
    engine.screenings["set it all at sunrise"] = Screening(2, False, feature=tuple(toward))
    _, message = await _illustrated(chat, "The fox waits by the river.")
    [read] = await _reply(chat, "set it all at sunrise", message)
    assert read.text.startswith("I read this as: a global change (set it all at sunrise)")
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    assert engine.edits[-1].prompt.endswith(", set it all at sunrise")
