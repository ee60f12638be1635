"""The picture-book world: scenes, renders, captions and pairs."""

from __future__ import annotations

import random

import numpy as np
import pytest

from picturebook.captions import compose, read_text, said
from picturebook.dataset import pairs
from picturebook.render import render
from picturebook.world import (
    CHARACTERS,
    COLOURS,
    PLACES,
    PROPS,
    STYLES,
    Facts,
    Scene,
    Thing,
    ThingFacts,
    sample_scene,
)


def fox_scene(**changes) -> Scene:
    fields = dict(
        place="forest",
        time="day",
        weather="clear",
        style="flat",
        things=(Thing("fox", "red", False, "big", "centre"),),
    )
    fields.update(changes)
    return Scene(**fields)


def test_vocabulary_is_as_large_as_the_issue_asks() -> None:
    assert len(PLACES) >= 6 and len(CHARACTERS) >= 8 and len(PROPS) >= 8
    assert len(COLOURS) >= 6 and len(STYLES) >= 3


def test_scenes_refuse_impossible_things() -> None:
    with pytest.raises(ValueError):
        Thing("boat", "red", True, "big", "left")
    fox = Thing("fox", "red", False, "big", "left")
    with pytest.raises(ValueError):
        fox_scene(things=(fox, Thing("cat", "red", False, "big", "left")))


def test_sampled_scenes_are_seeded() -> None:
    a = [sample_scene(random.Random(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]


def test_render_is_deterministic_and_sized() -> None:
    scene = fox_scene(weather="snow", style="hatched")
    one, two = render(scene), render(scene)
    assert one.size == (64, 64) and one.mode == "RGB"
    assert np.array_equal(np.asarray(one), np.asarray(two))
    assert render(scene, 32).size == (32, 32)


def test_night_is_darker_than_day() -> None:
    day = np.asarray(render(fox_scene()), dtype=float).mean()
    night = np.asarray(render(fox_scene(time="night")), dtype=float).mean()
    assert night < day * 0.7


def test_the_thing_is_drawn_in_its_colour() -> None:
    # The centre of a big fox is its body: red there when red, blue when blue.
    red = np.asarray(render(fox_scene()), dtype=float)[40:52, 26:38].mean(axis=(0, 1))
    blue_scene = fox_scene(things=(Thing("fox", "blue", False, "big", "centre"),))
    blue = np.asarray(render(blue_scene), dtype=float)[40:52, 26:38].mean(axis=(0, 1))
    assert red[0] > red[2] + 60 and blue[2] > blue[0] + 60


def test_styles_and_weathers_change_the_picture() -> None:
    base = np.asarray(render(fox_scene()), dtype=float)
    for change in (
        {"style": "ink"},
        {"style": "hatched"},
        {"weather": "rain"},
        {"weather": "snow"},
    ):
        assert np.abs(np.asarray(render(fox_scene(**change)), dtype=float) - base).mean() > 5


def test_captions_state_what_they_say() -> None:
    rng = random.Random(0)
    unsaid_colours = 0
    for _ in range(300):
        scene = sample_scene(rng)
        cap = compose(scene, rng)
        assert read_text(cap.text) == cap.facts
        assert said(scene, cap.text) == cap.facts
        assert cap.facts.agrees(scene)
        assert {t.kind for t in cap.facts.things} == {t.kind for t in scene.things}
        unsaid_colours += sum(t.colour is None for t in cap.facts.things)
    assert unsaid_colours > 50  # colours are left unsaid part of the time


def test_reading_a_story_sentence() -> None:
    facts = read_text("The red fox sleeps under the old tree at night.")
    assert facts == Facts(None, "night", None, None, (ThingFacts("fox", "red"), ThingFacts("tree")))
    facts = read_text("A knight in a blue cloak walks into the castle hall.")
    assert facts.place == "castle hall" and facts.things == (ThingFacts("knight", "blue"),)
    facts = read_text("A big old man with a hat on the left smiles in the room.")
    assert facts.things == (ThingFacts("old man", None, True, "big", "left"),)
    assert facts.place == "room"


def test_said_refuses_a_caption_of_another_scene() -> None:
    with pytest.raises(ValueError):
        said(fox_scene(), "The blue fox sleeps in the forest.")


def test_pairs_are_deterministic() -> None:
    a, b = pairs(4, seed=3), pairs(4, seed=3)
    assert [(t, s) for _, t, s in a] == [(t, s) for _, t, s in b]
    assert all(
        np.array_equal(np.asarray(x[0]), np.asarray(y[0])) for x, y in zip(a, b, strict=True)
    )
    assert [s for _, _, s in pairs(4, seed=4)] != [s for _, _, s in a]
