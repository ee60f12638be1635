"""Slack's message markup as plain story words: mentions, channel links, specials, links.

Slack sends `<@U123>` (or `<@U123|name>`) for a person, `<#C123|general>` for a channel,
`<!everyone>`, `<!here>`, `<!channel>`, `<!subteam^S1|@team>` and `<!date^...|fallback>` as
specials, `<https://...|label>` for links, and escapes `&`, `<` and `>` in what people typed.
"""

from __future__ import annotations

import re

from adapters.markup import plain_words

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|[^>]*)?>")
_SPECIAL = re.compile(r"<!([^>|]*)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto|tel):[^>|]*)(?:\|([^>]*))?>")


def mentioned_users(text: str) -> list[str]:
    """The user ids a message mentions, in order, each once (to look their names up)."""
    return list(dict.fromkeys(match[1] for match in _USER.finditer(text)))


def plain_text(text: str, names: dict[str, str], bot_user_id: str) -> str:
    """The words of a Slack message: a person is their name (Inkwell itself nothing),
    channel links and @-specials go, a link is its label, a date its fallback text."""

    def person(match: re.Match[str]) -> str:
        if match[1] == bot_user_id:
            return " "
        return names.get(match[1]) or (match[2] or "").lstrip("@")

    def special(match: re.Match[str]) -> str:
        return f" {match[2]} " if match[1].startswith("date^") and match[2] else " "

    text = _USER.sub(person, text)
    text = _CHANNEL.sub(" ", text)
    text = _SPECIAL.sub(special, text)
    text = _LINK.sub(lambda m: f" {m[2] or ''} ", text)
    return plain_words(text)  # unescapes &amp; &lt; &gt; after the markup above is gone


def escaped(text: str) -> str:
    """Text Inkwell posts, escaped as Slack asks: no `<!everyone>` or `<@U1>` can form, so
    nothing echoed from a story notifies anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
