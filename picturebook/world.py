"""The picture-book world's vocabulary and its scenes (frozen dataclasses, no drawing)."""

from __future__ import annotations

import random
from dataclasses import dataclass

PLACES: tuple[str, ...] = ("harbour", "forest", "village", "castle hall", "mountain", "room")
INDOOR: frozenset[str] = frozenset({"castle hall", "room"})
TIMES: tuple[str, ...] = ("day", "dusk", "night")
WEATHERS: tuple[str, ...] = ("clear", "rain", "snow")
STYLES: tuple[str, ...] = ("flat", "ink", "hatched")
CHARACTERS: tuple[str, ...] = (
    "knight",
    "girl",
    "old man",
    "fox",
    "cat",
    "dragon",
    "boy",
    "witch",
)
PROPS: tuple[str, ...] = ("lantern", "boat", "sword", "tree", "house", "chest", "gull", "cup")
KINDS: tuple[str, ...] = CHARACTERS + PROPS
COLOURS: tuple[str, ...] = ("red", "blue", "green", "yellow", "purple", "white")
SIZES: tuple[str, ...] = ("small", "big")
POSITIONS: tuple[str, ...] = ("left", "centre", "right")
MAX_THINGS = 3


def is_character(kind: str) -> bool:
    """Characters may wear a hat; props never do."""
    return kind in CHARACTERS


@dataclass(frozen=True)
class Thing:
    """One character or prop standing in a scene."""

    kind: str
    colour: str
    hat: bool
    size: str
    position: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}")
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}")
        if self.size not in SIZES:
            raise ValueError(f"unknown size {self.size!r}")
        if self.position not in POSITIONS:
            raise ValueError(f"unknown position {self.position!r}")
        if self.hat and not is_character(self.kind):
            raise ValueError(f"a {self.kind} cannot wear a hat")


@dataclass(frozen=True)
class Scene:
    """A place at a time of day, in some weather and drawing style, holding 1..3 things.

    Things stand at distinct positions and are of distinct kinds, so "the fox" names one thing.
    """

    place: str
    time: str
    weather: str
    style: str
    things: tuple[Thing, ...]

    def __post_init__(self) -> None:
        if self.place not in PLACES:
            raise ValueError(f"unknown place {self.place!r}")
        if self.time not in TIMES:
            raise ValueError(f"unknown time {self.time!r}")
        if self.weather not in WEATHERS:
            raise ValueError(f"unknown weather {self.weather!r}")
        if self.style not in STYLES:
            raise ValueError(f"unknown style {self.style!r}")
        if not 1 <= len(self.things) <= MAX_THINGS:
            raise ValueError(f"a scene holds 1..{MAX_THINGS} things, not {len(self.things)}")
        if len({t.position for t in self.things}) != len(self.things):
            raise ValueError("two things at one position")
        if len({t.kind for t in self.things}) != len(self.things):
            raise ValueError("two things of one kind")

    def thing(self, kind: str) -> Thing | None:
        """The thing of this kind, if the scene holds one."""
        return next((t for t in self.things if t.kind == kind), None)

    def at(self, position: str) -> Thing | None:
        """The thing standing at this position, if any."""
        return next((t for t in self.things if t.position == position), None)


def sample_thing(rng: random.Random, kind: str, position: str) -> Thing:
    """A thing of this kind with random colour, hat (characters only) and size."""
    hat = is_character(kind) and rng.random() < 0.5
    return Thing(kind, rng.choice(COLOURS), hat, rng.choice(SIZES), position)


def sample_scene(rng: random.Random) -> Scene:
    """A uniformly random scene: every place, time, weather, style and kind equally likely."""
    count = rng.randint(1, MAX_THINGS)
    kinds = rng.sample(KINDS, count)
    positions = sorted(rng.sample(POSITIONS, count), key=POSITIONS.index)
    things = tuple(
        sample_thing(rng, kind, position) for kind, position in zip(kinds, positions, strict=True)
    )
    return Scene(
        place=rng.choice(PLACES),
        time=rng.choice(TIMES),
        weather=rng.choice(WEATHERS),
        style=rng.choice(STYLES),
        things=things,
    )


@dataclass(frozen=True)
class ThingFacts:
    """What a text says about one thing: its kind, and each attribute or None when unsaid."""

    kind: str
    colour: str | None = None
    hat: bool | None = None
    size: str | None = None
    position: str | None = None

    def agrees(self, thing: Thing) -> bool:
        """Whether the thing is of this kind and has every stated attribute."""
        return thing.kind == self.kind and all(
            said is None or said == getattr(thing, name)
            for name, said in (
                ("colour", self.colour),
                ("hat", self.hat),
                ("size", self.size),
                ("position", self.position),
            )
        )


@dataclass(frozen=True)
class Facts:
    """What a text says about a scene; None (or a thing left out) when unsaid."""

    place: str | None = None
    time: str | None = None
    weather: str | None = None
    style: str | None = None
    things: tuple[ThingFacts, ...] = ()

    def thing(self, kind: str) -> ThingFacts | None:
        return next((t for t in self.things if t.kind == kind), None)

    def agrees(self, scene: Scene) -> bool:
        """Whether the scene fits every stated fact (it may hold more than is said)."""
        for name in ("place", "time", "weather", "style"):
            said = getattr(self, name)
            if said is not None and said != getattr(scene, name):
                return False
        return all(
            (thing := scene.thing(facts.kind)) is not None and facts.agrees(thing)
            for facts in self.things
        )


def full_facts(scene: Scene) -> Facts:
    """Everything about a scene, as facts."""
    return Facts(
        scene.place,
        scene.time,
        scene.weather,
        scene.style,
        tuple(ThingFacts(t.kind, t.colour, t.hat, t.size, t.position) for t in scene.things),
    )


@dataclass(frozen=True)
class ReadScene:
    """What the oracle reads in a picture: settings, and the things at each position.

    Unlike a Scene it may hold nothing, or two things of one kind.
    """

    place: str
    time: str
    weather: str
    style: str
    things: tuple[Thing, ...]

    def thing(self, kind: str) -> Thing | None:
        """The first thing of this kind the oracle sees, if any."""
        return next((t for t in self.things if t.kind == kind), None)

    def at(self, position: str) -> Thing | None:
        return next((t for t in self.things if t.position == position), None)
