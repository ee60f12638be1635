"""Discord's message markup as plain story words: mentions, channels, custom emoji, times.

Discord sends `<@123>`/`<@!123>` for a person, `<@&123>` for a role, `<#123>` for a channel,
`<:name:123>`/`<a:name:123>` for custom emoji, `<t:1700000000:R>` for timestamps,
`</cmd:123>` for commands and `<id:guide>` for server pages; `@everyone` and `@here` are
plain words that notify.
"""

from __future__ import annotations

import re

from adapters.markup import plain_words

_USER = re.compile(r"<@!?(\d+)>")
_OTHER = re.compile(r"<(?:@&\d+|#\d+|a?:\w+:\d+|t:-?\d+(?::[tTdDfFR])?|/[\w -]+:\d+|id:\w+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


def plain_text(content: str, names: dict[int, str], bot_id: int) -> str:
    """The words of a Discord message: a mentioned person is their name (Inkwell itself
    nothing); roles, channels, custom emoji, timestamps and @everyone/@here go."""

    def person(match: re.Match[str]) -> str:
        user = int(match[1])
        return " " if user == bot_id else names.get(user, "")

    content = _USER.sub(person, content)
    content = _OTHER.sub(" ", content)
    content = _EVERYONE.sub(" ", content)
    return plain_words(content)
