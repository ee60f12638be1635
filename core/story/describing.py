"""An element's written description, read from its first appearance: the words the writers
used for it, else CLIP's zero-shot reading of its crop (its colour; whether it wears a hat).

A description is a comma-separated list of parts ("red, with a hat"; "grey beard, green
apron"); writers may replace it. One-word parts are adjectives, drawn before the noun ("the
red fox"); longer parts follow it ("the fox with a hat").
"""

from __future__ import annotations

import numpy as np

from core.story.consistency import cosines

COLOURS = (
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white",
    "grey",
)  # fmt: skip
# Pairs read against each other: the first joins the description when it reads better.
WEARING = (("with a hat", "without a hat"),)
# A reading joins only when CLIP prefers it by this much: a colour over the colours' mean, a
# garment over its absence (the zero-shot margin).
READING_MARGIN = 0.01


def reading_texts(name: str) -> list[str]:
    """The texts CLIP compares an element's crop with, in `read_description`'s order."""
    colours = [f"a {colour} {name}" for colour in COLOURS]
    return colours + [f"a {name} {words}" for pair in WEARING for words in pair]


def stated_words(phrase: str) -> list[str]:
    """The writers' own words for the element: the phrase's modifiers ("red" of "red fox")."""
    return phrase.split()[:-1]


def read_description(phrase: str, region: np.ndarray | None, features: np.ndarray | None) -> str:
    """The first appearance's description: stated words first, then what the crop shows.

    `features` are CLIP's text features of `reading_texts(name)`, `region` the crop's image
    feature; without them only the stated words are kept.
    """
    parts = stated_words(phrase)
    if region is None or features is None:
        return ", ".join(parts)
    scores = cosines(features, region)
    colours = scores[: len(COLOURS)]
    if not any(word in COLOURS for word in parts):
        best = int(np.argmax(colours))
        if colours[best] - float(np.mean(colours)) >= READING_MARGIN:
            parts.insert(0, COLOURS[best])
    for number, (yes, _) in enumerate(WEARING):
        pair = scores[len(COLOURS) + 2 * number : len(COLOURS) + 2 * number + 2]
        if pair[0] - pair[1] >= READING_MARGIN:
            parts.append(yes)
    return ", ".join(parts)


def description_parts(description: str) -> tuple[list[str], list[str]]:
    """(adjectives before the noun, phrases after it) of a description."""
    parts = [part.strip() for part in description.split(",") if part.strip()]
    return [p for p in parts if " " not in p], [p for p in parts if " " in p]
