"""The story's cast: looks cut from each element's own region, in both library modes."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from core.engine import GenerationRequest
from core.events import (
    Author,
    EditRequested,
    MessageRef,
    PostIllustrations,
    WhyRequested,
    WhyShown,
)
from core.inkwell import Inkwell
from core.story.cast_settings import CastSettings
from core.story.choosing import TYPE_PROMPTS, ConsistentChooser
from core.story.regions import grid_boxes
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import DIM, ScriptedEngine

NOW = datetime(2026, 12, 2, tzinfo=UTC)
SENTENCE = "A fox meets a hound."
ANA = Author("ana", "Ana")


def vec(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


async def _choose(engine: ScriptedEngine, storage: SQLiteStorage, cast: CastSettings):
    [group] = await engine.generate([GenerationRequest(SENTENCE, (1, 2))])
    chooser = ConsistentChooser(engine, storage, thr_1=0.2, presence_threshold=0.2, cast=cast)
    chosen, _, memory = await chooser.choose("web:tale", [SENTENCE], [group], ["ill-1"], NOW)
    await memory.save(storage)
    return chosen, {e.name: e for e in await storage.elements.list("web:tale")}


@pytest.mark.asyncio
async def test_two_elements_of_one_picture_never_share_a_look(
    engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {"fox": vec(1, 0.2), "hound": vec(1, 0.3)}
    boxes = len(grid_boxes(3, 0.5))
    # Every region alike but one, which looks most like both a fox and a hound.
    regions = np.repeat(vec(0, 0, 1)[None], boxes, axis=0)
    regions[4] = vec(1, 0.25)
    regions[7] = vec(0.5, 0.1, 1)
    for candidate in (0, 1):
        engine.region_features[(SENTENCE, candidate)] = regions
    chosen, cast = await _choose(engine, storage, CastSettings(mode="looks"))
    assert chosen[0].elements == ("fox", "hound")
    fox, hound = cast["fox"], cast["hound"]
    assert not np.allclose(fox.look, hound.look)
    assert {tuple(fox.look), tuple(hound.look)} == {tuple(regions[4]), tuple(regions[7])}
    assert fox.references[0].image_id != hound.references[0].image_id
    assert not np.allclose(fox.feature, hound.feature), "their text features, as the seed's"


@pytest.mark.asyncio
async def test_the_seeds_mode_keeps_text_features_and_no_look(
    engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {"fox": vec(1, 0.2), "hound": vec(1, 0.3)}
    asked: list[int] = []
    regions = engine.embed_regions

    async def counted(images, boxes):
        asked.append(len(images))
        return await regions(images, boxes)

    engine.embed_regions = counted  # type: ignore[method-assign]
    _, cast = await _choose(engine, storage, CastSettings(mode="seed"))
    assert asked == [], "the seed's mode needs no regions"
    np.testing.assert_allclose(cast["fox"].feature, engine.text_features["fox"], atol=1e-6)
    assert cast["fox"].look is None and cast["hound"].references == ()


@pytest.mark.asyncio
async def test_a_later_sentence_draws_the_element_as_first_described(
    chat, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {"red fox": vec(1, 0.2), "fox": vec(1, 0.2)}
    await chat.post("A red fox sleeps.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    [fox] = await storage.elements.list("fake:story")
    assert fox.description == "red"
    await chat.post("The fox runs. He sleeps.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()
    drawn = [request.prompt for request in engine.generate_calls[-1]]
    assert drawn == ["The red fox runs.", "He sleeps, red fox."]
    [fox] = await storage.elements.list("fake:story")
    assert fox.pronoun == "he", "learned from the sentence after it"


@pytest.mark.asyncio
async def test_the_drift_check_redraws_and_stops_at_its_bound(
    engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    cast = CastSettings(drift_threshold=0.9, drift_extra=4)
    settings = StorySettings(candidates=3, progress_interval_s=0, cast=cast)
    inkwell = Inkwell(engine, storage, settings)
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    try:
        engine.text_features = {"fox": vec(1, 0.2)}
        boxes = len(grid_boxes(3, 0.5))
        engine.region_features = {
            ("A fox sleeps.", n): np.repeat(vec(1, 0.2, 0.1)[None], boxes, axis=0) for n in range(3)
        }
        # Every later fox, however many are drawn, is unlike the first one's look.
        engine.region_features |= {
            ("The fox runs.", n): np.repeat(vec(0.2, 1, 0, 1)[None], boxes, axis=0)
            for n in range(3)
        }
        await chat.post("A fox sleeps.")
        await chat.wait_for(PostIllustrations)
        await inkwell.idle()
        calls = len(engine.generate_calls)
        await chat.post("The fox runs.")
        [_, posted] = await chat.wait_for(PostIllustrations, count=2)
        await inkwell.idle()
        rounds = engine.generate_calls[calls:]
        assert [sum(len(r.seeds) for r in call) for call in rounds] == [3, 3, 1]
        [record] = (await storage.illustrations.for_paragraphs([posted.paragraph_id])).values()
        drift = record[0].provenance["drift"]
        assert drift["threshold"] == 0.9 and drift["extra_candidates"] == 4
        assert drift["looks"]["fox"] < 0.9
        assert len(record[0].provenance["candidate_seeds"]) == 7
        assert len(set(record[0].provenance["candidate_seeds"])) == 7, "fresh seeds"
        [shown] = await chat.dispatch(WhyRequested(chat.channel("story"), ANA, posted.paragraph_id))
        assert isinstance(shown, WhyShown) and shown.illustrations[0]["drift"] == drift
    finally:
        await inkwell.stop()


@pytest.mark.asyncio
async def test_an_edit_to_how_an_element_looks_sticks_to_its_cast_entry(
    chat, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    engine.text_features = {
        "knight": vec(1, 0.2),
        TYPE_PROMPTS["character"]: vec(1, 0.2),
        TYPE_PROMPTS["environment"]: vec(0, 0, 0, 1),
        TYPE_PROMPTS["prop"]: vec(0, 0, 0, 0, 1),
    }
    await chat.post("The knight rides home.")
    [post] = await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    channel = chat.channel()
    replies = await chat.dispatch(
        EditRequested(
            channel,
            ANA,
            text="give him a green scarf",
            message_id=chat.message_of(post),
            message=MessageRef(channel, "reply-1"),
        )
    )
    assert "a green scarf" in replies[0].text
    await chat.inkwell.idle()
    edited = chat.of_type(PostIllustrations)[-1].images[0]
    knight = await storage.elements.get("fake:story", "knight")
    assert knight.description == "with a green scarf"
    assert knight.references[-1].illustration_id == edited.illustration_id
    np.testing.assert_allclose(knight.look, knight.references[-1].feature, atol=1e-6)

    await chat.post("The knight waits.")
    await chat.wait_for(PostIllustrations, count=3)
    await chat.inkwell.idle()
    assert engine.generate_calls[-1][0].prompt == "The knight with a green scarf waits."


@pytest.mark.asyncio
async def test_a_replys_pronoun_finds_the_element_the_cast_says_it_is(
    storage: SQLiteStorage,
) -> None:
    from core.edit.prompts import cast_for
    from storage.base import ElementRecord, IllustrationRecord

    for name, pronoun in (("knight", ""), ("fox", "she")):
        await storage.elements.put(
            ElementRecord("web:tale", name, "character", vec(1), 1, NOW, NOW, pronoun=pronoun)
        )
    record = IllustrationRecord(
        id="ill-1",
        channel_key="web:tale",
        paragraph_id="p1",
        sentence_index=0,
        text="The knight meets the fox.",  # the text says no pronoun for either
        image_id="img",
        score=0.5,
        provenance={"elements": ["knight", "fox"]},
        clip_feature=None,
        created_at=NOW,
    )
    cast = await cast_for(storage, record)
    assert cast.by_pronoun("her").name == "fox"
    assert cast.by_pronoun("him").name == "knight", "unknown pronouns still take he or she"
