"""Seed 002's keyword rules on a table of writers' phrases."""

from __future__ import annotations

import pytest

from core.feedback.evaluation import classify_feedback, is_quality_complaint, reverse_evaluation

COMPLAINTS = [
    "too blurry",
    "her face is not clear",
    "it's noisy",
    "it’s noisy",
    "there are scratches",
    "looks grainy",
    "the background is out of focus",
    "Her face isn't sharp enough",
    "too much noise in the sky",
    "remove the scratches",
    "I can't see her face",
    "make it sharper",
    "existence of noise",
    "the picture is very blurry and noisy",
    "the image is low quality",
    "looks pixelated",
    "jpeg artifacts everywhere",
    "the details are lost",
    "it lacks detail",
    "faces are hard to see",
]
NOT_COMPLAINTS = [
    "make it darker",
    "give him a hat",
    "make her hair red",
    "the hat is too big",
    "nice and sharp",
    "there are no scratches",
    "the sky is clear blue",
    "add a dog",
    "brighter please",
    "remove the hat",
    "the noise of the city wakes her",
    "",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_quality_complaints_are_recognised(text: str) -> None:
    assert is_quality_complaint(text)


@pytest.mark.parametrize("text", NOT_COMPLAINTS)
def test_edits_and_praise_are_not_quality_complaints(text: str) -> None:
    assert not is_quality_complaint(text)


# (text, names a defect = positive evaluation, opposite text)
TABLE = [
    ("too blurry", True, "sharp"),
    ("her face is not clear", True, "her face is clear"),
    ("Her face isn't sharp enough", True, "Her face is sharp"),
    ("it's noisy", True, "it's clean"),
    ("there are scratches", True, "there are no scratches"),
    ("there is noise", True, "there is no noise"),
    ("image with scratches", True, "image without scratches"),
    ("existence of noise", True, "inexistence of noise"),
    ("looks grainy", True, "looks smooth"),
    ("the background is out of focus", True, "the background is in focus"),
    ("the picture is very blurry and noisy", True, "the picture is sharp and clean"),
    ("remove the scratches", True, "no scratches"),
    ("I can't see her face", True, "her face is clearly visible"),
    ("the details are lost", True, "the details are visible"),
    ("it lacks detail", True, "it has fine details"),
    ("the image is low quality", True, "the image is high quality"),
    # Reverse evaluations: the opposite gets the negation added ([0197]).
    ("hair is clear", False, "hair is not clear"),
    ("there are no scratches", False, "there are scratches"),
    ("inexistence of noise", False, "existence of noise"),
    ("clear face", False, "unclear face"),
]


@pytest.mark.parametrize(("text", "positive", "opposite"), TABLE)
def test_negation_rules_give_the_opposite_text(text: str, positive: bool, opposite: str) -> None:
    feedback = classify_feedback(text)
    assert feedback.positive is positive
    assert feedback.opposite == opposite
    assert feedback.label == (1 if positive else 0)
    # The target is always the reverse evaluation: the opposite of a defect, or the text itself.
    assert feedback.target == (opposite if positive else text)
    assert reverse_evaluation(text) == feedback.target


def test_the_opposite_of_the_opposite_names_the_defect_again() -> None:
    for text in ("her face is not clear", "there are scratches", "existence of noise"):
        opposite = classify_feedback(text).opposite
        assert not classify_feedback(opposite).positive
        assert classify_feedback(classify_feedback(opposite).opposite).positive


def test_aspects_name_what_is_wrong() -> None:
    assert classify_feedback("blurry and full of noise").aspects == ("blur", "noise")
    assert classify_feedback("there are scratches").aspects == ("scratches",)
