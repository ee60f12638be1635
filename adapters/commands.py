"""The `/inkwell` subcommands Discord and Slack share, as core events."""

from __future__ import annotations

from core.events import (
    Author,
    CancelRequested,
    ChannelDisableRequested,
    ChannelEnableRequested,
    ChannelRef,
    Event,
    SettingsRequested,
    StoryRequested,
)

STORY_PAGE = 10  # paragraphs `/inkwell story` shows


def command_event(
    name: str, channel: ChannelRef, author: Author, manager: bool, title: str
) -> Event | None:
    """The core event for `/inkwell <name>`; None for what the adapter answers itself."""
    if name == "enable":
        return ChannelEnableRequested(channel, author, manager=manager, title=title)
    if name == "disable":
        return ChannelDisableRequested(channel, author, manager=manager)
    if name == "cancel":
        return CancelRequested(channel, author)
    if name == "story":
        return StoryRequested(channel, author, limit=STORY_PAGE)
    if name == "settings":
        return SettingsRequested(channel, author)
    return None
