"""Reading a writer's reply to a picture as one kind of edit, by rules, shown back to them."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Literal

from core.edit.cast import Cast
from core.edit.parsing import Parser
from core.edit.reading import read_parsed
from core.edit.vocabulary import (
    DEFAULT_PLACE,
    GLOBAL_WORDS,
    PLACES,
    UNSUPPORTED,
    WHOLE_PICTURE,
    Look,
    global_look,
)
from core.engine import ToneShift

IntentKind = Literal[
    "global",
    "style",
    "framing",
    "resize",
    "move",
    "add",
    "remove",
    "attribute",
    "correction",
    "undo",
    "redo",
    "original",
    "quality",
    "question",
    "unsupported",
]
# Kinds that draw a new version (the rest answer, restore, or walk the edit chain).
DRAWN_KINDS = (
    "global",
    "style",
    "framing",
    "resize",
    "move",
    "add",
    "remove",
    "attribute",
    "correction",
)
Region = tuple[float, float, float, float]

EXAMPLES = (
    "Try for example: 'I prefer darker', 'make it a winter night', 'add a dog on the left', "
    "'remove the car', 'give him slicked-back hair', 'her dress should be red', or 'undo'."
)


@dataclass(frozen=True)
class EditIntent:
    """What a reply asks for; `question` is the answer when it can't be done as asked."""

    kind: IntentKind
    element: str = ""  # add/remove: the thing; attribute: whose attribute ("him", "the knight")
    attribute: str = ""  # attribute: the new attribute, e.g. "slicked-back hair"
    attribute_word: str = ""  # attribute: the word naming its region, e.g. "hair"
    words: str = ""  # global: words the new prompt gets
    tone: ToneShift | None = None
    region: Region | None = None
    keep: bool = False  # a preference for the whole story ("I prefer ...", "from now on")
    question: str = ""
    place: str = ""  # add/move: the named place ("left", "sky"), "" when none was named
    direction: str = ""  # framing: in/out/left/right/up/down; resize: bigger/smaller
    style: str = ""  # style: the named style ("woodcut print")
    confidence: float = 1.0  # how sure the reading is (the encoder's share for its kind)
    read_by: str = "rules"  # "rules", "parser", "parser+encoder", "encoder"

    def describe(self, target: str = "") -> str:
        """The decision in words, as the writer sees it: "I read this as: …"."""
        scope = "for this story from now on" if self.keep else "for this picture"
        if self.kind == "global":
            return f"a global change ({self.words}) {scope}"
        if self.kind == "style":
            return f"a style change to '{self.style}' {scope}"
        if self.kind == "framing":
            return FRAMING_WORDS.get(self.direction, "a new framing")
        if self.kind == "resize":
            return f"making '{self.element}' {self.direction}"
        if self.kind == "move":
            return f"moving '{self.element}' to the {self.place or 'named place'}"
        if self.kind == "correction":
            on = target or self.element
            return f"a correction of {on}: {self.attribute} (the cast is updated and redrawn)"
        if self.kind == "quality":
            return "a quality complaint (the restorer's version)"
        if self.kind == "add":
            return f"adding '{self.element}'"
        if self.kind == "remove":
            return f"removing '{self.element}'"
        if self.kind == "attribute":
            on = target or self.element
            return f"a local edit of '{self.attribute_word}' on '{on}': {self.attribute}"
        return {"undo": "undo", "redo": "redo", "original": "show the original"}.get(self.kind, "")


FRAMING_WORDS = {
    "in": "zooming in",
    "out": "zooming out",
    "left": "panning to the left",
    "right": "panning to the right",
    "up": "panning up",
    "down": "panning down",
}


