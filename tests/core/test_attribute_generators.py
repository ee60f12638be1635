"""Seed 003's attribute generators: an attribute edit uses a trained adapter when one fits."""

from __future__ import annotations

import pytest

from core.edit.generators import adapter_slug, attribute_generator
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
