"""Seed 001's reading of a text: background and foreground elements, topics, emotion, style."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.compose.tables import Tables
from core.edit.parsing import Parser
from core.story.elements import noun_elements

_WORD = re.compile(r"[a-z][a-z'-]*")
# The cast's kinds (core.story.consistency.TYPE_WEIGHTS): places are a picture's background.
BACKGROUND_KINDS = frozenset({"environment"})


@dataclass(frozen=True)
class SceneReading:
    """What a composed picture is made of, read from its text ([0030]-[0037])."""

    background: tuple[str, ...]
    foreground: tuple[str, ...]
    topic_elements: tuple[str, ...]  # what topic words expanded into
    emotions: tuple[str, ...]
    emotion_elements: tuple[str, ...]  # what emotion words became
    style: str
    style_from: str  # the style table's row that chose it

    @property
    def added_words(self) -> tuple[str, ...]:
        """Picture elements the text implies but does not name: they join its prompt."""
        return tuple(dict.fromkeys((*self.topic_elements, *self.emotion_elements)))

    def background_prompt(self) -> str:
        parts = [*self.background, *self.emotion_elements]
        parts += [e for e in self.topic_elements if e not in self.foreground]
        return ", ".join(dict.fromkeys(parts)) or "an empty place"

    def record(self) -> dict[str, Any]:
        return {
            "background": list(self.background),
            "foreground": list(self.foreground),
            "topic_elements": list(self.topic_elements),
            "emotions": list(self.emotions),
            "emotion_elements": list(self.emotion_elements),
            "style": self.style,
            "style_from": self.style_from,
        }


def head_word(phrase: str) -> str:
    """The word a phrase is named by in a prompt ("old sailor" -> "sailor")."""
    words = phrase.split()
    return words[-1] if words else phrase


def layer_of(phrase: str, tables: Tables, kinds: Mapping[str, str]) -> str:
    """Background or foreground: the cast's kind first, then the word table, else foreground."""
    kind = kinds.get(phrase) or kinds.get(head_word(phrase))
    if kind is not None:
        return "background" if kind in BACKGROUND_KINDS else "foreground"
    for word in (head_word(phrase), *reversed(phrase.split())):
        for form in (word, word.rstrip("s")):
            if form in tables.layers:
                return tables.layers[form]
    return "foreground"


def read_scene(
    text: str,
    tables: Tables,
    kinds: Mapping[str, str] | None = None,
    parser: Parser | None = None,
) -> SceneReading:
    """The text's elements by layer, topic and emotion elements added, and its style."""
    kinds = kinds or {}
    words = _WORD.findall(text.lower())
    # A topic word ("birthday") is not drawn itself: what it expands into is.
    named = [bare(p) for p in noun_elements(text, parser) if bare(p) not in tables.topics]
    topics: list[str] = []
    for word in words:
        for element in tables.topics.get(word, ()):
            if bare(element) not in named:
                topics.append(bare(element))
    emotions: list[str] = []
    emotion_elements: list[str] = []
    for word in words:
        found = tables.emotions.get(word)
        if found is not None:
            emotions.append(found[0])
            emotion_elements.extend(found[1])
    background, foreground = [], []
    for phrase in dict.fromkeys([*named, *topics]):
        layer = layer_of(phrase, tables, kinds)
        (background if layer == "background" else foreground).append(phrase)
    emotion_set = set(emotions)
    element_words = {w for phrase in (*named, *topics, *emotion_elements) for w in phrase.split()}
    element_words |= set(words)
    style, style_from = "", ""
    for rule in tables.styles:
        if rule.matches(emotion_set, element_words):
            style, style_from = rule.style, rule.when
            break
    return SceneReading(
        background=tuple(dict.fromkeys(background)),
        foreground=tuple(dict.fromkeys(foreground)),
        topic_elements=tuple(dict.fromkeys(topics)),
        emotions=tuple(dict.fromkeys(emotions)),
        emotion_elements=tuple(dict.fromkeys(emotion_elements)),
        style=style,
        style_from=style_from,
    )


def bare(phrase: str) -> str:
    """A table element without its article ("a cake" -> "cake")."""
    for article in ("a ", "an ", "the ", "some "):
        if phrase.startswith(article):
            return phrase[len(article) :]
    return phrase