_POLITE = re.compile(
    r"^(?:(?:please|pls|ok|okay|hmm|hey|inkwell|can you|could you|would you|i want you to|"
    r"i'd like you to|i would like you to|let's|lets|maybe|now)[\s,]+)+"
)
_PREFERENCE = re.compile(
    r"\b(?:i prefer|i'd prefer|i would prefer|i'd rather|i like it|from now on|always|"
    r"in general|for the whole story|everywhere|from here on|all the pictures|every picture)\b"
)
_UNDO = re.compile(
    r"^(?:undo|undo (?:that|it|the edit)|go back|revert(?: it| that)?|take (?:that|it) back)$"
)
_ORIGINAL_CUE = re.compile(
    r"\b(?:original|first (?:one|version|picture)|how it (?:started|began|was at first))\b"
)
_UNDO_CUE = re.compile(
    r"\b(?:undo|go back|revert|previous (?:one|version)|the way it was|better before|"
    r"as it was)\b"
)
_REDO_CUE = re.compile(
    r"\b(?:redo|bring (?:back )?(?:the|that|my) (?:edit|change)|"
    r"bring (?:it|that) back|put (?:that|it) back)\b"
)
_HISTORY_WORDS = {
    "the", "a", "it", "that", "this", "to", "i", "me", "show", "one", "version", "edit",
    "change", "picture", "back", "way", "was", "liked", "like", "better", "please",
    "just", "go", "put", "bring", "previous", "before", "undo", "redo", "revert", "original",
    "how", "started", "first", "as", "again", "my", "last", "let's", "lets", "restore",
}  # fmt: skip
_UNSUPPORTED = re.compile(
    r"^(?:can|could) (?:it|they|he|she) move\b|\bacross the screen\b|"
    r"\b(?:sail|fly|run|walk|swim|gallop|drive|dance|jump|move)s? (?:away|off|around|across)\b"
)
_REDO = re.compile(r"^(?:redo|redo (?:that|it|the edit)|put (?:it|that) back)$")
_ORIGINAL = re.compile(
    r"^(?:(?:show|see|show me|give me)\s+)?(?:the\s+)?original(?: picture| one| version)?$"
)
_REMOVE = re.compile(
    r"^(?:remove|delete|erase|take out|take away|get rid of|lose)\s+(?P<np>.+)$"
    r"|^(?:no more|without)\s+(?P<np2>.+)$"
    r"|^(?P<np3>.+?)\s+(?:should go|has to go|shouldn't be there|should not be there)$"
)
_ADD = re.compile(
    r"^(?:add|put|place|include|insert|draw)\s+(?P<np>.+)$|^there should be\s+(?P<np2>.+)$"
)
_PLACE_SPLIT = re.compile(
    r"\s+(?:on|in|at|by|beside|behind|near|next to|to|under|over|above|below|into)\s+"
    r"(?:the\s+)?(?P<place>.+)$"
)
_OWNER = r"him|her|them|the [a-z' -]+?"
_POSSESSIVE = r"his|her|their|its|the [a-z -]+?'s"
_GIVE = re.compile(rf"^give (?P<who>{_OWNER}) (?P<attr>.+)$")
_MAKE = re.compile(
    rf"^(?:make|turn|change|colou?r|paint) (?P<who>{_POSSESSIVE}) (?P<noun>[a-z-]+) "
    r"(?:to |into )?(?P<adj>.+)$"
)
_SHOULD_BE = re.compile(
    rf"^(?P<who>{_POSSESSIVE}) (?P<noun>[a-z-]+) (?:should be|is|must be|needs to be|"
    r"could be|has to be) (?P<adj>.+)$"
)
_SHOULD_HAVE = re.compile(
    r"^(?P<who>he|she|they|the [a-z -]+?) (?:should have|needs|could have|must have|"
    r"should wear|wears) (?P<attr>.+)$"
)
_ARTICLES = {"a", "an", "the", "some", "more"}


_ENHANCE = re.compile(r"^(?:enhance|restore|clean up|sharpen)(?: it| this| the picture)?$")


def wants_enhance(text: str) -> bool:
    """A plain request for the restorer ("enhance", the Enhance button's word)."""
    return bool(_ENHANCE.match(normalised(text)))


def understand(
    text: str, parser: Parser | None = None, cast: Cast | None = None, scene: str = ""
) -> EditIntent:
    """Classify one reply; anything unclear becomes a question, never a guess.

    With a parser the request's grammar gives the kind and its slots (core.edit.reading),
    pronouns resolved through `cast` and things checked against the picture's `scene`;
    without one, word-shape rules read the common forms.
    """
    said = normalised(text)
    if not said:
        return EditIntent("question", question="What should change? " + EXAMPLES)
    history = history_of(said)
    if history is not None:
        return EditIntent(history)  # type: ignore[arg-type]
    words = re.findall(r"[a-z][a-z'-]*", said)
    if any(word in UNSUPPORTED for word in words) or _UNSUPPORTED.search(said):
        return EditIntent(
            "unsupported",
            question="Inkwell edits still pictures only: it can't animate them or add sound. "
            + EXAMPLES,
        )
    if parser is not None:
        reading = read_parsed(parser.parse(polite_free(text)), cast or Cast(), scene)
        if reading is not None:
            intent = EditIntent(**reading)
            if intent.kind == "style":
                look = global_look(intent.style.split())
                return replace(
                    intent,
                    words=intent.style,
                    keep=bool(_PREFERENCE.search(said)),
                    tone=_combined(look) if look else None,
                )
            return intent
    else:
        for reader in (_removal, _addition, _attribute):
            intent = reader(said)
            if intent is not None:
                return intent
    return _global(said, words) or EditIntent(
        "question", question="I'm not sure what to change in the picture. " + EXAMPLES
    )


