"""A channel's style reference, as a conversation: set, show, strength, clear, and what it draws."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image

from core.events import (
    Author,
    PostError,
    PostIllustrations,
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleReferenceSet,
    StyleReferenceShown,
    StyleStrengthSet,
)
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

ANA = Author("ana", "Ana")
BO = Author("bo", "Bo")


def picture(colour: str = "teal", size: tuple[int, int] = (256, 192)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


async def say(chat: FakeAdapter, event: object) -> StyleReferenceShown:
    [reply] = await chat.dispatch(event)  # type: ignore[arg-type]
    assert isinstance(reply, StyleReferenceShown), reply
    return reply


@pytest.mark.asyncio
async def test_set_show_strength_clear(chat: FakeAdapter, storage: SQLiteStorage) -> None:
    room = chat.channel()
    shown = await say(chat, StyleReferenceRequested(room, ANA))
    assert shown.image_id is None and not shown.changed
    assert "no style reference" in shown.message

    shown = await say(chat, StyleReferenceSet(room, ANA, image=picture()))
    assert shown.changed and shown.image_id and shown.set_by == "Ana"
    assert "later illustrations are drawn like it" in shown.message
    assert "Earlier illustrations keep" in shown.message
    assert shown.note == ""  # the scripted engine says its branch is trained
    stored = await storage.images.get(shown.image_id)
    assert stored is not None and Image.open(io.BytesIO(stored)).size == (256, 192)

    again = await say(chat, StyleReferenceRequested(room, BO))
    assert (again.image_id, again.strength, again.changed) == (shown.image_id, 1.0, False)
    assert "Ana" in again.message

    stronger = await say(chat, StyleStrengthSet(room, BO, strength=1.5))
    assert (stronger.image_id, stronger.strength, stronger.changed) == (shown.image_id, 1.5, True)

    cleared = await say(chat, StyleReferenceCleared(room, BO))
    assert cleared.changed and cleared.image_id is None
    assert cleared.strength == 1.5, "the strength outlives the reference"
    assert "Bo cleared" in cleared.message
    nothing = await say(chat, StyleReferenceCleared(room, BO))
    assert not nothing.changed and "no style reference to clear" in nothing.message


@pytest.mark.asyncio
async def test_later_paragraphs_use_the_style_and_earlier_ones_keep_theirs(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    room = chat.channel()
    await chat.post("A fox in the snow.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    first = await say(chat, StyleReferenceSet(room, ANA, image=picture("orange")))
    await chat.post("An owl watches.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    second = await say(chat, StyleReferenceSet(room, BO, image=picture("purple")))
    await say(chat, StyleStrengthSet(room, BO, strength=0.5))
    await chat.post("The moon rises.")
    await chat.wait_for(PostIllustrations, count=3)
    await chat.inkwell.idle()
    await say(chat, StyleReferenceCleared(room, ANA))
    await chat.post("Morning comes.")
    await chat.wait_for(PostIllustrations, count=4)
    await chat.inkwell.idle()

    styles = [{r.style for r in call} for call in engine.generate_calls]
    assert styles[0] == {None} and styles[3] == {None}
    [orange] = styles[1]
    [purple] = styles[2]
    assert (orange.image_id, orange.strength) == (first.image_id, 1.0)
    assert (purple.image_id, purple.strength) == (second.image_id, 0.5)
    assert orange.image == await storage.images.get(first.image_id)

    # Provenance is written when a picture is drawn and never rewritten by a later change.
    paragraphs = await storage.paragraphs.page(room.key, None, 10)
    drawn = await storage.illustrations.for_paragraphs([p.id for p in paragraphs])
    refs = [drawn[p.id][0].provenance["style_ref"] for p in paragraphs]
    assert refs == [None, first.image_id, second.image_id, None]


@pytest.mark.asyncio
async def test_strength_zero_draws_unstyled(chat: FakeAdapter, engine: ScriptedEngine) -> None:
    room = chat.channel()
    await say(chat, StyleReferenceSet(room, ANA, image=picture()))
    await say(chat, StyleStrengthSet(room, ANA, strength=0))
    await chat.post("A quiet lake.")
    await chat.wait_for(PostIllustrations)
    assert {r.style for r in engine.generate_calls[0]} == {None}


@pytest.mark.asyncio
async def test_bad_input_is_refused_with_a_message(chat: FakeAdapter) -> None:
    room = chat.channel()
    [refused] = await chat.dispatch(StyleReferenceSet(room, ANA, image=b"not a picture"))
    assert isinstance(refused, PostError) and "isn't a picture" in refused.message
    [tiny] = await chat.dispatch(StyleReferenceSet(room, ANA, image=picture(size=(40, 40))))
    assert isinstance(tiny, PostError) and "40×40" in tiny.message
    for strength in (-0.1, 2.5, float("nan"), float("inf")):
        [bad] = await chat.dispatch(StyleStrengthSet(room, ANA, strength=strength))
        assert isinstance(bad, PostError) and "from 0 (off) to 2" in bad.message
    shown = await say(chat, StyleReferenceRequested(room, ANA))
    assert shown.image_id is None and shown.strength == 1.0


@pytest.mark.asyncio
async def test_writers_are_told_when_styles_cannot_take_effect(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    room = chat.channel()
    engine.style_branch = "untrained"  # type: ignore[assignment]
    shown = await say(chat, StyleReferenceSet(room, ANA, image=picture()))
    assert "no trained style branch" in shown.note and "scripted" in shown.note
    engine.style_branch = "random"  # type: ignore[assignment]
    shown = await say(chat, StyleReferenceRequested(room, ANA))
    assert "random weights" in shown.note
    engine.style_branch = "ip-adapter"  # type: ignore[assignment]
    shown = await say(chat, StyleReferenceRequested(room, ANA))
    assert "IP-Adapter on the style layers only (InstantStyle)" in shown.note


def test_style_modules_load_no_heavy_library() -> None:
    code = (
        "import sys, core.style.commands, core.style.settings, core.style.reference\n"
        "print(','.join(m for m in ('torch', 'diffusers', 'torchvision') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
