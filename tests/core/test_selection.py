"""Choosing the candidate closest to its sentence."""

from __future__ import annotations

import numpy as np

from core.story.selection import best_by_text_similarity, cosine_similarities


def test_cosine_ignores_vector_length() -> None:
    images = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    scores = cosine_similarities(images, np.array([5.0, 0.0]))
    np.testing.assert_allclose(scores, [1.0, 0.0, np.sqrt(0.5)], atol=1e-6)


def test_best_candidate_and_its_scores() -> None:
    images = np.array([[0.1, 1.0], [1.0, 0.1], [0.5, 0.5]])
    choice = best_by_text_similarity(images, np.array([1.0, 0.0]))
    assert choice.index == 1
    assert choice.score == max(choice.scores)
    assert len(choice.scores) == 3


def test_ties_go_to_the_first_candidate() -> None:
    choice = best_by_text_similarity(np.ones((3, 4)), np.ones(4))
    assert choice.index == 0
