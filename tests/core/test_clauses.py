"""Sentence and clause splitting for English and Chinese story text; nouns by the parser."""

from __future__ import annotations

import pytest

from core.edit.parsing import DEFAULT_PARSER
from core.story.clauses import split_clauses, split_sentences
from core.story.elements import noun_elements
from core.story.reader import StoryReader, load_reader


def test_english_sentences() -> None:
    text = 'Mira opened the door. "Who is there?" she asked!  Nobody answered…  Then rain.'
    assert split_sentences(text) == [
        "Mira opened the door.",
        '"Who is there?" she asked!',
        "Nobody answered…",
        "Then rain.",
    ]


def test_abbreviations_do_not_end_sentences() -> None:
    assert split_sentences("Mr. Lee met Dr. Chen at noon. They talked.") == [
        "Mr. Lee met Dr. Chen at noon.",
        "They talked.",
    ]


def test_chinese_sentences_without_spaces() -> None:
    assert split_sentences("他拔出剑。月光照在湖面上！“谁？”") == [
        "他拔出剑。",
        "月光照在湖面上！",
        "“谁？”",
    ]


def test_blank_lines_separate_sentences_without_punctuation() -> None:
    assert split_sentences("A castle on a hill\n\nA dragon above it") == [
        "A castle on a hill",
        "A dragon above it",
    ]


def test_clauses_at_commas_in_both_scripts() -> None:
    assert split_clauses("A red kite, a grey sky; the old pier") == [
        "A red kite",
        "a grey sky",
        "the old pier",
    ]
    assert split_clauses("青山，绿水、小桥") == ["青山", "绿水", "小桥"]


def test_words_that_merely_end_like_an_abbreviation_end_sentences() -> None:
    assert split_sentences("A cabin stands in a snowy forest. A ship sails by.") == [
        "A cabin stands in a snowy forest.",
        "A ship sails by.",
    ]


def test_without_a_parser_clauses_are_cut_at_commas_the_stated_fallback() -> None:
    # The rules can't tell an appositive from a clause: they lose the subject.
    assert split_clauses(BAKER)[-1] == "lived above the shop at the end of the market street."


# With spaCy's English pipeline (story.parser), as the story loop reads text.
BAKER = "The baker's son, Tom, lived above the shop at the end of the market street."


@pytest.fixture(scope="module")
def reader() -> StoryReader:
    pytest.importorskip("spacy")
    found = load_reader(DEFAULT_PARSER)
    assert found.parser is not None, "the parser is installed with the project"
    return found


def test_an_appositive_is_not_a_clause_and_the_subject_stays(reader: StoryReader) -> None:
    assert reader.clauses(BAKER) == [BAKER]


def test_fragments_without_a_verb_are_not_clauses(reader: StoryReader) -> None:
    assert reader.clauses("A red kite, a grey sky; the old pier.") == [
        "A red kite, a grey sky; the old pier."
    ]
    assert reader.clauses("Walking home, she saw a fox.") == ["Walking home, she saw a fox."]


def test_each_clause_keeps_its_subject(reader: StoryReader) -> None:
    assert reader.clauses("The baker's son, Tom, lived above the shop and sold bread.") == [
        "The baker's son, Tom, lived above the shop",
        "The baker's son, Tom, sold bread",
    ]
    assert reader.clauses("He leapt, spun, and struck.") == ["He leapt", "He spun", "He struck"]


def test_the_seeds_several_clause_sentences(reader: StoryReader) -> None:
    assert reader.clauses(
        "The pine forest is endless, and large tracts of dark green pine trees extend to the "
        "horizon."
    ) == [
        "The pine forest is endless",
        "large tracts of dark green pine trees extend to the horizon",
    ]
    # [0265]'s four clauses (five here: "when" starts a clause of its own in English).
    assert reader.clauses(
        "The two people walked for a long time, it was almost dawn when they arrived at the small "
        "hotel at the foot of the mountain, they woke up the shopkeeper by the door, and the "
        "young man in red showed the sword in his hand to the shopkeeper."
    ) == [
        "The two people walked for a long time",
        "it was almost dawn",
        "they arrived at the small hotel at the foot of the mountain",
        "they woke up the shopkeeper by the door",
        "the young man in red showed the sword in his hand to the shopkeeper",
    ]


@pytest.mark.parametrize(
    ("text", "nouns"),
    [
        ("the old sailor's blue scarf", ["old sailor", "blue scarf"]),
        (BAKER, ["baker", "son", "tom", "shop", "end", "market street"]),
        ("Large tracts of dark green pine trees extend to the horizon.",
         ["large tracts", "dark green pine trees", "horizon"]),
        ("Mira opened the old wooden door.", ["mira", "old wooden door"]),
    ],
)  # fmt: skip
def test_nouns_by_the_parser(reader: StoryReader, text: str, nouns: list[str]) -> None:
    assert reader.nouns(text) == nouns


def test_the_rules_miss_what_the_parser_finds() -> None:
    assert noun_elements("the old sailor's blue scarf") == ["old sailor's"]


def test_a_clause_with_no_noun_is_measured_by_its_whole_text(reader: StoryReader) -> None:
    assert reader.nouns("It was raining.") == ["It was raining."]
    assert StoryReader().nouns("It was raining.") == ["It was raining."]


def test_a_missing_pipeline_falls_back_to_the_rules_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING"):
        missing = load_reader("no_such_pipeline_xx")
    assert missing.parser is None and missing.name == "comma and word rules"
    assert "story clauses and nouns are read by the comma and word rules" in caplog.text
    assert missing.clauses(BAKER) == split_clauses(BAKER)
    assert load_reader("").parser is None


def test_chinese_is_cut_at_its_commas_even_with_the_parser(reader: StoryReader) -> None:
    assert reader.clauses("青山，绿水、小桥") == ["青山", "绿水", "小桥"]
    assert reader.nouns("他拔出剑。") == ["他拔出剑。"]


def test_a_verb_the_small_pipeline_tags_a_noun_still_heads_its_clause(
    reader: StoryReader,
) -> None:
    # en_core_web_sm tags "sleeps" NOUN here; it has a subject, so it is a predicate.
    sentence = "A red fox sleeps under the old tree, and a gull flies over the harbour at night."
    assert reader.clauses(sentence) == [
        "A red fox sleeps under the old tree",
        "a gull flies over the harbour at night",
    ]
    assert reader.nouns(sentence) == ["red fox", "old tree", "gull", "harbour", "night"]
