"""Quality measures over what sentences state and what the oracle reads: pure functions.

- alignment: per sentence, the share of its stated facts the picture shows (a named thing
  counts once: present with every stated attribute right);
- consistency: per recurring element, the share of its later appearances whose colour (and
  hat, for characters) match its first appearance;
- edits: whether a request's change is read in the edited picture, and the share of pixels
  changed outside the edited region.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from picturebook.world import Facts, ThingFacts, is_character

POSITION_BOXES: dict[str, tuple[float, float, float, float]] = {
    "left": (0.0, 0.0, 0.4, 1.0),
    "centre": (0.3, 0.0, 0.7, 1.0),
    "right": (0.6, 0.0, 1.0, 1.0),
}


def alignment_checks(facts: Facts, reading) -> list[tuple[str, bool]]:
    """Each stated fact with whether the reading shows it; a missing picture shows none.

    A reading is the oracle's `ReadScene` (or anything with its fields and `thing(kind)`).
    Labels: place, time, weather, style, and `thing` (present with all stated attributes
    right); the breakdown labels present, colour, hat, size and position follow each thing.
    """
    checks: list[tuple[str, bool]] = []
    for name in ("place", "time", "weather", "style"):
        said = getattr(facts, name)
        if said is not None:
            checks.append((name, reading is not None and getattr(reading, name) == said))
    for said in facts.things:
        seen = reading.thing(said.kind) if reading is not None else None
        checks.append(("present", seen is not None))
        attributes = [name for name in ("colour", "hat", "size", "position") if stated(said, name)]
        for name in attributes:
            checks.append((name, seen is not None and getattr(seen, name) == getattr(said, name)))
        whole = seen is not None and all(getattr(seen, n) == getattr(said, n) for n in attributes)
        checks.append(("thing", whole))
    return checks


def stated(said: ThingFacts, name: str) -> bool:
    value = getattr(said, name)
    return value is not None and (name != "hat" or is_character(said.kind))


HEADLINE = ("place", "time", "weather", "style", "thing")


def alignment(pairs: Sequence[tuple[Facts, object]]) -> float:
    """Share of stated facts shown, over (sentence facts, reading or None) pairs."""
    headline = [
        ok
        for facts, reading in pairs
        for label, ok in alignment_checks(facts, reading)
        if label in HEADLINE
    ]
    return float(np.mean(headline)) if headline else 0.0


def alignment_table(pairs: Sequence[tuple[Facts, object]]) -> dict[str, tuple[float, int]]:
    """Share right and count per check label (place, present, colour, ...)."""
    table: dict[str, list[bool]] = {}
    for facts, reading in pairs:
        for label, ok in alignment_checks(facts, reading):
            table.setdefault(label, []).append(ok)
    return {label: (float(np.mean(oks)), len(oks)) for label, oks in table.items()}


@dataclass(frozen=True)
class Consistency:
    """Later appearances of recurring elements, and how many matched the first."""

    matched: int
    later: int

    @property
    def share(self) -> float:
        return self.matched / self.later if self.later else 0.0

    def __add__(self, other: Consistency) -> Consistency:
        return Consistency(self.matched + other.matched, self.later + other.later)


def consistency(story: Sequence[tuple[Facts, object]]) -> Consistency:
    """One story's consistency: its sentences' facts with their readings, in story order.

    An element's first appearance is the first picture of a sentence naming it where the
    oracle sees it; later appearances are later such pictures (a picture that lacks the
    element is an alignment miss, not counted here).
    """
    first: dict[str, object] = {}
    matched = later = 0
    for facts, reading in story:
        if reading is None:
            continue
        for said in facts.things:
            seen = reading.thing(said.kind)
            if seen is None:
                continue
            if said.kind not in first:
                first[said.kind] = seen
                continue
            origin = first[said.kind]
            later += 1
            same_hat = not is_character(said.kind) or seen.hat == origin.hat
            matched += seen.colour == origin.colour and same_hat
    return Consistency(matched, later)


def luminance(pixels: np.ndarray) -> float:
    """Mean Rec. 601 luma of an RGB array."""
    p = pixels.astype(np.float64)
    return float((0.299 * p[..., 0] + 0.587 * p[..., 1] + 0.114 * p[..., 2]).mean())


def changed_outside(
    before: np.ndarray,
    after: np.ndarray,
    box: tuple[float, float, float, float],
    tolerance: int = 32,
) -> float:
    """Share of pixels outside box (x0, y0, x1, y1 in 0..1) whose colour changed visibly."""
    h, w = before.shape[:2]
    x0, y0, x1, y1 = box
    outside = np.ones((h, w), dtype=bool)
    outside[round(y0 * h) : round(y1 * h), round(x0 * w) : round(x1 * w)] = False
    diff = np.abs(before.astype(np.int16) - after.astype(np.int16)).max(axis=-1)
    return float((diff[outside] > tolerance).mean()) if outside.any() else 0.0


@dataclass(frozen=True)
class EditCase:
    """A fixed edit request on a fixed sentence, and what the edited picture must show.

    `change` is one of: time, weather (`value` the new one), darker, colour (`kind`
    turns `value`), add (`kind` appears, at `value` when given), remove (`kind` is gone).
    """

    name: str
    sentence: str
    request: str
    change: str
    value: str = ""
    kind: str = ""


def edit_succeeded(
    case: EditCase, before, after, before_pixels: np.ndarray, after_pixels: np.ndarray
) -> bool:
    """Whether the edited picture shows the asked change (read by the oracle, or by luma)."""
    if case.change == "time":
        return after.time == case.value
    if case.change == "weather":
        return after.weather == case.value
    if case.change == "darker":
        return luminance(after_pixels) < 0.9 * luminance(before_pixels)
    seen = after.thing(case.kind)
    if case.change == "colour":
        return seen is not None and seen.colour == case.value
    if case.change == "add":
        return seen is not None and (not case.value or seen.position == case.value)
    if case.change == "remove":
        return seen is None
    raise ValueError(f"unknown change {case.change!r}")


def edit_region(case: EditCase, before) -> tuple[float, float, float, float] | None:
    """Where a local edit may change the picture; None for global edits."""
    if case.change == "add":
        return POSITION_BOXES.get(case.value, (0.2, 0.0, 0.8, 1.0))
    if case.change in ("colour", "remove"):
        seen = before.thing(case.kind)
        return POSITION_BOXES[seen.position] if seen is not None else None
    return None


EDITS: tuple[EditCase, ...] = (
    EditCase("night", "A red fox sits in the forest by day.", "make it night", "time", "night"),
    EditCase("darker", "A girl in a yellow dress walks in the village.", "darker", "darker"),
    EditCase(
        "winter",
        "A knight stands on the mountain under a clear sky.",
        "make it winter",
        "weather",
        "snow",
    ),
    EditCase(
        "colour",
        "A red fox sleeps in the forest by day.",
        "the fox's fur should be blue",
        "colour",
        "blue",
        "fox",
    ),
    EditCase(
        "add",
        "A house stands in the village by day.",
        "add a cat on the left",
        "add",
        "left",
        "cat",
    ),
    EditCase(
        "remove",
        "A boy plays near a tree in the forest.",
        "remove the tree",
        "remove",
        "",
        "tree",
    ),
)
