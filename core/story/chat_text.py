"""Story text as chat delivers it, cleaned for drawing and for the screening encoder.

Writers paste list labels ("Paragraph 3:", "1."), speaker tags ("Tom: ..."), markdown and
platform markup (mentions, emoji codes, links). None of it is part of the scene: it is
removed before drawing. For screening only, runs of a script the encoder can't read
(all-MiniLM-L6-v2 maps most Chinese and Arabic characters to [UNK]) inside a mostly Latin
sentence become a placeholder noun, so "The 骑士 rides a red horse" is screened as a scene.
"""

from __future__ import annotations

import re
import unicodedata

_LABEL = re.compile(
    r"^\s*(?:(?:paragraph|para|part|chapter|scene|page|panel|sentence|line|step)\s*"
    r"(?:\d+|[ivxlc]+)\s*[:.)\-–—]|\d{1,3}\s*[.)\]:]|[-*•>]+)\s+",
    re.I,
)
_SPEAKER = re.compile(r"^\s*(?:\[(?P<a>[^\]]{1,30})\]|(?P<b>[A-Z][\w' ]{0,24}?))\s*:\s+(?=\S)")
_MARKUP = (
    (re.compile(r"<(?:@[!&]?|#)\d+>"), ""),  # Discord mentions and channels
    (re.compile(r"<@[A-Z0-9]+>|<#[A-Z0-9]+(?:\|[^>]*)?>"), ""),  # Slack mentions
    (re.compile(r"<a?:\w+:\d+>|:[a-z0-9_+\-]+:"), ""),  # custom and coded emoji
    (re.compile(r"<https?://[^>|]+\|([^>]+)>"), r"\1"),  # Slack links with text
    (re.compile(r"\[([^\]]+)\]\((?:https?://)[^)]+\)"), r"\1"),  # markdown links
    (re.compile(r"<?https?://\S+>?"), ""),
    (re.compile(r"</?[a-zA-Z][^>]{0,40}>"), ""),  # HTML tags
    (re.compile(r"(\*\*|__|\*|_|~~|`+|\|\|)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis
)
PLACEHOLDER = "thing"  # what an unreadable word is screened as: some concrete noun


def drawing_text(sentence: str) -> str:
    """The sentence without labels, speaker tags and markup ("" when nothing is left)."""
    said = sentence
    for pattern, replacement in _MARKUP:
        said = pattern.sub(replacement, said)
    said = _LABEL.sub("", said)
    said = _SPEAKER.sub("", said)
    said = said.strip().lstrip(">").strip()
    return " ".join(said.split())


def screening_text(sentence: str) -> str:
    """What the screening encoder reads: foreign-script words inside a Latin sentence become
    a placeholder noun; sentences mostly in another script are left as they are."""
    if not mostly_latin(sentence):
        return sentence
    runs = re.sub(r"[^\W\d_]+", lambda m: m.group(0) if _latin_word(m.group(0)) else "\0", sentence)
    return re.sub(r"\0+", PLACEHOLDER, runs)


def mostly_latin(text: str) -> bool:
    """Whether at least half of the text's letters are Latin (English story text)."""
    letters = [ch for ch in text if ch.isalpha()]
    return bool(letters) and sum(1 for ch in letters if _is_latin(ch)) >= len(letters) / 2


def _latin_word(word: str) -> bool:
    return all(_is_latin(ch) for ch in word)


def _is_latin(ch: str) -> bool:
    return ch.isascii() or "LATIN" in unicodedata.name(ch, "")