def history_of(said: str) -> str | None:
    """undo / redo / original for requests that say nothing else."""
    for pattern, kind in ((_UNDO, "undo"), (_REDO, "redo"), (_ORIGINAL, "original")):
        if pattern.match(said):
            return kind
    if set(re.findall(r"[a-z]+", said)) - _HISTORY_WORDS:
        return None  # "redo it as a pencil sketch" asks for more than history
    if _ORIGINAL_CUE.search(said):
        return "original"
    if _UNDO_CUE.search(said):
        return "undo"
    if _REDO_CUE.search(said):
        return "redo"
    return None


def polite_free(text: str) -> str:
    """The request as written (its case kept, for names), without politeness around it."""
    said = " ".join(text.replace("’", "'").split()).strip(" .!?")
    match = _POLITE.match(said.lower())
    said = said[match.end() :] if match else said
    return re.sub(r"[\s,]+please$", "", said, flags=re.I).strip(" .!?,")


def normalised(text: str) -> str:
    """The request in lower case, without politeness and punctuation around it."""
    said = " ".join(text.lower().replace("’", "'").split()).strip(" .!?")
    return _POLITE.sub("", said).strip(" .!?,")


def _removal(said: str) -> EditIntent | None:
    match = _REMOVE.match(said)
    if match is None:
        return None
    phrase = match.group("np") or match.group("np2") or match.group("np3")
    element, place = _split_place(phrase)
    if not element:
        return None
    return EditIntent("remove", element=element, region=_region(place) or WHOLE_PICTURE)


def _addition(said: str) -> EditIntent | None:
    match = _ADD.match(said)
    if match is None:
        return None
    element, place = _split_place(match.group("np") or match.group("np2"))
    if not element or element in GLOBAL_WORDS:
        return None  # "add more light" style wishes are read as global changes
    return EditIntent("add", element=element, region=_region(place) or DEFAULT_PLACE)


def _attribute(said: str) -> EditIntent | None:
    for pattern in (_GIVE, _SHOULD_HAVE):
        match = pattern.match(said)
        if match:
            attribute = match.group("attr").strip()
            return _attribute_intent(match.group("who"), attribute, _last_noun(attribute))
    for pattern in (_MAKE, _SHOULD_BE):
        match = pattern.match(said)
        if match:
            noun, adjective = match.group("noun"), match.group("adj").strip()
            return _attribute_intent(match.group("who"), f"{adjective} {noun}", noun)
    return None


def _attribute_intent(who: str, attribute: str, word: str) -> EditIntent | None:
    if not word:
        return None
    owner = who.removesuffix("'s").strip()
    return EditIntent("attribute", element=owner, attribute=attribute, attribute_word=word)


def _global(said: str, words: list[str]) -> EditIntent | None:
    looks = global_look(words)
    if not looks:
        return None
    return EditIntent(
        "global",
        words=", ".join(dict.fromkeys(look.words for look in looks)),
        tone=_combined(looks),
        keep=bool(_PREFERENCE.search(said)),
    )


def _combined(looks: list[Look]) -> ToneShift:
    brightness = saturation = 1.0
    warmth = 0.0
    for look in looks:
        brightness *= look.brightness
        saturation *= look.saturation
        warmth += look.warmth
    return ToneShift(
        brightness=round(brightness, 4),
        saturation=round(saturation, 4),
        warmth=max(-1.0, min(1.0, round(warmth, 4))),
    )


def _split_place(phrase: str) -> tuple[str, str]:
    match = _PLACE_SPLIT.search(phrase)
    if match is None:
        return phrase.strip(), ""
    return phrase[: match.start()].strip(), match.group("place")


def _region(place: str) -> Region | None:
    for word in re.findall(r"[a-z]+", place):
        if word in PLACES:
            return PLACES[word]
    return None


def _last_noun(phrase: str) -> str:
    words = [w for w in re.findall(r"[a-z][a-z-]*", phrase) if w not in _ARTICLES]
    return words[-1] if words else ""
