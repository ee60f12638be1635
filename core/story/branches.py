"""Seed 000's branch table: what happens to each sentence after screening.

Claims 1, 2, 4, 5, 8; [0072]-[0119]; the index threshold is 1 [0074]:
- index <= threshold: not illustrated; the reason is recorded for the writers (SPEC decision);
- index > threshold and verb-included: an action description, not illustrated on its own
  (claim 4);
- index > threshold, verb-excluded, several clauses: drawn as a whole first; then the clauses
  whose own index is 2 are checked against those pictures (`split_or_keep`);
- otherwise: an appropriate sentence, drawn as K candidates and selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.engine import Screening
from core.story.clauses import split_clauses

NOTHING_CONCRETE = "nothing concrete to draw"
ACTION_ONLY = "an action across several clauses; not drawn on its own"
MOST_DRAWABLE = "no sentence passed screening; this one was the most drawable"


@dataclass(frozen=True)
class SentencePlan:
    sentence: str
    clauses: tuple[str, ...]  # the clauses to check after drawing (several-clause sentences)
    skip_reason: str = ""
    fallback: str = ""  # why it is drawn although screening did not pass it

    @property
    def drawn(self) -> bool:
        return not self.skip_reason


def plan_sentence(
    sentence: str,
    screening: Screening,
    clause_screenings: dict[str, Screening],
    index_threshold: int = 1,
) -> SentencePlan:
    """Which branch a screened sentence takes."""
    if screening.generability <= index_threshold:
        return SentencePlan(sentence, (), NOTHING_CONCRETE)
    if screening.verb_included:
        return SentencePlan(sentence, (), ACTION_ONLY)
    clauses = split_clauses(sentence)
    if len(clauses) < 2:
        return SentencePlan(sentence, ())
    kept = tuple(c for c in clauses if clause_screenings[c].generability == 2)
    return SentencePlan(sentence, kept)


@dataclass(frozen=True)
class ClauseOutcome:
    """Either each clause keeps its similar picture, or the clauses are drawn anew."""

    keep: dict[str, int]  # clause -> index of its similar picture among the sentence's
    redraw: tuple[str, ...]
    difference: float


def similar_pictures(
    clause_features: np.ndarray, picture_features: np.ndarray, thr_1: float
) -> list[int | None]:
    """Per clause, the best of the sentence's pictures by similarity, if above thr_1."""
    found: list[int | None] = []
    for clause in np.atleast_2d(clause_features):
        scores = (
            picture_features
            @ clause
            / np.maximum(np.linalg.norm(picture_features, axis=1) * np.linalg.norm(clause), 1e-12)
        )
        best = int(np.argmax(scores))
        found.append(best if scores[best] > thr_1 else None)
    return found


def split_or_keep(
    clauses: Sequence[str],
    similar: Sequence[int | None],
    difference: float,
    thr_2: float,
) -> ClauseOutcome:
    """Similar pictures that differ little illustrate their clauses, in clause order ([0085]);
    otherwise (or when a clause has none) each clause is drawn as a prompt of its own (claim 2).
    """
    if all(index is not None for index in similar) and difference < thr_2:
        return ClauseOutcome(
            {c: int(i) for c, i in zip(clauses, similar, strict=True) if i is not None},
            (),
            difference,
        )
    return ClauseOutcome({}, tuple(clauses), difference)
