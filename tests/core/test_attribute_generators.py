"""Seed 003's attribute generators and edit model: an attribute edit uses a trained adapter
when one fits, and is drawn by a trained edit model when there is one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.edit_pairs_verb import export_pairs
from core.edit.generators import adapter_slug, attribute_generator, pick_edit_model
from core.edit.generators import edit_model as choose_edit_model
from core.engine import AdapterInfo
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.core.test_edits import _edited, _illustrated
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio


def trained(name: str, kind: str = "attribute") -> AdapterInfo:
    return AdapterInfo(name, kind, "scripted", phrase=name.replace("-", " "))


async def test_the_adapter_named_like_the_attribute_or_within_it_is_chosen(
    engine: ScriptedEngine,
) -> None:
    assert adapter_slug("Slicked-back hair!") == "slicked-back-hair"
    engine.trained_adapters = [trained("blue"), trained("blue-fur"), trained("red", "genre")]
    assert await attribute_generator(engine, "blue fur") == "blue-fur"
    assert await attribute_generator(engine, "a blue coat") == "blue"
    assert await attribute_generator(engine, "red hair") is None, "genres are not generators"
    assert await attribute_generator(engine, "") is None


async def test_an_attribute_edit_with_a_trained_generator_uses_it_and_says_so(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    _, message = await _illustrated(chat, "The knight rides home.")
    await _edited(chat, "give him slicked-back hair", message)
    assert engine.edits[-1].attribute_adapter is None
    engine.trained_adapters = [trained("slicked-back-hair")]
    await _edited(chat, "give him slicked-back hair", message)
    assert engine.edits[-1].attribute_adapter == "slicked-back-hair"
    paragraphs = await storage.paragraphs.page(chat.channel().key, None, 1)
    drawn = (await storage.illustrations.for_paragraphs([paragraphs[0].id]))[paragraphs[0].id]
    readings = [r.provenance.get("read_as", "") for r in drawn if r.parent_id]
    assert any("no trained generator" in text for text in readings)
    assert any("trained attribute generator slicked-back-hair" in text for text in readings)


async def test_attribute_edits_are_kept_as_pairs_and_exported_for_instruct_pix2pix(
    chat: FakeAdapter, storage: SQLiteStorage, tmp_path: Path
) -> None:
    _, message = await _illustrated(chat, "The knight rides home.")
    await _edited(chat, "give him slicked-back hair", message)
    await _edited(chat, "make it darker", message)  # a global edit: no pair
    [pair] = await storage.edit_pairs.list(chat.channel().key)
    assert (pair.request, pair.attribute, pair.attribute_word) == (
        "give him slicked-back hair",
        "slicked-back hair",
        "hair",
    )
    edited = await storage.illustrations.get(pair.illustration_id)
    assert edited is not None and edited.parent_id is not None
    parent = await storage.illustrations.get(edited.parent_id)
    assert parent is not None
    assert await storage.images.get(pair.original_image_id) == await storage.images.get(
        parent.image_id
    )
    assert await storage.images.get(pair.edited_image_id) == await storage.images.get(
        edited.image_id
    )
    await storage.illustrations.forget_image(parent.id)  # retention keeps the pair's copies

    written, skipped = await export_pairs(storage, tmp_path / "pairs")
    assert (written, skipped) == (1, 0)
    split = tmp_path / "pairs" / "train"
    [line] = [json.loads(text) for text in (split / "metadata.jsonl").read_text().splitlines()]
    assert line["edit_prompt"] == "give him slicked-back hair"
    assert (split / line["input_image_file_name"]).read_bytes() == await storage.images.get(
        pair.original_image_id
    )
    assert (split / line["edited_image_file_name"]).is_file()
    assert line["feature_branch"] == pair.feature_branch


def edit_model(name: str, trained_at: str) -> AdapterInfo:
    return AdapterInfo(name, "edit-model", "scripted", pictures=10, trained_at=trained_at)


async def test_the_newest_named_or_no_edit_model_is_picked() -> None:
    trained_models = [
        edit_model("early", "2026-01-01T00:00:00+00:00"),
        edit_model("late", "2026-02-01T00:00:00+00:00"),
        trained("blue"),
    ]
    assert pick_edit_model(trained_models, "newest") == "late"
    assert pick_edit_model(trained_models, "early") == "early"
    assert pick_edit_model(trained_models, "none") is None
    assert pick_edit_model(trained_models, "gone") is None
    assert pick_edit_model([trained("blue")], "newest") is None, "generators are not models"


async def test_an_attribute_edit_is_drawn_by_a_trained_edit_model_and_says_so(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    _, message = await _illustrated(chat, "The knight rides home.")
    engine.trained_adapters = [trained("slicked-back-hair")]
    await _edited(chat, "give him slicked-back hair", message)
    fused = engine.edits[-1]
    assert (fused.edit_model, fused.attribute_adapter) == (None, "slicked-back-hair")
    engine.trained_adapters.append(edit_model("pairs", "2026-03-01T00:00:00+00:00"))
    await _edited(chat, "give him slicked-back hair", message)
    drawn = engine.edits[-1]
    assert (drawn.edit_model, drawn.attribute_adapter) == ("pairs", None)
    assert drawn.instruction == "give him slicked-back hair"
    await _edited(chat, "make it darker", message)  # not an attribute edit: no model
    assert engine.edits[-1].edit_model is None
    paragraphs = await storage.paragraphs.page(chat.channel().key, None, 1)
    records = (await storage.illustrations.for_paragraphs([paragraphs[0].id]))[paragraphs[0].id]
    readings = [r.provenance.get("read_as", "") for r in records if r.parent_id]
    assert any("two branches fused" in text for text in readings)
    assert any("drawn by the trained edit model pairs" in text for text in readings)
    pairs = await storage.edit_pairs.list(chat.channel().key)
    assert sorted(pair.feature_branch for pair in pairs) == [
        "attribute generator slicked-back-hair",
        "edit model pairs",
    ]


async def test_edit_model_none_keeps_the_fusion(engine: ScriptedEngine) -> None:
    engine.trained_adapters = [edit_model("pairs", "2026-03-01T00:00:00+00:00")]
    assert await choose_edit_model(engine, "none") is None
    assert await choose_edit_model(engine, "newest") == "pairs"
