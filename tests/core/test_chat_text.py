"""Chat text cleaned for drawing and screening: labels, speaker tags, markup, scripts."""

from __future__ import annotations

import pytest

from core.story.chat_text import PLACEHOLDER, drawing_text, screening_text


@pytest.mark.parametrize(
    ("posted", "drawn"),
    [
        ("Paragraph 0: a red boat on the grey sea.", "a red boat on the grey sea."),
        ("Chapter IV - The tower stood alone.", "The tower stood alone."),
        ("3. A fox sleeps under an oak.", "A fox sleeps under an oak."),
        ("- A castle on a hill", "A castle on a hill"),
        ("Tom: I will go to the market.", "I will go to the market."),
        ("[Ada]: Look at the moon!", "Look at the moon!"),
        ("**The old tower** stood on _the_ hill.", "The old tower stood on the hill."),
        ("<@1234> the dragon wakes :fire:", "the dragon wakes"),
        ("See [the map](https://example.org/m) on the table.", "See the map on the table."),
        ("Mr. Smith: hello", "Mr. Smith: hello"),  # a title, not a speaker tag
        ("A knight rides past.", "A knight rides past."),
    ],
)
def test_labels_tags_and_markup_are_not_drawn(posted: str, drawn: str) -> None:
    assert drawing_text(posted) == drawn


def test_unreadable_words_in_a_latin_sentence_are_screened_as_a_placeholder() -> None:
    said = screening_text("The 骑士 rides a red horse past the القلعة.")
    assert said == f"The {PLACEHOLDER} rides a red horse past the {PLACEHOLDER}."
    assert screening_text("Café au lait on the table.") == "Café au lait on the table."
    chinese = "骑士骑着红马走过城堡。"
    assert screening_text(chinese) == chinese  # mostly Chinese: left as it is
