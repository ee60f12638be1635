"""Checks and cleans a posted paragraph before anything is stored or drawn."""

from __future__ import annotations

import unicodedata


class RejectedParagraph(ValueError):
    """The paragraph can't be illustrated; `str(error)` is the message for the writer."""


_KEEP_CONTROLS = {"\n", "\t"}
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
_BINARY = "That looks like binary data rather than text. Paste the paragraph as plain text."


def clean_paragraph(text: str, max_chars: int) -> str:
    """Normalise a paragraph or raise `RejectedParagraph` saying why in plain words."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    kept = "".join(
        ch for ch in text if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in _INVISIBLE
    )
    if _looks_binary(text, kept):
        raise RejectedParagraph(_BINARY)
    kept = kept.strip()
    if not kept:
        raise RejectedParagraph("Your paragraph is empty. Write a sentence or two to illustrate.")
    if len(kept) > max_chars:
        raise RejectedParagraph(
            f"That paragraph has {len(kept):,} characters; the limit is {max_chars:,}. "
            "Split it into shorter paragraphs and post them one by one."
        )
    if not any(unicodedata.category(ch).startswith("L") for ch in kept):
        raise RejectedParagraph(
            "I couldn't find any words to illustrate. Write the paragraph in words."
        )
    return kept


def _looks_binary(text: str, kept: str) -> bool:
    """Many invisible characters or decoding replacements: a file pasted or sent as text."""
    removed = len(text) - len(kept)
    replaced = kept.count("\ufffd")
    suspicious = removed + replaced
    return suspicious > 3 and suspicious > len(text) // 10
