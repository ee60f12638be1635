"""Short stories in the world's words, for the quality benchmark.

Each story has a recurring cast whose colour is said once or never, told over two or three
paragraphs of plain sentences (no commas: each sentence is drawn whole, not clause by
clause). A sentence's facts are what it states (`read_text`); the story's cast is the colour
a recurring element was given, where it was given one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from picturebook.captions import read_text
from picturebook.world import Facts

# Paragraphs are separated by " | ".
TEXTS: dict[str, str] = {
    "the red fox": (
        "A red fox sleeps under the old tree in the forest. The fox wakes at dusk. "
        "The fox runs through the forest. | The fox finds a cup near the tree. "
        "The fox sits beside the cup at night. The fox sleeps in the snow in the forest. | "
        "A gull flies over the fox at night."
    ),
    "the knight's sword": (
        "A knight in a blue cloak walks into the castle hall. The knight finds a sword. "
        "The knight lifts the sword in the castle hall at dusk. | "
        "The knight rides up the mountain. The knight rests on the mountain in the snow. "
        "A dragon roars near the knight on the mountain. | "
        "The knight holds the sword near the dragon at night."
    ),
    "the witch's lantern": (
        "A witch with a hat walks through the village at night. The witch carries a purple "
        "lantern. | The witch stops near a house in the village. The lantern glows beside "
        "the house. A cat sleeps near the house at night. | The witch and the cat walk into "
        "the room. The lantern stands in the room. The cat plays near the lantern."
    ),
    "the harbour boat": (
        "A yellow boat rests in the harbour by day. A gull circles over the boat. "
        "A boy runs to the harbour. | The boy sits in the boat in the harbour. "
        "The gull flies near the boy. The boat waits in the harbour in the rain. | "
        "The boy and the gull wait in the harbour at dusk."
    ),
    "the old man's cup": (
        "An old man in a green robe sits in the room. The old man drinks from a white cup. "
        "| The old man tells a tale in the room at night. A girl listens to the old man. "
        "The girl holds the cup. | The old man and the girl walk through the village. "
        "The old man smiles in the village in the snow."
    ),
    "the dragon's chest": (
        "A purple dragon sleeps on the mountain. The dragon guards a chest. | "
        "A knight climbs the mountain at dusk. The knight finds the chest on the mountain. "
        "The dragon wakes near the knight. | The dragon roars at the knight at night. "
        "The knight runs down the mountain in the snow."
    ),
    "the girl and the cat": (
        "A girl in a red dress walks through the forest. A cat follows the girl. | "
        "The girl and the cat rest under a tree in the forest. The cat sleeps near the tree. "
        "The girl waits in the forest in the rain. | "
        "The girl carries the cat into the room. The cat sleeps in the room at night."
    ),
    "the boy and the gull": (
        "A boy with a hat plays on the mountain by day. A white gull glides over the boy. "
        "| The boy follows the gull down the mountain. The gull flies over the harbour. "
        "The boy waits in the harbour at dusk. | The gull lands near the boy. "
        "The boy and the gull rest in the harbour at night."
    ),
    "the house in the snow": (
        "A blue house stands in the village. Snow falls on the house. "
        "A boy plays near the house in the snow. | The boy walks into the room. "
        "The boy finds a cup in the room. The boy smiles in the room at night. | "
        "The house glows in the village at night."
    ),
    "the witch and the dragon": (
        "A witch walks up the mountain. A dragon sleeps on the mountain. | "
        "The witch casts a spell near the dragon. The dragon wakes at dusk. "
        "The dragon and the witch fly over the forest. | The dragon rests in the forest. "
        "The witch sits beside the dragon at night."
    ),
    "the lost sword": (
        "A sword lies in the forest. A fox finds the sword. | "
        "The fox carries the sword through the forest. A knight without a hat walks "
        "through the forest. The knight sees the fox. | The knight takes the sword. "
        "The knight and the fox walk into the village at dusk."
    ),
    "the lantern in the hall": (
        "A green lantern stands in the castle hall. The lantern glows at night. | "
        "A girl walks into the castle hall. The girl lifts the lantern. "
        "The girl carries the lantern through the castle hall. | "
        "A cat follows the girl. The cat sleeps near the lantern."
    ),
    "the old tree": (
        "A tree with yellow leaves stands on the mountain. An old man rests under the tree. "
        "| A gull flies over the tree. The old man watches the gull. | "
        "The old man sleeps under the tree at night. The tree sways in the snow. "
        "The old man walks down the mountain at dawn."
    ),
    "the treasure chest": (
        "A chest lies in the harbour. A boy finds the chest. | The boy opens the chest. "
        "The boy carries the chest to a boat. The boat waits in the harbour. | "
        "The boy and the chest rest in the boat. The boat sails at dusk."
    ),
    "the cat and the cup": (
        "A white cat sits in the room. A cup stands near the cat. | The cat plays with the "
        "cup. The cup falls. The cat runs through the room. | The cat sleeps in the room at "
        "night. The cup stands in the room at night."
    ),
    "the knight and the witch": (
        "A knight rests in the village. A witch in a yellow cloak walks into the village. | "
        "The witch casts a spell on the knight. The knight sleeps in the village. "
        "The witch laughs at dusk. | The knight wakes at night. The knight and the witch "
        "walk through the village in the rain."
    ),
    "the fox in the harbour": (
        "A fox walks into the harbour. The fox sees a boat. A gull circles over the fox. | "
        "The fox sleeps in the boat. The boat rests in the harbour in the rain. | "
        "The gull flies over the boat at dusk. The fox wakes in the harbour at night."
    ),
    "the girl's house": (
        "A girl walks through the village. The girl sees a red house. | "
        "The girl stands near the house at dusk. The girl walks into the room. "
        "A cup stands in the room. | The girl sits near the cup. "
        "The girl sings in the room at night."
    ),
    "the dragon in the forest": (
        "A green dragon rests in the forest. A boy walks through the forest. | "
        "The boy sees the dragon. The dragon sleeps under a tree. "
        "The boy sits near the dragon at dusk. | The dragon and the boy wait in the forest "
        "in the snow. The boy sleeps beside the dragon at night."
    ),
    "the lantern on the mountain": (
        "An old man with a hat climbs the mountain. The old man carries a lantern. | "
        "The lantern glows on the mountain at night. The old man rests near the lantern. | "
        "A fox comes to the lantern. The fox and the old man wait on the mountain in the "
        "snow."
    ),
    "the boat and the knight": (
        "A red boat lies in the harbour. A knight walks into the harbour. | "
        "The knight sits in the boat. A gull flies over the knight. | "
        "The boat waits in the harbour at dusk. The knight sleeps in the boat at night. "
        "The gull rests near the boat in the rain."
    ),
    "the witch's cup": (
        "A witch sits in the castle hall. The witch holds a purple cup. | "
        "A cat walks into the castle hall. The cat sits near the witch. "
        "The witch gives the cup to the cat. | The cat sleeps near the cup at night. "
        "The witch laughs in the castle hall."
    ),
}


@dataclass(frozen=True)
class StorySentence:
    """One sentence of a story, where it stands, and the facts it states."""

    text: str
    paragraph: int
    index: int  # the sentence's place in its paragraph

    @cached_property
    def facts(self) -> Facts:
        return read_text(self.text)


@dataclass(frozen=True)
class Story:
    """A titled story: paragraphs of sentences, and the colours its cast was given."""

    title: str
    paragraphs: tuple[tuple[str, ...], ...]

    @property
    def sentences(self) -> list[StorySentence]:
        return [
            StorySentence(text, p, i)
            for p, paragraph in enumerate(self.paragraphs)
            for i, text in enumerate(paragraph)
        ]

    def recurring(self) -> list[str]:
        """Kinds named in two sentences or more."""
        counts = Counter(t.kind for s in self.sentences for t in s.facts.things)
        return sorted(kind for kind, count in counts.items() if count >= 2)

    def cast(self) -> dict[str, str]:
        """The colour each element was given when it was first said."""
        colours: dict[str, str] = {}
        for sentence in self.sentences:
            for thing in sentence.facts.things:
                if thing.colour is not None:
                    colours.setdefault(thing.kind, thing.colour)
        return colours


def _split(text: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(re.split(r"(?<=\.) +", part.strip())) for part in text.split(" | "))


STORIES: tuple[Story, ...] = tuple(Story(title, _split(text)) for title, text in TEXTS.items())
QUICK: tuple[Story, ...] = STORIES[:4]
