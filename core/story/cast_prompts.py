"""Drawing with the cast: a sentence that names an element, or refers to one by a pronoun,
draws it as its description says ("The fox wakes." is drawn as "The red fox wakes.").

A pronoun (he, she, it, they and their other forms) refers to the most recently mentioned
element with that pronoun; a character whose pronoun is not known yet takes the first "he" or
"she" that follows it. Places and props are "it" unless writers say otherwise; "it" before
"is"/"was" ("it was raining") refers to nothing. Descriptions never push a prompt past the text
encoder's token budget: the last ones are left out first. Words the writers gave the element
in the sentence itself ("the blue fox") win over its description.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from core.story.cast_settings import CastSettings
from core.story.describing import description_parts
from core.story.elements import head_noun, noun_elements
from storage.base import ElementRecord, Storage

PRONOUNS = {
    "he": "he", "him": "he", "his": "he", "she": "she", "her": "she", "hers": "she",
    "it": "it", "its": "it", "they": "they", "them": "they", "their": "they",
}  # fmt: skip
_PIECES = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")
_WORDS = re.compile(r"[A-Za-z']+")


def estimated_tokens(text: str) -> int:
    """A CLIP BPE token count that is never below the real one for English text: every
    piece of punctuation is a token, every word one token per 4 letters (rounded up), plus
    the start and end tokens."""
    return 2 + sum(max(1, math.ceil(len(piece) / 4)) for piece in _PIECES.findall(text))


def pronoun_of(element: ElementRecord) -> str:
    return element.pronoun or ("it" if element.kind != "character" else "")


@dataclass(frozen=True)
class Mention:
    element: ElementRecord
    phrase: str  # as the sentence names it ("red fox"), or the pronoun ("he")
    by_pronoun: bool


class Mentions:
    """Which cast entries a story's sentences mention, sentence after sentence."""

    def __init__(self, cast: list[ElementRecord]) -> None:
        self._cast = {element.name: element for element in cast}
        # Oldest first: the last one is the most recently mentioned.
        self._recent = [e.name for e in sorted(cast, key=lambda e: e.last_seen)]
        self.learned: dict[str, str] = {}  # element name -> pronoun read from the text

    def of(self, sentence: str) -> list[Mention]:
        found: list[Mention] = []
        for phrase in noun_elements(sentence):
            element = self._cast.get(head_noun(phrase))
            if element is not None and all(m.element.name != element.name for m in found):
                found.append(Mention(element, phrase, by_pronoun=False))
        words = [word.lower() for word in _WORDS.findall(sentence)]
        for position, word in enumerate(words):
            pronoun = PRONOUNS.get(word)
            following = words[position + 1] if position + 1 < len(words) else ""
            if pronoun is None or (pronoun == "it" and following in ("is", "was", "'s")):
                continue
            element = self._referent(pronoun, exclude={m.element.name for m in found})
            if element is not None:
                found.append(Mention(element, word, by_pronoun=True))
        for mention in found:  # pronouns resolve against what came before this sentence
            self._recent = [n for n in self._recent if n != mention.element.name]
            self._recent.append(mention.element.name)
        return found

    def _referent(self, pronoun: str, exclude: set[str]) -> ElementRecord | None:
        for name in reversed(self._recent):
            element = self._cast[name]
            if name in exclude:
                continue
            if pronoun_of(element) == pronoun:
                return element
            if pronoun in ("he", "she") and element.kind == "character" and not element.pronoun:
                self._cast[name] = element = replace(element, pronoun=pronoun)
                self.learned[name] = pronoun
                return element
        return None

    def add(self, element: ElementRecord) -> None:
        """A new or changed entry (learned while the story is drawn)."""
        self._cast[element.name] = element
        if element.name not in self._recent:
            self._recent.append(element.name)


def described(sentence: str, mentions: list[Mention], budget: int) -> str:
    """The sentence with its mentioned elements' descriptions, within `budget` tokens."""
    usable = [m for m in mentions if m.element.description and _bare(m)]
    for keep in range(len(usable), -1, -1):
        prompt = _with(sentence, usable[:keep])
        if estimated_tokens(prompt) <= budget or keep == 0:
            return prompt
    return sentence


def _bare(mention: Mention) -> bool:
    """The sentence says nothing new of the element's look: it names it as the story did."""
    element = mention.element
    return mention.by_pronoun or mention.phrase in (element.name, *element.aliases)


def _with(sentence: str, mentions: list[Mention]) -> str:
    trailing: list[str] = []
    for mention in mentions:
        before, after = description_parts(mention.element.description)
        name = mention.element.name
        before = [word for word in before if word not in mention.phrase.split()]
        if mention.by_pronoun:
            trailing.append(_joined(" ".join([*before, name]), after, inline=False))
            continue
        match = re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE).search(sentence)
        if match is None:
            continue
        words = _joined(" ".join([*before, match.group(0)]), after, inline=True)
        sentence = sentence[: match.start()] + words + sentence[match.end() :]
    if not trailing:
        return sentence
    body = sentence.rstrip()
    end = body[-1] if body and body[-1] in ".!?" else ""
    body = body[: len(body) - len(end)] if end else body
    return f"{body}, {', '.join(trailing)}{end or '.'}"


_LINKS = ("with", "without", "in", "wearing", "holding", "carrying", "on")


def _joined(named: str, after: list[str], inline: bool) -> str:
    """ "fox with a hat"; "tom, grey beard, green apron," inside a sentence (no comma at its
    end when the parts are its last words)."""
    if not after:
        return named
    if all(part.split()[0] in _LINKS for part in after):
        return " ".join([named, *after])
    return f"{named}, {', '.join(after)}" + ("," if inline else "")


class CastPrompts:
    """A paragraph's prompts drawn with the cast's descriptions, in story order."""

    def __init__(self, cast: list[ElementRecord], settings: CastSettings) -> None:
        self._mentions = Mentions(cast)
        self._settings = settings
        self._seen: dict[str, list[Mention]] = {}

    @classmethod
    async def load(cls, storage: Storage, channel_key: str, settings: CastSettings) -> CastPrompts:
        return cls(await storage.elements.list(channel_key), settings)

    def prompt(self, text: str, reserved: str = "") -> str:
        """`text` as drawn: with descriptions, leaving room for `reserved` words added later."""
        if text not in self._seen:
            self._seen[text] = self._mentions.of(text)
        if not self._settings.describe:
            return text
        budget = self._settings.prompt_tokens - (estimated_tokens(reserved) - 2 if reserved else 0)
        return described(text, self._seen[text], budget)

    def elements(self, text: str) -> list[ElementRecord]:
        """The cast entries `text` names or refers to, as `prompt` found them."""
        if text not in self._seen:
            self._seen[text] = self._mentions.of(text)
        return [mention.element for mention in self._seen[text]]

    @property
    def learned_pronouns(self) -> dict[str, str]:
        return dict(self._mentions.learned)
