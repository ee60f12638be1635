"""Sentence and clause splitting for English and Chinese story text."""

from __future__ import annotations

from core.story.clauses import split_clauses, split_sentences


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
