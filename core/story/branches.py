"""Seed 000's branch table: what happens to a sentence, or a clause at any depth, once screened.

Claims 1, 2, 4, 5, 8; [0072]-[0119], [0255]-[0265]. One table serves every depth: a clause
drawn anew runs the method again (claim 2, [0087]), its own screening and clauses included.

| screening of the text (index, type)     | its clauses           | branch                       |
|-----------------------------------------|-----------------------|------------------------------|
| index <= threshold (1 [0074])           | any                   | SKIP: nothing concrete [0077]|
| index > threshold, verb-included        | any                   | SKIP: an action [0076]       |
| index > threshold, verb-excluded        | one                   | DRAW: K candidates [0101]    |
| index > threshold, verb-excluded        | several               | SPLIT: draw, then settle     |

Settling a SPLIT text's drawable clauses (those whose own row is DRAW or SPLIT: index above
the threshold, the seed's "2" [0258], and verb-excluded), from the text's own pictures:

| the drawable clauses                              | outcome                                   |
|---------------------------------------------------|-------------------------------------------|
| none                                              | the text is drawn whole (SPEC decision)   |
| similar pictures' difference >= thr_2             | every drawable clause runs again [0087]   |
| difference < thr_2, clause has a similar picture  | that picture illustrates it [0085]        |
| difference < thr_2, clause has none (<= thr_1)    | that clause runs again (decision, [0263]) |

A clause's similar picture is the text's picture most similar to the clause's nouns, if
above thr_1 [0075], [0260]; the difference is taken over the similar pictures found [0263].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from core.engine import Screening
from core.story.consistency import image_text_similarity

NOTHING_CONCRETE = "nothing concrete to draw"
ACTION_ONLY = "an action across several clauses; not drawn on its own"
MOST_DRAWABLE = "no sentence passed screening; this one was the most drawable"


class Branch(Enum):
    """A row of the first table."""

    NOTHING_CONCRETE = "skip: nothing concrete"
    ACTION = "skip: an action description"
    DRAW = "draw"
    SPLIT = "draw, then settle the clauses"

    @property
    def drawn(self) -> bool:
        return self in (Branch.DRAW, Branch.SPLIT)

    @property
    def reason(self) -> str:
        """What the writers are told when this branch leaves a sentence undrawn."""
        return {Branch.NOTHING_CONCRETE: NOTHING_CONCRETE, Branch.ACTION: ACTION_ONLY}.get(self, "")


def branch(screening: Screening, clause_count: int, index_threshold: int = 1) -> Branch:
    """The first table: the same for a sentence and for a clause at any depth."""
    if screening.generability <= index_threshold:
        return Branch.NOTHING_CONCRETE
    if screening.verb_included:
        return Branch.ACTION
    return Branch.SPLIT if clause_count > 1 else Branch.DRAW


def drawable_clauses(
    clauses: Sequence[str], screenings: Mapping[str, Screening], index_threshold: int = 1
) -> tuple[str, ...]:
    """The clauses whose own row draws them: index above the threshold and verb-excluded."""
    return tuple(
        clause for clause in clauses if branch(screenings[clause], 1, index_threshold).drawn
    )


@dataclass(frozen=True)
class SentencePlan:
    sentence: str
    clauses: tuple[str, ...]  # the drawable clauses to settle after drawing (SPLIT only)
    skip_reason: str = ""
    fallback: str = ""  # why it is drawn although screening did not pass it

    @property
    def drawn(self) -> bool:
        return not self.skip_reason


def plan_sentence(
    sentence: str,
    screening: Screening,
    clauses: Sequence[str],
    clause_screenings: Mapping[str, Screening],
    index_threshold: int = 1,
) -> SentencePlan:
    """Which row a screened sentence takes, with its drawable clauses when it is split."""
    row = branch(screening, len(clauses), index_threshold)
    if not row.drawn:
        return SentencePlan(sentence, (), row.reason)
    if row is Branch.DRAW:
        return SentencePlan(sentence, ())
    kept = drawable_clauses(clauses, clause_screenings, index_threshold)
    return SentencePlan(sentence, kept)


@dataclass(frozen=True)
class ClauseOutcome:
    """The second table: which clauses keep a picture of the text, which run again."""

    keep: dict[str, int]  # clause -> index of its similar picture among the text's
    again: tuple[str, ...]
    difference: float


def similar_pictures(
    clause_nouns: Sequence[np.ndarray], picture_features: np.ndarray, thr_1: float
) -> list[int | None]:
    """Per clause (the text features of its nouns), the best of the text's pictures by the
    mean cosine to those nouns, the scale thr_1 is calibrated on, if above thr_1."""
    found: list[int | None] = []
    for nouns in clause_nouns:
        scores = image_text_similarity(picture_features, np.atleast_2d(nouns))
        best = int(np.argmax(scores))
        found.append(best if scores[best] > thr_1 else None)
    return found


def settle(
    clauses: Sequence[str],
    similar: Sequence[int | None],
    difference: float,
    thr_2: float,
) -> ClauseOutcome:
    """Similar pictures that differ little illustrate their clauses, in clause order ([0085]);
    when they differ too much every clause runs the method again (claim 2, [0087]); a clause
    without a similar picture runs again either way."""
    if difference >= thr_2:
        return ClauseOutcome({}, tuple(clauses), difference)
    keep = {c: i for c, i in zip(clauses, similar, strict=True) if i is not None}
    again = tuple(c for c, i in zip(clauses, similar, strict=True) if i is None)
    return ClauseOutcome(keep, again, difference)
