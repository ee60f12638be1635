"""Drawing with the cast: descriptions join prompts, pronouns find their element, budgets hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from core.story.cast_prompts import Mentions, described, estimated_tokens
from core.story.describing import COLOURS, WEARING, read_description, reading_texts
from storage.base import ElementRecord

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def entry(name: str, kind: str = "character", description: str = "", pronoun: str = "", age=0):
    return ElementRecord(
        "web:tale",
        name,
        kind,
        np.ones(4, np.float32),
        1,
        NOW,
        NOW + timedelta(minutes=age),
        description=description,
        pronoun=pronoun,
    )


def test_a_named_element_is_drawn_as_described() -> None:
    fox = entry("fox", description="red, with a hat")
    mentions = Mentions([fox]).of("The fox wakes at dusk.")
    assert described("The fox wakes at dusk.", mentions, 77) == (
        "The red fox with a hat wakes at dusk."
    )


def test_a_description_in_plain_words_is_set_off_by_commas() -> None:
    tom = entry("tom", description="grey beard, green apron")
    sentence = "Tom opens the shop."
    assert described(sentence, Mentions([tom]).of(sentence), 77) == (
        "Tom, grey beard, green apron, opens the shop."
    )


def test_the_sentences_own_words_win() -> None:
    fox = entry("fox", description="red")
    sentence = "The blue fox wakes."
    assert described(sentence, Mentions([fox]).of(sentence), 77) == sentence


def test_a_pronoun_refers_to_the_most_recent_element_with_it() -> None:
    tom = entry("tom", description="grey beard, green apron", pronoun="he", age=1)
    ann = entry("ann", description="red scarf", pronoun="she", age=2)
    ben = entry("ben", description="tall", pronoun="he", age=0)
    lamp = entry("lamp", kind="prop", description="brass", age=3)
    mentions = Mentions([tom, ann, ben, lamp])
    [he] = mentions.of("He smiles.")
    assert (he.element.name, he.by_pronoun) == ("tom", True), "the most recent 'he'"
    assert described("He smiles.", [he], 77) == "He smiles, tom, grey beard, green apron."
    [named] = mentions.of("Ben waves.")
    assert named.element.name == "ben"
    [again] = mentions.of("He laughs.")
    assert again.element.name == "ben", "Ben was mentioned since"
    assert [m.element.name for m in mentions.of("She lifts it.")] == ["ann", "lamp"]
    assert mentions.of("It was raining.") == [], "'it was' refers to nothing"


def test_a_character_takes_the_first_he_or_she_that_follows_it() -> None:
    mentions = Mentions([entry("baker")])
    assert [m.element.name for m in mentions.of("The baker opens the shop.")] == ["baker"]
    [she] = mentions.of("She bakes bread.")
    assert she.element.name == "baker" and mentions.learned == {"baker": "she"}
    assert mentions.of("He waits.") == [], "she is the baker now"


def test_descriptions_stay_within_the_token_budget() -> None:
    fox = entry("fox", description="red, with a very long striped woollen scarf", age=1)
    owl = entry("owl", description="white, with enormous round golden spectacles", age=2)
    sentence = "The fox and the owl meet in the forest at dusk."
    mentions = Mentions([fox, owl]).of(sentence)
    full = described(sentence, mentions, 77)
    assert "scarf" in full and "spectacles" in full
    budget = estimated_tokens(full) - 1
    shorter = described(sentence, mentions, budget)
    assert estimated_tokens(shorter) <= budget
    assert "scarf" in shorter and "spectacles" not in shorter, "the last description goes first"
    assert described(sentence, mentions, estimated_tokens(sentence)) == sentence
    for budget in range(estimated_tokens(sentence), estimated_tokens(full) + 1):
        assert estimated_tokens(described(sentence, mentions, budget)) <= budget


def test_the_token_estimate_is_never_below_a_word_per_token() -> None:
    assert estimated_tokens("The fox wakes.") >= 2 + 4
    assert estimated_tokens("extraordinarily") >= 2 + 1


@pytest.mark.parametrize(
    ("stated", "expected"), [("fox", "purple, with a hat"), ("red fox", "red, with a hat")]
)
def test_a_description_is_read_from_the_words_then_the_crop(stated: str, expected: str) -> None:
    texts = reading_texts("fox")
    assert len(texts) == len(COLOURS) + 2 * len(WEARING)
    features = np.eye(len(texts), dtype=np.float32)
    region = np.full(len(texts), 0.1, np.float32)
    region[texts.index("a purple fox")] = 1.0
    region[texts.index("a fox with a hat")] = 0.5
    assert read_description(stated, region, features) == expected
    assert read_description("red fox", None, None) == "red"


def test_an_edit_replaces_what_the_description_said_of_the_same_thing() -> None:
    from core.story.cast_edits import with_part

    assert with_part("grey beard, red scarf", "with a green scarf", "scarf") == (
        "grey beard, with a green scarf"
    )
    assert with_part("", "with a hat", "hat") == "with a hat"
