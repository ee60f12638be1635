"""Seed 000's branch table, image difference and calibration, on scripted inputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.engine import Screening
from core.story.branches import (
    ACTION_ONLY,
    NOTHING_CONCRETE,
    plan_sentence,
    similar_pictures,
    split_or_keep,
)
from core.story.thresholds import calibrate, image_difference, row_means

DRAWABLE, PARTLY, ABSTRACT = Screening(2, False), Screening(1, False), Screening(0, False)
ACTION = Screening(2, True)


def png(rows: list[int], width: int = 4) -> bytes:
    pixels = np.repeat(np.array(rows, dtype=np.uint8)[:, None], width, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("screening", [ABSTRACT, PARTLY])
def test_low_generability_is_not_drawn_and_says_why(screening: Screening) -> None:
    plan = plan_sentence("She wondered about fate.", screening, {})
    assert not plan.drawn and plan.skip_reason == NOTHING_CONCRETE


def test_an_action_description_is_not_drawn_on_its_own() -> None:
    plan = plan_sentence("He leapt, spun, and struck.", ACTION, {})
    assert not plan.drawn and plan.skip_reason == ACTION_ONLY


def test_a_one_clause_sentence_is_simply_drawn() -> None:
    plan = plan_sentence("A red kite over the bay.", DRAWABLE, {})
    assert plan.drawn and plan.clauses == ()


def test_a_several_clause_sentence_keeps_its_drawable_clauses() -> None:
    sentence = "A red kite, a sense of dread, the old pier"
    screenings = {"A red kite": DRAWABLE, "a sense of dread": ABSTRACT, "the old pier": DRAWABLE}
    plan = plan_sentence(sentence, DRAWABLE, screenings)
    assert plan.drawn and plan.clauses == ("A red kite", "the old pier")


def test_similar_pictures_need_to_pass_thr_1() -> None:
    pictures = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    clauses = np.array([[0.0, 1.0], [1.0, 0.2], [-1.0, -1.0]])
    assert similar_pictures(clauses, pictures, thr_1=0.5) == [1, 0, None]


def test_clauses_keep_similar_pictures_that_agree_or_are_drawn_anew() -> None:
    kept = split_or_keep(["kite", "pier"], [2, 0], difference=10.0, thr_2=50.0)
    assert kept.keep == {"kite": 2, "pier": 0} and kept.redraw == ()
    too_different = split_or_keep(["kite", "pier"], [2, 0], difference=80.0, thr_2=50.0)
    assert too_different.keep == {} and too_different.redraw == ("kite", "pier")
    missing = split_or_keep(["kite", "pier"], [2, None], difference=0.0, thr_2=50.0)
    assert missing.redraw == ("kite", "pier")


def test_row_means_are_the_image_feature_of_claim_6() -> None:
    feature = row_means(png([0, 100, 200, 50]), size=4)
    np.testing.assert_allclose(feature, [0, 100, 200, 50], atol=1.0)


def test_image_difference_is_the_row_variance_averaged() -> None:
    a, b = np.array([0.0, 10.0]), np.array([4.0, 10.0])
    assert image_difference([a, b]) == pytest.approx((4.0 + 0.0) / 2)
    assert image_difference([a]) == 0.0
    c = np.array([0.0, 30.0])
    assert image_difference([a, b, c], mode="pairwise") == pytest.approx(max(8.0, 200.0, 208.0))
    with pytest.raises(ValueError, match="unknown"):
        image_difference([a, b], mode="median")


def test_calibration_finds_the_highest_point_with_80_percent_recall() -> None:
    # 10 pairs: eight reach 0.6 (the seed's example: 8000 of 10000 at 0.6), two reach only 0.3.
    similarities = [0.65, 0.7, 0.61, 0.9, 0.6, 0.62, 0.75, 0.66, 0.3, 0.35]
    features = [np.full(4, 10.0 * i) for i in range(10)]
    result = calibrate(similarities, features)
    assert result.thr_1 == 0.6
    assert result.recall[0.6] == pytest.approx(0.8) and result.recall[0.7] == pytest.approx(0.3)
    assert result.recalled == 8
    recalled = [f for f, s in zip(features, similarities, strict=True) if s >= 0.6]
    assert result.thr_2 == pytest.approx(image_difference(recalled))
