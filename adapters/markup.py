"""Plain words from chat markup every platform shares: markdown, HTML, emoji shortcodes.

Each platform's convert step first replaces its own markup (mentions, channel links, custom
emoji) and then calls `plain_words`, once, so screening, drawing and captions only ever see
the story's words: `**bold**` is "bold", `<b>x</b>` is "x", `:tada:` is nothing.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r"```[^\n`]*\n?(.*?)```", re.S)  # a code block keeps its text
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?|mailto):[^)\s]*\)")  # [words](url) -> words
_BARE_URL = re.compile(r"<?\bhttps?://[^\s>]+>?")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>|<!--.*?-->", re.S)
_SHORTCODE = re.compile(r"(?<![\w:]):[a-z0-9_+\-']{1,64}:(?::skin-tone-\d:)?(?![\w:])", re.I)
# Emphasis markers around words (never inside a word: snake_case and 2*3*4 stay).
_EMPHASIS = re.compile(r"(?<![\w*_~|])(\*{1,3}|_{1,3}|~~|~|\|\|)(?=\S)(.+?)(?<=\S)\1(?![\w*_~|])")
_LINE_MARK = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>{1,3}[ \t]?|-#[ \t]+)", re.M)
_SPACES = re.compile(r"[ \t]+")
_BEFORE_STOP = re.compile(r" (?=[.,!?;:](?:\s|$))")  # where a removed emoji left a gap


def plain_words(text: str) -> str:
    """The words of a chat message without its formatting; newlines between lines are kept."""
    text = _FENCE.sub(r"\1", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _BARE_URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _TAG.sub(" ", text)  # tags written as entities (&lt;b&gt;) are tags all the same
    text = _SHORTCODE.sub(" ", text)
    for _ in range(3):  # nested emphasis: ***~~x~~***
        text = _EMPHASIS.sub(r"\2", text)
    text = _LINE_MARK.sub("", text)
    lines = (_BEFORE_STOP.sub("", _SPACES.sub(" ", line)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
