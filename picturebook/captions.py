"""A caption grammar for the world, and the reader that says which facts a text states.

`compose` writes a varied English caption or story-like sentence for a scene and leaves each
attribute unsaid part of the time (an unsaid attribute is then drawn at random, as a story's
recurring character's is). `read_text` reads the facts back from any text in the world's
words; the grammar only writes what `read_text` reads (a test holds them together).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from picturebook.world import (
    CHARACTERS,
    COLOURS,
    INDOOR,
    KINDS,
    Facts,
    Scene,
    Thing,
    ThingFacts,
    is_character,
)

# Each fact value with the phrases that state it; the first phrase is the plain one.
# A place's last phrase is one of movement ("into the room"), only for moving verbs.
PLACE_PHRASES: dict[str, tuple[str, ...]] = {
    "harbour": ("in the harbour", "at the harbour", "by the harbour"),
    "forest": ("in the forest", "deep in the forest", "through the forest"),
    "village": ("in the village", "in the village street", "through the village"),
    "castle hall": ("in the castle hall", "into the castle hall", "across the castle hall"),
    "mountain": ("on the mountain", "high on the mountain", "up the mountain"),
    "room": ("in the room", "in a cosy room", "into the room"),
}
TIME_PHRASES: dict[str, tuple[str, ...]] = {
    "day": ("by day", "during the day", "in the daylight"),
    "dusk": ("at dusk", "at sunset", "in the evening"),
    "night": ("at night", "in the night", "late at night"),
}
WEATHER_PHRASES: dict[str, tuple[str, ...]] = {
    "clear": ("under a clear sky", "while the sky is clear"),
    "rain": ("in the rain", "while it rains", "as the rain falls"),
    "snow": ("in the snow", "while it snows", "as the snow falls"),
}
STYLE_PHRASES: dict[str, tuple[str, ...]] = {
    "flat": ("drawn in flat colours", "in flat colours"),
    "ink": ("drawn in ink", "in ink outlines"),
    "hatched": ("drawn with hatching", "in hatched lines"),
}
SIZE_WORDS: dict[str, tuple[str, ...]] = {"small": ("small", "little"), "big": ("big", "huge")}
GARMENTS: dict[str, tuple[str, ...]] = {
    "knight": ("cloak", "tunic"),
    "girl": ("dress",),
    "old man": ("robe", "coat"),
    "boy": ("shirt", "coat"),
    "witch": ("robe", "cloak"),
    "fox": ("fur",),
    "cat": ("fur",),
    "dragon": ("scales",),
    "tree": ("leaves",),
}
HAT_PHRASES: dict[bool, tuple[str, ...]] = {
    True: ("with a hat", "wearing a hat", "in a tall hat"),
    False: ("without a hat", "with no hat"),
}
POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "left": ("on the left",),
    "centre": ("in the middle", "in the centre"),
    "right": ("on the right",),
}
VERBS: dict[str, tuple[str, ...]] = {
    "knight": ("walks", "stands", "keeps watch", "waits", "rests"),
    "girl": ("walks", "sings", "dances", "waits", "smiles"),
    "old man": ("walks", "rests", "waits", "tells a tale", "smiles"),
    "boy": ("runs", "plays", "waits", "laughs", "walks"),
    "witch": ("walks", "casts a spell", "waits", "laughs", "rests"),
    "fox": ("sleeps", "runs", "sits", "waits", "plays"),
    "cat": ("sleeps", "sits", "plays", "yawns", "waits"),
    "dragon": ("roars", "sleeps", "rests", "waits", "breathes smoke"),
    "lantern": ("glows", "stands", "shines"),
    "boat": ("rests", "waits", "lies"),
    "sword": ("stands", "lies", "shines"),
    "tree": ("stands", "grows", "sways"),
    "house": ("stands", "waits"),
    "chest": ("lies", "stands", "waits"),
    "gull": ("flies", "circles", "glides"),
    "cup": ("stands", "sits", "waits"),
}
MOVING: frozenset[str] = frozenset({"walks", "runs"})
RELATIONS: tuple[str, ...] = ("near", "beside", "next to", "close to")
GROUP_VERBS: tuple[str, ...] = ("meet", "wait", "rest", "stand together")
# How often each attribute is said (the rest is drawn at random).
SAY = {"place": 0.85, "time": 0.6, "weather": 0.55, "style": 0.2}
SAY_THING = {"colour": 0.65, "size": 0.35, "hat": 0.45, "position": 0.35}


@dataclass(frozen=True)
class Caption:
    """A caption and the facts it states."""

    text: str
    facts: Facts


def article(word: str, definite: bool) -> str:
    if definite:
        return "the"
    return "an" if word[0] in "aeiou" else "a"


def noun_phrase(thing: Thing, rng: random.Random) -> tuple[str, ThingFacts]:
    """`a big fox with red fur on the left`, and what it says about the thing."""
    colour = thing.colour if rng.random() < SAY_THING["colour"] else None
    size = thing.size if rng.random() < SAY_THING["size"] else None
    hat = thing.hat if is_character(thing.kind) and rng.random() < SAY_THING["hat"] else None
    position = thing.position if rng.random() < SAY_THING["position"] else None
    garment = colour is not None and thing.kind in GARMENTS and rng.random() < 0.5
    words = [rng.choice(SIZE_WORDS[size])] if size else []
    if colour and not garment:
        words.append(colour)
    words.append(thing.kind)
    if garment:
        noun = rng.choice(GARMENTS[thing.kind])
        joined = "in a" if noun in ("cloak", "tunic", "dress", "robe", "coat", "shirt") else "with"
        words.append(f"{joined} {colour} {noun}")
    if hat is not None:
        words.append(rng.choice(HAT_PHRASES[hat]))
    if position:
        words.append(rng.choice(POSITION_PHRASES[position]))
    text = " ".join(words)
    text = f"{article(text, rng.random() < 0.5)} {text}"
    return text, ThingFacts(thing.kind, colour, hat, size, position)


def setting(
    scene: Scene, rng: random.Random, moving: bool
) -> tuple[list[str], dict[str, str | None]]:
    """Place, time, weather and style phrases in a random order, and what they state."""
    said: dict[str, str | None] = {}
    phrases: list[str] = []
    for name, table in (
        ("place", PLACE_PHRASES),
        ("time", TIME_PHRASES),
        ("weather", WEATHER_PHRASES),
        ("style", STYLE_PHRASES),
    ):
        value = getattr(scene, name)
        if rng.random() < SAY[name]:
            said[name] = value
            options = table[value]
            if name == "place" and not moving:
                options = options[:-1]
            phrase = rng.choice(options)
            if name == "weather" and scene.place in INDOOR and value != "clear":
                phrase = f"{phrase} outside"
            phrases.append(phrase)
        else:
            said[name] = None
    head, tail = phrases[:1], phrases[1:]  # the place (when said) comes first
    rng.shuffle(tail)
    return head + tail, said


def compose(scene: Scene, rng: random.Random) -> Caption:
    """A caption for the scene: every thing named, other attributes said part of the time."""
    order = list(scene.things)
    rng.shuffle(order)
    parts = [noun_phrase(thing, rng) for thing in order]
    form = rng.random()
    verb = rng.choice(VERBS[order[0].kind])
    phrases, said = setting(scene, rng, moving=verb in MOVING and len(parts) == 1)
    where = " ".join(phrases)
    first = parts[0][0]
    if len(parts) == 1:
        if form < 0.25:
            body = f"{first} {where}".strip()
        elif form < 0.4:
            body = f"there is {first} {where}".strip()
        else:
            body = f"{first} {verb} {where}".strip()
    elif len(parts) == 2 and form < 0.6:
        body = f"{first} {verb} {rng.choice(RELATIONS)} {parts[1][0]} {where}".strip()
    else:
        names = [p[0] for p in parts]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        body = f"{listed} {rng.choice(GROUP_VERBS)} {where}".strip()
    if where and rng.random() < 0.25 and len(phrases) > 1:
        # story-like: a time or weather phrase leads the sentence
        lead = phrases[-1]
        body = body.replace(f" {lead}", "").strip()
        body = f"{lead}, {body}"
    text = body[0].upper() + body[1:] + "."
    facts = Facts(
        said["place"],
        said["time"],
        said["weather"],
        said["style"],
        tuple(sorted((p[1] for p in parts), key=lambda t: KINDS.index(t.kind))),
    )
    return Caption(text, facts)


def caption(scene: Scene, rng: random.Random) -> str:
    """A varied caption for the scene (see `compose` for the facts it states)."""
    return compose(scene, rng).text


def _alternatives(phrases) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


def _find(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    for value, phrases in table.items():
        if re.search(rf"\b(?:{_alternatives(phrases)})\b", text):
            return value
    return None


_KIND = _alternatives(KINDS)
_SIZE = {w: size for size, words in SIZE_WORDS.items() for w in words}
_GARMENT = _alternatives({g for gs in GARMENTS.values() for g in gs})
_COLOUR = _alternatives(COLOURS)
_HAT = {p: hat for hat, phrases in HAT_PHRASES.items() for p in phrases}
_POSITION = {p: pos for pos, phrases in POSITION_PHRASES.items() for p in phrases}
_MENTION = re.compile(
    rf"\b(?P<pre>(?:(?:{_alternatives(_SIZE)}|{_COLOUR}) )*)(?P<kind>{_KIND})\b"
    rf"(?: (?:in an?|with an?|with) (?P<colour>{_COLOUR}) (?:{_GARMENT})\b)?"
    rf"(?: (?P<hat>{_alternatives(_HAT)})\b)?"
    rf"(?: (?P<position>{_alternatives(_POSITION)})\b)?"
)


def read_text(text: str) -> Facts:
    """The facts a text in the world's words states: places, times, things and their looks.

    A colour or size counts for a thing when it stands right before its name ("the red fox")
    or in a phrase right after it ("a knight in a blue cloak"); the first mention of a kind
    in the text is the one read.
    """
    low = " ".join(re.findall(r"[a-z]+|,", text.lower()))
    things: dict[str, ThingFacts] = {}
    for match in _MENTION.finditer(low):
        kind = match["kind"]
        if kind in things:
            continue
        pre = match["pre"].split()
        colour = match["colour"] or next((w for w in reversed(pre) if w in COLOURS), None)
        size = next((_SIZE[w] for w in pre if w in _SIZE), None)
        hat = _HAT[match["hat"]] if match["hat"] and kind in CHARACTERS else None
        position = _POSITION[match["position"]] if match["position"] else None
        things[kind] = ThingFacts(kind, colour, hat, size, position)
    return Facts(
        _find(low, PLACE_PHRASES) or _find_place_word(low),
        _find(low, TIME_PHRASES),
        _find(low, WEATHER_PHRASES),
        _find(low, STYLE_PHRASES),
        tuple(sorted(things.values(), key=lambda t: KINDS.index(t.kind))),
    )


def _find_place_word(text: str) -> str | None:
    """A place named without one of the grammar's phrases ("the harbour was quiet")."""
    for place in PLACE_PHRASES:
        if re.search(rf"\b{re.escape(place)}\b", text):
            return place
    return None


def said(scene: Scene, text: str) -> Facts:
    """Which of the scene's attributes the text states; raises if it states something else."""
    facts = read_text(text)
    if not facts.agrees(scene):
        raise ValueError(f"{text!r} does not describe {scene}")
    return facts
