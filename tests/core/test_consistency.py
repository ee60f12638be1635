"""Seed 000's selection and library updates, on hand-made feature vectors."""

from __future__ import annotations

import numpy as np
import pytest

from core.story.consistency import (
    LibraryElement,
    element_kind,
    element_similarity,
    ema,
    image_text_similarity,
    select,
)
from core.story.elements import head_noun, noun_elements


def unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


E1, E2, E3 = unit(1, 0, 0), unit(0, 1, 0), unit(0, 0, 1)


def test_image_text_similarity_is_the_mean_over_the_nouns() -> None:
    images = np.stack([E1, E2, unit(1, 1, 0)])
    scores = image_text_similarity(images, np.stack([E1, E2]))
    np.testing.assert_allclose(scores, [0.5, 0.5, np.sqrt(0.5)], atol=1e-6)


def test_the_first_prompt_takes_the_best_image_text_match() -> None:
    images = np.stack([E2, unit(1, 1, 0), E1])
    chosen = select(images, E1[None], named=[], history=None, thr_1=0.2)
    assert (chosen.index, chosen.rule) == (2, "first prompt")
    assert chosen.total == chosen.image_text


def test_element_types_are_weighted_and_renormalised_over_those_present() -> None:
    images = np.stack([E1, E2])
    place = LibraryElement("forest", "environment", E1)
    hero = LibraryElement("fox", "character", E2)
    both = element_similarity(images, [place, hero])
    np.testing.assert_allclose(both, [0.5 / 0.9, 0.4 / 0.9], atol=1e-6)
    only_hero = element_similarity(images, [hero])
    np.testing.assert_allclose(only_hero, [0.0, 1.0], atol=1e-6)
    assert element_similarity(images, []) is None


def test_later_prompts_balance_the_text_against_the_story_so_far() -> None:
    # Candidate 0 matches the text best; candidate 1 matches the fox the story already has.
    text = unit(1, 0.2, 0)
    images = np.stack([unit(1, 0, 0.3), unit(0.8, 0.6, 0)])
    fox = LibraryElement("fox", "character", unit(0, 1, 0))
    history = unit(0, 1, 0)
    chosen = select(images, text[None], [fox], history, thr_1=0.2)
    assert chosen.rule == "consistency"
    assert chosen.image_text[0] > chosen.image_text[1]
    assert chosen.index == 1
    expected = 0.5 * chosen.image_text[1] + 0.5 * np.mean([0.6, 0.6])
    assert chosen.total[1] == pytest.approx(expected, abs=1e-5)


def test_only_candidates_above_thr_1_are_retained() -> None:
    text = E1
    images = np.stack([E1, unit(0.6, 0.8, 0)])  # image-text 1.0 and 0.6
    history = E2  # the story so far looks like the second candidate (0.0 and 0.8)
    chosen = select(images, text[None], [], history, thr_1=0.7)
    assert chosen.retained == (0,)
    assert chosen.index == 0
    nobody = select(images, text[None], [], history, thr_1=1.0)
    assert nobody.retained == (0, 1), "with none above thr_1 every candidate stays in"
    assert nobody.index == 1  # totals 0.5 and 0.7


def test_updates_follow_claim_15() -> None:
    old, new = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(ema(old, new, 0.6), [0.6, 0.4])
    np.testing.assert_allclose(ema(old, new, 0.8), [0.8, 0.2])


def test_element_type_is_the_nearest_prototype() -> None:
    prototypes = {"character": E1, "environment": E2, "prop": E3}
    assert element_kind(unit(0.1, 1, 0.2), prototypes) == "environment"
    assert element_kind(unit(0.1, 0, 1), prototypes) == "prop"


@pytest.mark.parametrize(
    ("sentence", "elements"),
    [
        ("A lighthouse stands on a black cliff above a stormy sea.",
         ["lighthouse", "black cliff", "stormy sea"]),
        ("Mira opened the old wooden door.", ["mira", "old wooden door"]),
        ("The young man in a grey suit walked into the city.",
         ["young man", "grey suit", "city"]),
        ("It was raining.", []),
        ("他拔出剑。", []),
    ],
)  # fmt: skip
def test_noun_elements(sentence: str, elements: list[str]) -> None:
    assert noun_elements(sentence) == elements


def test_elements_are_matched_by_their_head_noun() -> None:
    assert head_noun("old wooden door") == "door"
    assert head_noun("fox") == "fox"
