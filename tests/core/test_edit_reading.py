"""Requests read from a spaCy parse: the issue's failures, new kinds, pronouns by the cast."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.edit.cast import Cast, CastMember, pronoun_in
from core.edit.effects import panned, steps_for, zoomed_in, zoomed_out
from core.edit.parsing import DEFAULT_PARSER, load_parser
from core.edit.understanding import understand

spacy = pytest.importorskip("spacy")
PARSER = load_parser(DEFAULT_PARSER)
TOM = Cast((CastMember("Tom", "he"),))
SHOP = "Tom waited outside the baker's shop with his bucket."


@pytest.mark.parametrize(
    ("request_text", "cast", "scene", "expected"),
    [
        # The failures issue 17 quotes, each as (kind, element, attribute_word, attribute).
        ("give the old sailor a blue scarf", Cast((CastMember("sailor", "he"),)), "",
         ("attribute", "sailor", "scarf", "a blue scarf")),
        ("his boots should be black", TOM, SHOP, ("attribute", "tom", "boots", "black boots")),
        ("make the shop smaller", TOM, SHOP, ("resize", "the shop", "shop", "smaller shop")),
        ("that is not Tom, he has a grey beard", TOM, SHOP,
         ("correction", "tom", "beard", "a grey beard")),
    ],
)  # fmt: skip
def test_the_issues_misread_requests_are_read_right(
    request_text: str, cast: Cast, scene: str, expected: tuple
) -> None:
    intent = understand(request_text, PARSER, cast, scene)
    assert (intent.kind, intent.element, intent.attribute_word, intent.attribute) == expected
    assert intent.read_by == "parser"


def test_zooming_in_is_framing() -> None:
    intent = understand("zoom in a little", PARSER, TOM, SHOP)
    assert (intent.kind, intent.direction) == ("framing", "in")
    assert intent.describe() == "zooming in"


def test_pronouns_pick_the_character_with_that_pronoun() -> None:
    cast = Cast((CastMember("knight", "he"), CastMember("princess", "she")))
    scene = "The knight and the princess rode through the forest."
    assert understand("make her crown golden", PARSER, cast, scene).element == "princess"
    assert understand("his armour should be black", PARSER, cast, scene).element == "knight"


def test_moving_something_in_the_picture_is_not_adding_it() -> None:
    scene = "A small boat with a red sail fights the waves below."
    moved = understand("move the boat to the left", PARSER, Cast(), scene)
    assert (moved.kind, moved.element, moved.place) == ("move", "the boat", "left")
    added = understand("put a ship on the horizon", PARSER, Cast(), scene)
    assert (added.kind, added.element) == ("add", "a ship")


def test_a_named_style_and_a_season_are_told_apart() -> None:
    style = understand("in the style of a woodcut print", PARSER, Cast(), "")
    assert (style.kind, style.style) == ("style", "a woodcut print".removeprefix("a "))
    season = understand("make it look like autumn", PARSER, Cast(), "")
    assert season.kind == "global" and "autumn" in season.words


def test_without_a_parser_the_word_rules_still_read_the_common_forms() -> None:
    assert understand("give him slicked-back hair").kind == "attribute"
    assert understand("can it move").kind == "unsupported"


def test_a_pronoun_is_read_from_the_story_text() -> None:
    assert pronoun_in("Tom lived above the shop. Every morning he swept the step.", "Tom") == "he"
    assert pronoun_in("The elf stood with a bow on her back.", "elf") == "she"
    assert pronoun_in("The fox waits.", "fox") == ""


def _picture() -> bytes:
    pixels = np.zeros((32, 32, 3), np.uint8)
    pixels[:, :16] = (200, 40, 40)  # left half red, right half blue
    pixels[:, 16:] = (40, 40, 200)
    pixels[27:31, 27:31] = 255  # a white mark near the lower right corner
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float32)


def test_framing_changes_the_picture_before_the_engine_redraws_it() -> None:
    original = _pixels(_picture())
    inside = _pixels(zoomed_in(_picture()))
    # Zooming in keeps the middle: the red/blue border is still in the middle, and wider.
    assert inside.shape == original.shape
    assert np.allclose(inside[16, 2], original[16, 2], atol=20)
    assert inside[29, 29].min() < 100  # the corner mark is cropped away
    outside = _pixels(zoomed_out(_picture()))
    assert original[24, 24].min() < 100 and outside[24, 24].min() > 200  # the mark moved in
    left = _pixels(panned(_picture(), "left"))
    assert np.allclose(left[:, :8], [200, 40, 40], atol=2)  # the new strip repeats the edge
    assert np.allclose(left[:, 8:24].mean(axis=(0, 1)), original[:, :16].mean(axis=(0, 1)), atol=2)


def test_each_new_kind_becomes_engine_edits() -> None:
    moved = understand("move the boat to the left", PARSER, Cast(), "A boat on the sea.")
    assert [s.intent.kind for s in steps_for(moved)] == ["remove", "add"]
    [pan] = steps_for(understand("pan to the left", PARSER, Cast(), ""))
    assert pan.intent.kind == "add" and pan.intent.region == (0.0, 0.0, 0.25, 1.0)
    [size] = steps_for(understand("make the shop smaller", PARSER, TOM, SHOP))
    assert (size.intent.kind, size.intent.attribute_word) == ("attribute", "shop")
    fixed = understand("that is not Tom, he has a grey beard", PARSER, TOM, SHOP)
    [correction] = steps_for(fixed, owner="tom")
    assert (correction.intent.kind, correction.intent.element) == ("attribute", "tom")


def test_the_held_out_sets_share_no_request_with_the_phrasings() -> None:
    from pathlib import Path

    from bench.understanding import SETS, read_set
    from core.edit.intents import read_phrasings

    phrasings = {phrase.lower() for _, phrase in read_phrasings()}
    held_out = [case.request.lower() for path in SETS for case in read_set(Path(path))]
    assert len(held_out) >= 150
    assert not phrasings & set(held_out)


def test_an_unsure_reading_says_so_and_how_to_take_it_back() -> None:
    from dataclasses import replace

    from core.edit.requests import unsure_note

    intent = understand("make the shop smaller", PARSER, TOM, SHOP)
    assert unsure_note(replace(intent, confidence=0.9, read_by="parser+encoder")) == ""
    note = unsure_note(replace(intent, confidence=0.1, read_by="parser+encoder"))
    assert "reply 'undo'" in note and "make the boat bigger" in note
