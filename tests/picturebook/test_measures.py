"""Quality measures on hand-made readings: alignment, consistency, edits."""

from __future__ import annotations

import numpy as np
import pytest

from picturebook.captions import read_text
from picturebook.measures import (
    EDITS,
    alignment,
    alignment_checks,
    alignment_table,
    changed_outside,
    consistency,
    edit_region,
    edit_succeeded,
)
from picturebook.stories import STORIES
from picturebook.world import ReadScene, Thing


def reading(*things: Thing, place="forest", time="day", weather="clear") -> ReadScene:
    return ReadScene(place, time, weather, "flat", things)


FOX = Thing("fox", "red", False, "big", "left")
TREE = Thing("tree", "green", False, "big", "right")


def test_alignment_counts_stated_facts_only() -> None:
    facts = read_text("The red fox sleeps under the old tree in the forest at night.")
    right = reading(FOX, TREE, time="night")
    assert alignment([(facts, right)]) == 1.0
    # Wrong place, fox blue, tree missing: only the time is right.
    wrong = reading(Thing("fox", "blue", False, "big", "left"), place="village", time="night")
    assert alignment_checks(facts, wrong) == [
        ("place", False),
        ("time", True),
        ("present", True),
        ("colour", False),
        ("thing", False),
        ("present", False),
        ("thing", False),
    ]
    assert alignment([(facts, wrong)]) == pytest.approx(1 / 4)  # place, time, fox, tree


def test_a_missing_picture_shows_nothing() -> None:
    facts = read_text("A cat sleeps in the room.")
    assert alignment([(facts, None)]) == 0.0
    table = alignment_table(
        [(facts, reading(Thing("cat", "red", False, "big", "left"))), (facts, None)]
    )
    assert table["present"] == (0.5, 2)


def test_unsaid_attributes_are_not_checked() -> None:
    facts = read_text("A fox sleeps.")
    assert alignment([(facts, reading(Thing("fox", "purple", True, "small", "right")))]) == 1.0


def test_consistency_compares_later_appearances_with_the_first() -> None:
    told = [
        read_text(t)
        for t in ("A red fox sleeps.", "The fox runs.", "The fox sits.", "The fox waits.")
    ]
    seen = [
        reading(FOX),
        reading(FOX),
        reading(Thing("fox", "blue", False, "big", "left")),
        reading(),  # the fox is missing: not a later appearance
    ]
    result = consistency(list(zip(told, seen, strict=True)))
    assert (result.matched, result.later) == (1, 2)
    assert result.share == 0.5


def test_a_character_must_keep_its_hat_too() -> None:
    told = [read_text("A girl walks."), read_text("The girl sings.")]
    seen = [
        reading(Thing("girl", "red", True, "big", "left")),
        reading(Thing("girl", "red", False, "big", "left")),
    ]
    assert consistency(list(zip(told, seen, strict=True))).matched == 0


def test_changed_outside_ignores_the_edited_region() -> None:
    before = np.zeros((64, 64, 3), dtype=np.uint8)
    after = before.copy()
    after[:, :20] = 200  # the left part changed
    assert changed_outside(before, after, (0.0, 0.0, 0.4, 1.0)) == 0.0
    assert changed_outside(before, after, (0.6, 0.0, 1.0, 1.0)) == pytest.approx(20 / 38, abs=0.01)


def test_edit_success_per_change() -> None:
    cases = {case.name: case for case in EDITS}
    px = np.full((8, 8, 3), 120, dtype=np.uint8)
    dark = (px * 0.5).astype(np.uint8)
    day, night = reading(FOX), reading(FOX, time="night")
    assert edit_succeeded(cases["night"], day, night, px, px)
    assert not edit_succeeded(cases["night"], day, day, px, px)
    assert edit_succeeded(cases["darker"], day, day, px, dark)
    assert not edit_succeeded(cases["darker"], day, day, px, px)
    assert edit_succeeded(cases["winter"], day, reading(FOX, weather="snow"), px, px)
    blue = reading(Thing("fox", "blue", False, "big", "left"))
    assert edit_succeeded(cases["colour"], day, blue, px, px)
    assert edit_region(cases["colour"], day) == (0.0, 0.0, 0.4, 1.0)
    cat = reading(FOX, Thing("cat", "red", False, "small", "left"))
    assert edit_succeeded(cases["add"], day, cat, px, px)
    assert not edit_succeeded(cases["add"], day, day, px, px)
    assert edit_succeeded(cases["remove"], reading(TREE), reading(), px, px)
    assert not edit_succeeded(cases["remove"], reading(TREE), reading(TREE), px, px)


def test_stories_are_told_as_the_benchmark_needs() -> None:
    assert len(STORIES) >= 20
    for story in STORIES:
        sentences = story.sentences
        assert 6 <= len(sentences) <= 10, story.title
        assert story.recurring(), story.title
        for sentence in sentences:
            assert 1 <= len(sentence.facts.things) <= 3, sentence.text
            assert "," not in sentence.text  # drawn whole, never clause by clause
        said = [t.kind for s in sentences for t in s.facts.things if t.colour is not None]
        assert len(said) == len(set(said)), f"{story.title}: a colour said twice"
