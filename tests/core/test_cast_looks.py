"""Drawing with the cast's looks: named elements bring their reference pictures to the engine,
at each channel's own strength, and "why" names them with the method that carried them."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from PIL import Image

from core.events import (
    Author,
    CandidatesRequested,
    CandidatesShown,
    CastLooksSet,
    ChannelSettings,
    ElementReferenceSet,
    LibraryShown,
    PostIllustrations,
    Refused,
    SettingsRequested,
    WhyRequested,
    WhyShown,
)
from core.story.looks import LOOKS_KEY, MOST_LOOKS, reference_of
from storage.base import ElementLook, ElementRecord
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import DIM, ScriptedEngine

ANA = Author("ana", "Ana")
NOW = datetime(2026, 12, 2, tzinfo=UTC)


def vec(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


def picture(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 160), colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def first_fox(chat, engine: ScriptedEngine) -> None:
    engine.text_features = {"red fox": vec(1, 0.2), "fox": vec(1, 0.2)}
    await chat.post("A red fox sleeps.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()


@pytest.mark.asyncio
async def test_a_named_or_pronoun_resolved_element_brings_its_look(
    chat, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await first_fox(chat, engine)
    assert all(request.looks == () for request in engine.generate_calls[0]), "no look yet"
    [fox] = await storage.elements.list("fake:story")
    [crop] = fox.references
    await chat.post("The fox runs. He sleeps. The moon rises.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    runs, sleeps, moon = engine.generate_calls[-1]
    for request in (runs, sleeps):
        [look] = request.looks
        assert (look.element, look.image_id) == ("fox", crop.image_id)
        assert look.image == await storage.images.get(crop.image_id)
        assert request.look_strength == 0.6, "story.cast.look_strength"
    assert moon.looks == ()


@pytest.mark.asyncio
async def test_why_names_the_looks_their_strength_and_method(chat, engine: ScriptedEngine) -> None:
    await first_fox(chat, engine)
    await chat.post("The fox runs.")
    [_, posted] = await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    [shown] = await chat.dispatch(WhyRequested(chat.channel(), ANA, posted.paragraph_id))
    assert isinstance(shown, WhyShown)
    [detail] = shown.illustrations
    assert detail["looks"] == ["fox"]
    assert detail["look_strength"] == 0.6
    assert detail["look_method"] == "scripted looks"
    # The candidates drawn again carry the same looks, from the recorded reference pictures.
    drawn_with = engine.generate_calls[-1][0].looks
    await chat.dispatch(CandidatesRequested(chat.channel(), ANA, posted.paragraph_id))
    await chat.wait_for(CandidatesShown)
    assert engine.generate_calls[-1][0].looks == drawn_with
    assert engine.generate_calls[-1][0].look_strength == 0.6


@pytest.mark.asyncio
async def test_each_channel_has_its_own_strength_and_zero_is_off(
    chat, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    for room in ("story", "other"):
        engine.text_features = {"red fox": vec(1, 0.2), "fox": vec(1, 0.2)}
        await chat.post("A red fox sleeps.", channel=room)
        await chat.wait_for(PostIllustrations, count=1 if room == "story" else 2)
        await chat.inkwell.idle()
    [shown] = await chat.dispatch(CastLooksSet(chat.channel("story"), ANA, 0.0))
    assert isinstance(shown, LibraryShown) and shown.look_strength == 0.0
    assert "turned the cast's looks off" in shown.message
    [shown] = await chat.dispatch(CastLooksSet(chat.channel("other"), ANA, 1.5))
    assert isinstance(shown, LibraryShown) and shown.look_strength == 1.5
    record = await storage.channels.get("fake:other")
    assert record is not None and record.settings[LOOKS_KEY] == 1.5
    await chat.post("The fox runs.", channel="story")
    await chat.post("The fox runs.", channel="other")
    await chat.wait_for(PostIllustrations, count=4)
    await chat.inkwell.idle()
    drawn = {
        call[0].prompt + str(call[0].look_strength): call[0] for call in engine.generate_calls[-2:]
    }
    off, strong = drawn["The red fox runs.0.0"], drawn["The red fox runs.1.5"]
    assert off.looks == () and [look.element for look in strong.looks] == ["fox"]


@pytest.mark.asyncio
async def test_the_strength_is_checked_shown_and_listed_in_settings(chat) -> None:
    [refused] = await chat.dispatch(CastLooksSet(chat.channel(), ANA, 2.5))
    assert isinstance(refused, Refused) and "from 0 (off) to 2" in refused.message
    [shown] = await chat.dispatch(CastLooksSet(chat.channel(), ANA, None))
    assert isinstance(shown, LibraryShown) and shown.look_strength == 0.6
    await chat.dispatch(CastLooksSet(chat.channel(), ANA, 0.8))
    [settings] = await chat.dispatch(SettingsRequested(chat.channel(), ANA))
    assert isinstance(settings, ChannelSettings) and settings.look_strength == 0.8


@pytest.mark.asyncio
async def test_a_writers_reference_picture_is_the_look_drawn_with(
    chat, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await first_fox(chat, engine)
    upload = picture((20, 40, 200))
    await chat.dispatch(ElementReferenceSet(chat.channel(), ANA, "fox", image=upload))
    await chat.post("The fox runs.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    [request] = engine.generate_calls[-1]
    [look] = request.looks
    [fox] = await storage.elements.list("fake:story")
    [uploaded] = [r for r in fox.references if r.illustration_id is None]
    assert fox.pinned and look.image_id == uploaded.image_id, "the writer's own picture"


def element(references: tuple[ElementLook, ...], look=None, pinned=False) -> ElementRecord:
    return ElementRecord(
        "web:tale", "fox", "character", vec(1), 2, NOW, NOW,
        pinned=pinned, look=look, references=references,
    )  # fmt: skip


def test_the_reference_is_the_pinned_upload_else_the_crop_most_like_the_look() -> None:
    near = ElementLook("near", vec(1, 0.1), "ill-1")
    far = ElementLook("far", vec(0, 1), "ill-2")
    upload = ElementLook("upload", vec(0, 0, 1), None)
    assert reference_of(element(())) is None
    assert reference_of(element((far, near), look=vec(1))) is near
    assert reference_of(element((far, near))) is near, "without a look: the latest"
    assert reference_of(element((near, upload, far), look=vec(1), pinned=True)) is upload
    assert reference_of(element((near, upload, far), look=vec(0, 0, 1))) is upload


@pytest.mark.asyncio
async def test_a_picture_names_at_most_a_few_looks(storage: SQLiteStorage) -> None:
    from core.story.looks import CastLooks

    elements = []
    for number in range(MOST_LOOKS + 2):
        image_id = await storage.images.put(picture((number * 30, 0, 0)))
        reference = ElementLook(image_id, vec(1), "ill-1")
        elements.append(element((reference,)))
    looks = CastLooks(storage, 1.0)
    assert len(await looks.of(elements)) == MOST_LOOKS
    assert await CastLooks(storage, 0.0).of(elements) == ()
