"""Seed 000's screening data: the labelling rules of [0238]-[0240], the TSV format, the split."""

from __future__ import annotations

import csv
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

TSV_COLUMNS = ("text", "generability", "verb_included", "genre")
UNLABELLED = -1  # verb_included that a person still has to judge


class ScreeningDataError(ValueError):
    """A screening TSV row is malformed; the message names the file and line."""


@dataclass(frozen=True)
class ScreeningExample:
    """One labelled prompt: generability index 0/1/2 and description type (1: action)."""

    text: str
    generability: int
    verb_included: int  # 0, 1, or UNLABELLED
    genre: str = ""


def image_conforms(present: Sequence[bool]) -> bool:
    """[0239]: every concrete element appears; with more than five, 90% of them suffice.

    The share is rounded down, as in the seed's example [0240]: seven elements need six
    (7 * 90% = 6.3); rounding up would demand all seven.
    """
    if not present:
        return False
    if len(present) <= 5:
        return all(present)
    return sum(present) >= math.floor(0.9 * len(present))


def generability_index(conforming: int) -> int:
    """[0238]: 2 when three or more of the images conform, 1 for one or two, 0 for none."""
    if conforming >= 3:
        return 2
    return 1 if conforming >= 1 else 0


def read_examples(path: Path, *, require_type: bool = True) -> list[ScreeningExample]:
    """Rows of a screening TSV with a header; `require_type` refuses unlabelled action types."""
    examples = []
    with Path(path).open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or tuple(header[:3]) != TSV_COLUMNS[:3]:
            raise ScreeningDataError(f"{path}: the header must start with {TSV_COLUMNS[:3]}")
        for line, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            examples.append(_parse_row(path, line, row, require_type))
    if not examples:
        raise ScreeningDataError(f"{path}: no examples")
    return examples


def _parse_row(path: Path, line: int, row: list[str], require_type: bool) -> ScreeningExample:
    if len(row) < 3 or not row[0].strip():
        raise ScreeningDataError(f"{path}:{line}: needs text, generability and verb_included")
    try:
        generability, verb = int(row[1]), int(row[2])
    except ValueError:
        raise ScreeningDataError(f"{path}:{line}: labels must be integers") from None
    allowed_verb = {0, 1} if require_type else {0, 1, UNLABELLED}
    if generability not in (0, 1, 2) or verb not in allowed_verb:
        raise ScreeningDataError(f"{path}:{line}: labels out of range: {row[1]!r}, {row[2]!r}")
    return ScreeningExample(
        row[0].strip(), generability, verb, row[3].strip() if len(row) > 3 else ""
    )


def write_examples(path: Path, examples: Iterable[ScreeningExample]) -> None:
    """Write a screening TSV; tabs and line breaks inside a text become spaces."""
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(TSV_COLUMNS) + "\n")
        for example in examples:
            text = " ".join(example.text.split())
            fields = (text, str(example.generability), str(example.verb_included), example.genre)
            handle.write("\t".join(fields) + "\n")


def held_out_split(count: int, fraction: float = 0.2, seed: int = 0) -> tuple[list[int], list[int]]:
    """Training and held-out row indices: a seeded shuffle, so every run holds out the same rows."""
    if not 0 < fraction < 1:
        raise ValueError("the held-out fraction must be between 0 and 1")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    held = max(1, round(count * fraction)) if count > 1 else 0
    return sorted(order[held:]), sorted(order[:held])


def majority_accuracy(train: Sequence[int], test: Sequence[int]) -> float:
    """Held-out accuracy of always answering the training set's most common label."""
    if not test:
        return 0.0
    majority = max(set(train), key=list(train).count)
    return sum(label == majority for label in test) / len(test)
