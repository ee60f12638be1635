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
    recognised,
    select,
)
from core.story.elements import head_noun, noun_elements
from core.story.regions import assign, grid_boxes


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


def test_the_sentence_term_ranks_by_what_the_nouns_miss_but_thr_1_stays_on_the_nouns() -> None:
    """`story.text_term = "sentence+nouns"`: a candidate matching the whole sentence (say, its
    night) wins over one that matches only the noun; retention still uses the nouns alone."""
    noun, night = unit(1, 0, 0), unit(1, 1, 0)
    images = np.stack([E1, unit(1, 1, 0)])
    by_nouns = select(images, noun[None], named=[], history=None, thr_1=0.2)
    both = select(images, noun[None], named=[], history=None, thr_1=0.2, sentence=night)
    assert (by_nouns.index, both.index) == (0, 1)
    history = unit(0, 0, 1)
    # Only the second candidate clears thr_1 by its nouns, whatever the sentence says.
    images = np.stack([unit(0.1, 1, 0), unit(1, 0.2, 0)])
    kept = select(images, noun[None], [], history, thr_1=0.5, sentence=unit(0, 1, 0))
    assert kept.retained == (1,)
    assert kept.index == 1


def test_element_types_are_weighted_and_renormalised_over_those_present() -> None:
    images = np.stack([E1, E2])
    place = LibraryElement("forest", "environment", E1)
    hero = LibraryElement("fox", "character", E2)
    both = element_similarity(images, [place, hero])
    np.testing.assert_allclose(both, [0.5 / 0.9, 0.4 / 0.9], atol=1e-6)
    only_hero = element_similarity(images, [hero])
    np.testing.assert_allclose(only_hero, [0.0, 1.0], atol=1e-6)
    assert element_similarity(images, []) is None


def test_the_seeds_worked_example_forest_person_cat() -> None:
    """[0153]: a retained image showing a forest, a person and a cat the library knows scores
    0.5a + 0.4b + 0.1c, a, b, c its cosines to the "forest", "person" and "cat" text features."""
    forest, person, cat = unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(0, 0, 1, 0)
    named = [
        LibraryElement("forest", "environment", forest),
        LibraryElement("person", "character", person),
        LibraryElement("cat", "prop", cat),
    ]
    image = unit(0.6, 0.5, 0.3, 0.55)
    a, b, c = (float(image @ feature) for feature in (forest, person, cat))
    shown = recognised(image[None], np.stack([forest, person, cat]), threshold=0.2)
    assert shown.tolist() == [[True, True, True]]
    [score] = element_similarity(image[None], named, shown)
    assert score == pytest.approx(0.5 * a + 0.4 * b + 0.1 * c, abs=1e-6)
    # ... and the total fusion score [0155]-[0157]: 0.5 image-text + 0.5 mean(element, history).
    history = unit(1, 1, 0, 0)
    text = np.stack([forest, person, cat])
    chosen = select(image[None], text, named, history, thr_1=0.0, shown=shown)
    sequence = (0.5 * a + 0.4 * b + 0.1 * c + float(image @ history)) / 2
    assert chosen.total[0] == pytest.approx(0.5 * (a + b + c) / 3 + 0.5 * sequence, abs=1e-6)


def test_an_element_a_candidate_does_not_show_does_not_score_it() -> None:
    forest, cat = unit(1, 0, 0), unit(0, 1, 0)
    named = [LibraryElement("forest", "environment", forest), LibraryElement("cat", "prop", cat)]
    # Both candidates are equally close to the cat's name, but only the first shows a cat.
    images = np.stack([unit(1, 0.5, 0), unit(1, 0.5, 0)])
    shown = np.array([[True, True], [True, False]])
    with_cat, without = element_similarity(images, named, shown)
    cosine = float(images[0] @ forest)
    assert without == pytest.approx(0.5 / 0.6 * cosine, abs=1e-6)
    assert with_cat == pytest.approx(without + 0.1 / 0.6 * float(images[0] @ cat), abs=1e-6)
    nothing = element_similarity(images, named, np.zeros((2, 2), dtype=bool))
    np.testing.assert_array_equal(nothing, [0.0, 0.0])


def test_recognition_is_a_threshold_on_the_names_cosine() -> None:
    images = np.stack([unit(1, 0.1, 0), unit(0, 0, 1)])
    shown = recognised(images, np.stack([E1, E2]), threshold=0.3)
    assert shown.tolist() == [[True, False], [False, False]]


def test_looks_mode_scores_the_candidates_region_against_the_elements_look() -> None:
    tom = LibraryElement("tom", "character", E1, look=unit(0, 1, 1))
    images = np.stack([E1, E1])  # alike as wholes
    regions = np.stack([[unit(0, 1, 1)], [unit(0, 1, -1)]])  # (candidates, elements, dim)
    scores = element_similarity(images, [tom], regions=regions)
    np.testing.assert_allclose(scores, [1.0, 0.0], atol=1e-6)
    seed_mode = element_similarity(images, [tom])  # no regions: the text feature, as the seed
    np.testing.assert_allclose(seed_mode, [1.0, 1.0], atol=1e-6)


def test_two_elements_of_one_picture_get_different_regions() -> None:
    boxes = grid_boxes(3, 0.5)
    assert len(boxes) == 9 and boxes[0] == (0.0, 0.0, 0.5, 0.5) and boxes[-1][2:] == (1.0, 1.0)
    # Region 4 is the best match for both names; the better pair keeps it.
    regions = np.stack([unit(1, 0, 0), unit(0, 0, 1), unit(0.2, 1, 0), unit(1, 1, 0)] * 2)[:5]
    regions[4] = unit(1, 1.1, 0)
    tom, cat = unit(1, 1.2, 0), unit(1, 0.9, 0)
    places = assign(regions, np.stack([tom, cat]))
    assert places[0] == 4 and places[1] != 4
    assert assign(regions[:1], np.stack([tom, cat])) == [0, 0], "one region: shared"


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
