"""Core actions as the text Slack shows for them (answers, whispers, thread replies)."""

from __future__ import annotations

from adapters import chat_text
from adapters.slack import convert
from core.events import (
    Action,
    ChannelSettings,
    LibraryShown,
    PostError,
    PostText,
    Refused,
    StoryPage,
    StyleReferenceShown,
    WhyShown,
)


def render(action: Action) -> str:
    if isinstance(action, ChannelSettings):
        return chat_text.settings_text(action)
    if isinstance(action, StoryPage):
        return chat_text.story_text(action, convert.TEXT_LIMIT)
    if isinstance(action, (PostText, PostError, Refused)):
        return chat_text.message_text(action)
    if isinstance(action, StyleReferenceShown):
        return chat_text.style_text(action)
    if isinstance(action, LibraryShown):
        return chat_text.library_text(action, convert.TEXT_LIMIT)
    if isinstance(action, WhyShown):
        return chat_text.why_text(action, convert.TEXT_LIMIT)
    return f"Inkwell has no words for {type(action).__name__} on Slack."
