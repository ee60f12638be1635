"""Seed 001 through the core: reading the text, the composed mode, its stages, "why", edits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.compose.drawing import CUTOUTS_KEY
from core.compose.mode import MODE_KEY
from core.compose.reading import read_scene
from core.compose.tables import TableError, load_tables
from core.edit.vocabulary import DEFAULT_PLACE
from core.events import (
    Author,
    ChannelSettings,
    DrawingModeRequested,
    EditRequested,
    MessageRef,
    PostIllustrations,
    PostText,
    Refused,
    SettingsRequested,
    WhyRequested,
    WhyShown,
)
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

SAD = "The fox cried alone in the snowy forest."


# ---------------------------------------------------------------- reading the text


def test_background_and_foreground_elements_by_the_word_table_and_the_cast() -> None:
    tables = load_tables()
    reading = read_scene("A red fox and a small boat in the harbour.", tables)
    assert reading.background == ("harbour",)
    assert reading.foreground == ("red fox", "small boat")
    # The story's cast decides first: a place in the cast is background.
    cast = read_scene("The fox sat by the Old Mill.", tables, {"old mill": "environment"})
    assert cast.background == ("old mill",) and cast.foreground == ("fox",)


def test_emotion_words_in_the_story_become_picture_elements_and_choose_the_style() -> None:
    reading = read_scene(SAD, load_tables())
    assert reading.emotions == ("sad",)
    assert reading.emotion_elements[:2] == ("dark clouds", "light rain")
    assert reading.style == "muted watercolor, soft grey light"
    assert reading.style_from == "emotion:sad"
    assert "dark clouds" in reading.background_prompt()


def test_topic_words_expand_into_picture_elements() -> None:
    reading = read_scene("It was her birthday, and the girl laughed.", load_tables())
    assert reading.topic_elements == ("cake", "balloons")
    assert "birthday" not in reading.foreground
    assert set(reading.foreground) == {"girl", "cake", "balloons"}
    assert reading.style_from == "emotion:happy"


def test_without_emotion_the_style_follows_the_elements_then_the_default() -> None:
    tables = load_tables()
    assert read_scene("The dragon sleeps.", tables).style == "epic fantasy painting"
    assert read_scene("The cat sleeps.", tables).style_from == "*"


def test_the_tables_are_configurable_and_checked(tmp_path: Path) -> None:
    (tmp_path / "styles.tsv").write_text("element:cat\tpencil sketch\n*\tplain\n")
    tables = load_tables(str(tmp_path))
    assert read_scene("The cat sleeps.", tables).style == "pencil sketch"
    assert tables.layers == load_tables().layers  # a missing file keeps the shipped one
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "elements.tsv").write_text("fox\tmiddle\n")
    with pytest.raises(TableError, match="layer 'middle'"):
        load_tables(str(bad))


# ---------------------------------------------------------------- the composed mode


async def _mode(chat: FakeAdapter, mode: str) -> list:
    return await chat.dispatch(DrawingModeRequested(chat.channel(), Author("ana", "Ana"), mode))


async def _illustrated(chat: FakeAdapter, text: str) -> tuple[PostIllustrations, str]:
    before = len(chat.of_type(PostIllustrations))
    await chat.post(text)
    posts = await chat.wait_for(PostIllustrations, before + 1)
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    return posts[before], chat.message_of(posts[before])


async def _edited(chat: FakeAdapter, text: str, to: str) -> PostIllustrations:
    channel = chat.channel()
    before = len(chat.of_type(PostIllustrations))
    replies = await chat.dispatch(
        EditRequested(
            channel,
            Author("bo", "Bo"),
            text=text,
            message_id=to,
            message=MessageRef(channel, f"reply-{len(chat.sent)}"),
        )
    )
    assert not any(isinstance(r, Refused) for r in replies), replies
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    posts = chat.of_type(PostIllustrations)
    assert len(posts) == before + 1, [a for a in chat.sent if isinstance(a, PostText)]
    return posts[-1]


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.asyncio
async def test_the_mode_is_shown_set_and_checked(chat: FakeAdapter) -> None:
    [shown] = await _mode(chat, "")
    assert "drawn in the direct mode" in shown.text
    [settings] = await chat.dispatch(SettingsRequested(chat.channel(), Author("ana", "Ana")))
    assert isinstance(settings, ChannelSettings) and settings.drawing_mode == "direct"
    [changed] = await _mode(chat, "Composed")
    assert "Ana set the drawing mode to composed" in changed.text
    [settings] = await chat.dispatch(SettingsRequested(chat.channel(), Author("ana", "Ana")))
    assert settings.drawing_mode == "composed"
    [refused] = await _mode(chat, "collage")
    assert isinstance(refused, Refused) and "no drawing mode 'collage'" in refused.message


@pytest.mark.asyncio
async def test_a_composed_paragraph_records_every_stage(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _mode(chat, "composed")
    post, _ = await _illustrated(chat, SAD)
    # The first drawing carries what the emotion adds to the picture.
    prompt = engine.generate_calls[0][0].prompt
    assert prompt.startswith(SAD) and "dark clouds, light rain" in prompt
    [request] = engine.compositions
    assert [e.word for e in request.foreground] == ["fox"]
    assert request.background_prompt.startswith("snowy forest, dark clouds, light rain")
    assert request.style == "muted watercolor, soft grey light"
    record = await storage.illustrations.get(post.images[0].illustration_id)
    assert record.provenance["drawing_mode"] == "composed"
    composition = record.provenance["composition"]
    assert composition["reading"]["emotions"] == ["sad"]
    assert composition["initial_prompt"] == prompt
    stages = composition["stages"]
    for stage in ("initial", "background", "merged", "sketch"):
        assert await storage.images.get(stages[stage]) is not None
    assert len(stages["cutouts"]) == 1
    assert post.images[0].png != await storage.images.get(stages["initial"])

    why = await chat.dispatch(WhyRequested(chat.channel(), Author("ana", "Ana"), post.paragraph_id))
    [shown] = [a for a in why if isinstance(a, WhyShown)]
    assert shown.illustrations[0]["drawing_mode"] == "composed"
    assert shown.illustrations[0]["composition"]["style"] == "muted watercolor, soft grey light"

    # The fox drawn alone is the story's now: the next picture merges it as drawn.
    channel = await storage.channels.get(record.channel_key)
    assert set(channel.settings[CUTOUTS_KEY]) == {"fox"}
    await _illustrated(chat, "The fox sleeps by the river.")
    fox = engine.compositions[-1].foreground[0]
    assert fox.word == "fox" and fox.cutout == await storage.images.get(stages["cutouts"][0])


@pytest.mark.asyncio
async def test_direct_mode_draws_no_composition(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    post, message = await _illustrated(chat, SAD)
    assert not engine.compositions
    record = await storage.illustrations.get(post.images[0].illustration_id)
    assert "composition" not in record.provenance or record.provenance["composition"] is None
    # Direct pictures keep today's edits.
    await _edited(chat, "add a dog on the left", message)
    assert engine.edits[-1].kind == "add" and not engine.compositions


@pytest.mark.asyncio
async def test_a_new_foreground_element_reuses_the_unchanged_background(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _mode(chat, "composed")
    post, message = await _illustrated(chat, SAD)
    parent = await storage.illustrations.get(post.images[0].illustration_id)
    background = await storage.images.get(parent.provenance["composition"]["stages"]["background"])
    edited = await _edited(chat, "add a cat", message)
    request = engine.compositions[-1]
    assert not engine.edits  # no pixel edit: the composition was re-entered
    assert request.background == background and not request.redraw_background
    assert [e.word for e in request.foreground] == ["fox", "cat"]
    fox, cat = request.foreground
    assert fox.cutout is not None and fox.box is not None  # merged again as drawn, where it was
    assert cat.cutout is None and cat.box == DEFAULT_PLACE
    child = await storage.illustrations.get(edited.images[0].illustration_id)
    assert child.parent_id == parent.id
    assert child.provenance["composition"]["background"]["how"] == "reused, not redrawn"
    assert child.provenance["composition"]["additional_input"] == "add: cat"
    # The new version keeps its stages: it can be edited stage by stage again.
    assert np.array_equal(
        pixels(await storage.images.get(child.provenance["composition"]["stages"]["background"])),
        pixels(background),
    )


@pytest.mark.asyncio
async def test_a_new_background_element_redraws_the_background_and_merges_again(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _mode(chat, "composed")
    post, message = await _illustrated(chat, SAD)
    parent = await storage.illustrations.get(post.images[0].illustration_id)
    await _edited(chat, "add a moon in the sky", message)
    request = engine.compositions[-1]
    assert request.redraw_background and request.background is None
    # The previous background is the reference the new one is drawn from.
    old = await storage.images.get(parent.provenance["composition"]["stages"]["background"])
    assert request.initial == old
    assert request.background_prompt.endswith(", moon")
    assert [e.word for e in request.foreground] == ["fox"]
    assert request.foreground[0].cutout is not None


@pytest.mark.asyncio
async def test_a_style_preference_renders_again_with_everything_else_kept(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _mode(chat, "composed")
    _, message = await _illustrated(chat, SAD)
    first = engine.compositions[-1]
    await _edited(chat, "I prefer darker", message)
    request = engine.compositions[-1]
    assert request.style == f"{first.style}, dark, dim lighting"
    assert request.background is not None and not request.redraw_background
    assert all(e.cutout is not None for e in request.foreground)


@pytest.mark.asyncio
async def test_removing_a_foreground_element_merges_the_rest(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    await _mode(chat, "composed")
    _, message = await _illustrated(chat, "A red fox and a small boat in the harbour.")
    assert [e.word for e in engine.compositions[-1].foreground] == ["fox", "boat"]
    await _edited(chat, "remove the boat", message)
    request = engine.compositions[-1]
    assert [e.word for e in request.foreground] == ["fox"]
    assert request.background is not None


@pytest.mark.asyncio
async def test_the_cutouts_setting_can_turn_reuse_off(storage: SQLiteStorage) -> None:
    from dataclasses import replace

    from core.inbox import InboxSettings
    from core.inkwell import Inkwell
    from core.story.settings import StorySettings

    engine = ScriptedEngine()
    settings = StorySettings(candidates=2, progress_interval_s=0)
    settings = replace(settings, compose=replace(settings.compose, reuse_cutouts=False))
    inkwell = Inkwell(engine, storage, settings, InboxSettings(retry_backoff_s=0))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    chat.inkwell = inkwell  # type: ignore[attr-defined]
    try:
        await _mode(chat, "composed")
        await _illustrated(chat, SAD)
        await _illustrated(chat, "The fox sleeps.")
        assert engine.compositions[-1].foreground[0].cutout is None
        channel = await storage.channels.get(chat.channel().key)
        assert CUTOUTS_KEY not in channel.settings
        assert channel.settings[MODE_KEY] == "composed"
    finally:
        await inkwell.stop()


@pytest.mark.asyncio
async def test_the_byte_budget_counts_and_removes_the_stages_but_keeps_the_cast_cutouts(
    storage: SQLiteStorage,
) -> None:
    from dataclasses import replace

    from core.inbox import InboxSettings
    from core.inkwell import Inkwell
    from core.story.settings import StorySettings

    engine = ScriptedEngine()
    settings = replace(StorySettings(candidates=2, progress_interval_s=0), max_image_bytes=1)
    inkwell = Inkwell(engine, storage, settings, InboxSettings(retry_backoff_s=0))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    chat.inkwell = inkwell  # type: ignore[attr-defined]
    try:
        await _mode(chat, "composed")
        first, _ = await _illustrated(chat, SAD)
        record = await storage.illustrations.get(first.images[0].illustration_id)
        stages = record.provenance["composition"]["stages"]
        # Removed at once (a 1-byte budget), the picture with every stage picture.
        assert not record.image_id
        for image_id in [stages["initial"], stages["background"], *stages["cutouts"]]:
            assert await storage.images.get(image_id) is None
        # The story's own copy of the fox alone stays for later pictures.
        channel = await storage.channels.get(record.channel_key)
        assert await storage.images.get(channel.settings[CUTOUTS_KEY]["fox"]) is not None
        await _illustrated(chat, "The fox sleeps.")
        assert engine.compositions[-1].foreground[0].cutout is not None
    finally:
        await inkwell.stop()


@pytest.mark.asyncio
async def test_a_composed_pictures_candidates_are_its_first_drawings(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    from core.events import CandidatesRequested, CandidatesShown

    await _mode(chat, "composed")
    post, _ = await _illustrated(chat, SAD)
    drawn = engine.generate_calls[-1][0]
    await chat.dispatch(CandidatesRequested(chat.channel(), Author("bo", "Bo"), post.paragraph_id))
    await chat.wait_for(CandidatesShown)
    again = engine.generate_calls[-1][0]
    assert (again.prompt, again.seeds) == (drawn.prompt, drawn.seeds)
