"""What a writer may post, and the words they get back when it can't be drawn."""

from __future__ import annotations

import pytest

from core.story.paragraphs import RejectedParagraph, clean_paragraph


def test_keeps_ordinary_text_and_normalises_line_ends() -> None:
    assert (
        clean_paragraph("  The fox ran.\r\nThe owl slept.  ", 100) == "The fox ran.\nThe owl slept."
    )


def test_keeps_non_latin_scripts() -> None:
    assert clean_paragraph("小狐狸跑进了森林。", 100) == "小狐狸跑进了森林。"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("\x00\x01\x02\x03\x04\x05", "binary"),
        ("ab" + "\x00" * 30, "binary"),
        ("\ufffd" * 40 + "PNG", "binary"),
        ("1234 5678 !!!", "words"),
    ],
)
def test_rejects_what_cannot_be_drawn(text: str, words: str) -> None:
    with pytest.raises(RejectedParagraph, match=words):
        clean_paragraph(text, 100)


def test_too_long_names_the_limit_and_the_length() -> None:
    with pytest.raises(RejectedParagraph) as error:
        clean_paragraph("a" * 50_000, 4000)
    assert "50,000" in str(error.value)
    assert "4,000" in str(error.value)


def test_strips_stray_control_characters_inside_text() -> None:
    assert clean_paragraph("The\u200b fox\x07 ran.", 100) == "The fox ran."
