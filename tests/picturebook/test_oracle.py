"""The committed oracle reads fixed renders back (place, time, weather, style, every thing)."""

from __future__ import annotations

import pytest

from picturebook.oracle import WEIGHTS, accuracy, read, read_many
from picturebook.render import render
from picturebook.world import Scene, Thing

SCENES = [
    Scene("forest", "day", "snow", "flat", (Thing("fox", "red", False, "big", "centre"),)),
    Scene(
        "castle hall",
        "dusk",
        "clear",
        "ink",
        (
            Thing("knight", "blue", True, "big", "left"),
            Thing("sword", "yellow", False, "small", "right"),
        ),
    ),
    Scene(
        "harbour",
        "day",
        "rain",
        "hatched",
        (
            Thing("boat", "yellow", False, "big", "left"),
            Thing("girl", "red", False, "big", "right"),
        ),
    ),
    Scene(
        "village",
        "night",
        "clear",
        "flat",
        (
            Thing("witch", "purple", True, "big", "left"),
            Thing("lantern", "green", False, "big", "centre"),
            Thing("cat", "white", False, "big", "right"),
        ),
    ),
    Scene(
        "mountain",
        "dusk",
        "snow",
        "ink",
        (
            Thing("dragon", "green", False, "big", "centre"),
            Thing("tree", "yellow", False, "big", "right"),
        ),
    ),
    Scene(
        "room",
        "day",
        "clear",
        "hatched",
        (
            Thing("old man", "white", True, "big", "left"),
            Thing("cup", "blue", False, "big", "centre"),
            Thing("boy", "red", False, "small", "right"),
        ),
    ),
]

pytestmark = pytest.mark.skipif(not WEIGHTS.exists(), reason="no committed oracle weights")


def test_a_red_fox_in_a_snowy_forest_is_read_as_one() -> None:
    seen = read(render(SCENES[0]))
    assert (seen.place, seen.weather) == ("forest", "snow")
    assert seen.things == SCENES[0].things


def test_fixed_renders_are_read_back_whole() -> None:
    readings = read_many([render(scene) for scene in SCENES])
    for scene, seen in zip(SCENES, readings, strict=True):
        assert (seen.place, seen.time, seen.weather, seen.style) == (
            scene.place,
            scene.time,
            scene.weather,
            scene.style,
        )
        assert seen.things == scene.things, scene
    assert accuracy(readings, SCENES)["overall"] == 1.0


def test_a_larger_picture_is_read_too() -> None:
    # Generated pictures may come at another size; the oracle resizes them.
    assert read(render(SCENES[1], 128)).things == SCENES[1].things
