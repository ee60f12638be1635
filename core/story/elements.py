"""Finds the concrete things a sentence names: the nouns that become story elements.

Seed 000 scores candidates against a prompt's noun elements, not its whole text [0130].
With a parser (spaCy), an element is a noun with its adjective and compound modifiers ("the
old sailor's blue scarf": "old sailor", "blue scarf"). Without one, English noun phrases are
found by their shape: a determiner or possessive, up to two modifiers, then the head noun;
capitalised words inside a sentence are names. Sentences where nothing is found fall back to
the whole prompt (SPEC decision).
"""

from __future__ import annotations

import re

from core.edit.parsing import Parse, Parser, Word
from core.story.clauses import is_predicate

_DETERMINERS = {
    "a", "an", "the", "his", "her", "their", "its", "my", "our", "your", "this", "that",
    "these", "those", "some", "two", "three", "several", "every", "each",
}  # fmt: skip
# Words that end a noun phrase or can't be its head.
_STOP = {
    "and", "or", "but", "of", "in", "on", "at", "to", "from", "with", "by", "for", "over",
    "under", "above", "below", "into", "onto", "across", "through", "behind", "beside",
    "near", "is", "are", "was", "were", "be", "been", "has", "have", "had", "who", "which",
    "that", "while", "as", "then", "than", "very", "so", "not", "there", "here",
}  # fmt: skip
_NOT_NAMES = _DETERMINERS | _STOP | {"i", "he", "she", "they", "we", "it", "you", "when"}
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def noun_elements(sentence: str, parser: Parser | None = None) -> list[str]:
    """Element names in order of appearance, lower-case, without duplicates."""
    if parser is not None:
        return parsed_nouns(parser.parse(sentence))
    words = _WORD.findall(sentence)
    found: list[str] = []
    index = 0
    while index < len(words):
        word = words[index]
        lower = word.lower()
        if lower in _DETERMINERS:
            phrase = _phrase_after(words, index + 1)
            if phrase:
                found.append(phrase)
                index += 1 + len(phrase.split())
                continue
        elif word[0].isupper() and lower not in _NOT_NAMES and not lower.endswith("ly"):
            found.append(lower)  # a name: a character or a place
        index += 1
    return list(dict.fromkeys(found))


_NOUNS = ("NOUN", "PROPN")
_MODIFYING = ("amod", "compound")  # "blue scarf", "market street"; not "two", "the", "very"


def parsed_nouns(parse: Parse) -> list[str]:
    """Each noun of a parse that heads its phrase, with its modifiers, in order."""
    found = []
    for word in parse:
        if word.pos in _NOUNS and word.dep != "compound" and not is_predicate(parse, word):
            words = sorted([word, *_modifiers(parse, word)], key=lambda w: w.index)
            found.append(" ".join(w.lower for w in words))
    return list(dict.fromkeys(found))


def _modifiers(parse: Parse, head: Word) -> list[Word]:
    """The adjectives and nouns that modify `head` from its left, and theirs."""
    found = []
    for word in parse:
        modifies = word.head == head.index and word.index < head.index
        # "broken" in "a broken cart" may be tagged a verb
        if modifies and word.dep in _MODIFYING and word.pos in ("ADJ", *_NOUNS, "VERB"):
            found += [word, *_modifiers(parse, word)]
    return found


def _phrase_after(words: list[str], start: int) -> str:
    """Modifiers, then the first word that isn't one: "a black cliff", "the old wooden door".

    A run that ends before any head ("the city.") keeps its last word as the head.
    """
    phrase: list[str] = []
    for word in words[start : start + 3]:
        lower = word.lower()
        if lower in _STOP or lower in _DETERMINERS or lower.endswith("ly"):
            break
        phrase.append(lower)
        if not _looks_like_modifier(lower):
            break
    return " ".join(phrase)


_MODIFIERS = {
    "black", "white", "red", "yellow", "green", "blue", "grey", "gray", "brown", "pink",
    "purple", "orange", "golden", "silver", "dark", "bright", "pale", "small", "big",
    "large", "little", "tiny", "huge", "old", "young", "new", "tall", "short", "long",
    "wide", "narrow", "deep", "high", "low", "quiet", "loud", "cold", "warm", "hot",
    "wet", "dry", "soft", "hard", "thin", "thick", "first", "last", "next", "other",
    "same", "whole", "broken", "ancient", "lonely", "empty", "full", "wild", "calm",
}  # fmt: skip
_MODIFIER_ENDINGS = ("y", "ful", "ous", "al", "ish", "en", "ed", "ing", "ive", "ic", "less")


def _looks_like_modifier(word: str) -> bool:
    return word in _MODIFIERS or (len(word) > 4 and word.endswith(_MODIFIER_ENDINGS))


def head_noun(element: str) -> str:
    """The last word of an element: what the library matches across sentences."""
    return element.split()[-1]
