"""The story loop keeps its cast consistent: choices use the library, and update it by EMA."""

from __future__ import annotations

import numpy as np
import pytest

from core.events import PostIllustrations
from core.story.choosing import TYPE_PROMPTS
from core.story.consistency import cosines
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import DIM, ScriptedEngine


def vec(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


@pytest.mark.asyncio
async def test_the_second_paragraph_keeps_the_fox_of_the_first(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {
        "fox": vec(1, 0, 0),
        TYPE_PROMPTS["character"]: vec(1, 0, 0),
        TYPE_PROMPTS["environment"]: vec(0, 0, 0, 1),
        TYPE_PROMPTS["prop"]: vec(0, 0, 0, 0, 1),
    }
    first, second = "A fox sleeps.", "The fox runs."
    engine.image_features = {
        (first, 0): vec(0.5, 1, 0),
        (first, 1): vec(1, 0.3, 0),  # the best match for "fox": the first prompt takes it
        (first, 2): vec(0.2, 0, 1),
        (second, 0): vec(1, -0.2, 0),  # closest to the text, but a different-looking fox
        (second, 1): vec(0.9, 0.35, 0),  # close to the text and to the fox already drawn
        (second, 2): vec(0, 0, 1),
    }
    await chat.post(first)
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    [fox] = await storage.elements.list("fake:story")
    assert (fox.name, fox.kind, fox.count) == ("fox", "character", 1)
    # The seed's element feature is the noun's text feature [0136]; the look is its region.
    np.testing.assert_allclose(fox.feature, engine.text_features["fox"], atol=1e-6)
    assert fox.look is not None and cosines(fox.look[None], fox.feature)[0] > 0.9
    [reference] = fox.references
    assert reference.illustration_id == fox.first_illustration_id
    assert await storage.images.get(reference.image_id) is not None, "the crop is kept"
    first_look = fox.look
    history = await storage.history.get("fake:story")
    np.testing.assert_allclose(history.feature, engine.image_features[(first, 1)], atol=1e-6)

    await chat.post(second)
    posted = await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    [drawn] = (await storage.illustrations.for_paragraphs([posted[1].paragraph_id])).values()
    provenance = drawn[0].provenance
    assert provenance["selection"] == "consistency"
    assert provenance["image_text_scores"][0] > provenance["image_text_scores"][1]
    assert provenance["candidate_index"] == 1, "the fox that looks like the story's fox"
    assert provenance["elements"] == ["fox"]

    [fox] = await storage.elements.list("fake:story")
    np.testing.assert_allclose(fox.feature, engine.text_features["fox"], atol=1e-6)
    assert not np.allclose(fox.look, first_look), "the look moves toward the new picture (EMA)"
    assert fox.count == 2 and len(fox.references) == 2
    history = await storage.history.get("fake:story")
    expected = 0.8 * engine.image_features[(first, 1)] + 0.2 * engine.image_features[(second, 1)]
    np.testing.assert_allclose(history.feature, expected, atol=1e-6)
    assert history.count == 2


@pytest.mark.asyncio
async def test_a_pinned_element_keeps_its_look(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {"owl": vec(1, 0, 0)}
    await chat.post("An owl watches.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    [owl] = await storage.elements.list("fake:story")
    await storage.elements.put(owl.__class__(**{**owl.__dict__, "pinned": True}))
    await chat.post("The owl blinks.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    [again] = await storage.elements.list("fake:story")
    np.testing.assert_array_equal(again.look, owl.look)
    assert again.count == 2
