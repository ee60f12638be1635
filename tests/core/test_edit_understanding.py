"""Edit requests read by rules: the table the issue's closing note reports."""

from __future__ import annotations

import pytest

from core.edit.understanding import understand
from core.edit.vocabulary import DEFAULT_PLACE, PLACES, WHOLE_PICTURE

# request -> (kind, element, attribute_word, attribute)
TABLE = [
    ("I prefer darker", ("global", "", "", "")),
    ("make it a winter night", ("global", "", "", "")),
    ("Can you make it brighter please?", ("global", "", "", "")),
    ("make it sadder", ("global", "", "", "")),
    ("as a watercolor", ("global", "", "", "")),
    ("add a dog by the fence", ("add", "a dog", "", "")),
    ("put a moon in the sky", ("add", "a moon", "", "")),
    ("there should be a lantern on the left", ("add", "a lantern", "", "")),
    ("remove the car", ("remove", "the car", "", "")),
    ("get rid of the bird on the right", ("remove", "the bird", "", "")),
    ("the umbrella should go", ("remove", "the umbrella", "", "")),
    ("give him slicked-back hair", ("attribute", "him", "hair", "slicked-back hair")),
    ("her dress should be red", ("attribute", "her", "dress", "red dress")),
    ("make his coat blue", ("attribute", "his", "coat", "blue coat")),
    ("the old man's beard should be white", ("attribute", "the old man", "beard", "white beard")),
    ("she should have a red scarf", ("attribute", "she", "scarf", "a red scarf")),
    ("undo", ("undo", "", "", "")),
    ("redo", ("redo", "", "", "")),
    ("show the original", ("original", "", "", "")),
    ("make it better", ("question", "", "", "")),
    ("animate it", ("unsupported", "", "", "")),
    ("", ("question", "", "", "")),
]


@pytest.mark.parametrize(("request_text", "expected"), TABLE)
def test_each_request_is_read_as_expected(request_text: str, expected: tuple) -> None:
    intent = understand(request_text)
    assert (intent.kind, intent.element, intent.attribute_word, intent.attribute) == expected
    if intent.kind in ("question", "unsupported"):
        assert "Try for example" in intent.question


def test_darker_lowers_brightness_and_a_preference_is_kept() -> None:
    intent = understand("I prefer darker")
    assert intent.tone is not None and intent.tone.brightness < 1.0
    assert intent.keep
    assert not understand("make it darker").keep
    assert "for this story" in intent.describe()


def test_a_winter_night_combines_time_and_season() -> None:
    intent = understand("make it a winter night")
    assert "moonlight" in intent.words and "snow" in intent.words
    assert intent.tone.brightness < 1.0 and intent.tone.warmth < 0.0


def test_emotion_words_become_picture_elements() -> None:
    # Seed 001 [0033]: "sad" -> dark clouds, light rain.
    intent = understand("make it sadder")
    assert "dark clouds" in intent.words and "rain" in intent.words


def test_places_decide_where_an_element_goes() -> None:
    assert understand("put a moon in the sky").region == PLACES["sky"]
    assert understand("add a dog by the fence").region == DEFAULT_PLACE
    assert understand("remove the car").region == WHOLE_PICTURE
    assert understand("get rid of the bird on the right").region == PLACES["right"]


def test_the_decision_is_described_for_the_writer() -> None:
    intent = understand("give him slicked-back hair")
    assert intent.describe("the young man") == (
        "a local edit of 'hair' on 'the young man': slicked-back hair"
    )
    assert understand("add a dog by the fence").describe() == "adding 'a dog'"


def test_a_plain_enhance_is_told_apart_from_changes() -> None:
    from core.edit.understanding import wants_enhance

    assert wants_enhance("Enhance") and wants_enhance("please enhance it")
    assert wants_enhance("sharpen this")
    assert not wants_enhance("make it darker") and not wants_enhance("enhance the colours")
