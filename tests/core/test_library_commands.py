"""Writers see and steer the element library, and ask why a picture was chosen."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.engine import Screening
from core.events import (
    Author,
    ElementDescribeRequested,
    ElementForgetRequested,
    ElementMergeRequested,
    ElementPinRequested,
    ElementPronounRequested,
    ElementReferenceSet,
    ElementRenameRequested,
    LibraryRequested,
    LibraryShown,
    PostError,
    PostIllustrations,
    Refused,
    WhyRequested,
    WhyShown,
)
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import DIM, ScriptedEngine

ANA = Author("ana", "Ana")


def vec(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


async def _story_with_fox_and_hound(chat: FakeAdapter, engine: ScriptedEngine) -> str:
    # Names close to every picture, so both are seen in the drawing and enter the library.
    engine.text_features = {"fox": vec(1, 0.2), "hound": vec(1, 0.3)}
    [accepted] = await chat.post("A fox meets a hound.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    return accepted.entry.paragraph_id


async def _library(chat: FakeAdapter, event) -> LibraryShown:
    [shown] = await chat.dispatch(event)
    assert isinstance(shown, LibraryShown), shown
    return shown


@pytest.mark.asyncio
async def test_the_library_lists_what_was_drawn_with_a_thumbnail(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _story_with_fox_and_hound(chat, engine)
    shown = await _library(chat, LibraryRequested(chat.channel(), ANA))
    assert sorted(e.name for e in shown.elements) == ["fox", "hound"]
    # Each element's thumbnail is its own crop of the picture it was first drawn in.
    thumbnails = [e.thumbnail_image_id for e in shown.elements]
    assert len(set(thumbnails)) == 2 and None not in thumbnails
    assert [e.references for e in shown.elements] == [(t,) for t in thumbnails]
    for image_id in thumbnails:
        assert await storage.images.get(image_id) is not None


@pytest.mark.asyncio
async def test_writers_describe_give_pronouns_and_upload_references(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _story_with_fox_and_hound(chat, engine)
    described = await _library(
        chat, ElementDescribeRequested(chat.channel(), ANA, "fox", " red,  with a hat ")
    )
    assert described.message == "fox is now drawn as: red, with a hat."
    [fox] = [e for e in described.elements if e.name == "fox"]
    assert fox.description == "red, with a hat"
    [refused] = await chat.dispatch(ElementDescribeRequested(chat.channel(), ANA, "fox", "x" * 201))
    assert isinstance(refused, Refused) and "at most 200" in refused.message

    told = await _library(chat, ElementPronounRequested(chat.channel(), ANA, "hound", "She"))
    assert [e.pronoun for e in told.elements if e.name == "hound"] == ["she"]
    [refused] = await chat.dispatch(ElementPronounRequested(chat.channel(), ANA, "fox", "thou"))
    assert isinstance(refused, Refused)

    upload = io.BytesIO()
    Image.new("RGB", (160, 160), (200, 40, 40)).save(upload, format="PNG")
    shown = await _library(
        chat, ElementReferenceSet(chat.channel(), ANA, "fox", upload.getvalue(), "fox.png")
    )
    assert "reference picture" in shown.message
    [fox] = [e for e in shown.elements if e.name == "fox"]
    assert fox.pinned and len(fox.references) == 2
    assert fox.thumbnail_image_id == fox.references[-1], "the upload is shown"
    stored = await storage.elements.get("fake:story", "fox")
    [feature] = await engine.embed_images([await storage.images.get(fox.references[-1])])
    np.testing.assert_allclose(stored.look, feature, atol=1e-6)
    [error] = await chat.dispatch(
        ElementReferenceSet(chat.channel(), ANA, "fox", b"not a picture", "x.txt")
    )
    assert isinstance(error, PostError)


@pytest.mark.asyncio
async def test_rename_merge_pin_and_forget(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    await _story_with_fox_and_hound(chat, engine)
    renamed = await _library(chat, ElementRenameRequested(chat.channel(), ANA, "Fox", "Reynard"))
    assert "Renamed 'fox' to 'reynard'" in renamed.message
    reynard = await storage.elements.get("fake:story", "reynard")
    assert reynard is not None and "fox" in reynard.aliases

    merged = await _library(chat, ElementMergeRequested(chat.channel(), ANA, "hound", "fox"))
    assert [e.name for e in merged.elements] == ["reynard"], "found by its old name, an alias"
    assert merged.elements[0].count == 2 and "hound" in merged.elements[0].aliases

    pinned = await _library(chat, ElementPinRequested(chat.channel(), ANA, "reynard"))
    assert pinned.elements[0].pinned
    gone = await _library(chat, ElementForgetRequested(chat.channel(), ANA, "reynard"))
    assert gone.elements == ()

    [refused] = await chat.dispatch(ElementForgetRequested(chat.channel(), ANA, "dragon"))
    assert isinstance(refused, Refused) and "no element called 'dragon'" in refused.message


@pytest.mark.asyncio
async def test_why_tells_the_branch_screening_and_scores(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.screenings = {"Time passed.": Screening(0, False)}
    paragraph_id = await _story_with_fox_and_hound(chat, engine)
    [why] = await chat.dispatch(WhyRequested(chat.channel(), ANA, paragraph_id))
    assert isinstance(why, WhyShown)
    [picture] = why.illustrations
    assert picture["branch"] == "sentence" and picture["selection"] == "first prompt"
    assert picture["screening"] == {"generability": 2, "verb_included": False}
    assert len(picture["candidate_scores"]) == 3
    [refused] = await chat.dispatch(WhyRequested(chat.channel("elsewhere"), ANA, paragraph_id))
    assert isinstance(refused, Refused)
