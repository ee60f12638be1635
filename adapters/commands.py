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
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleStrengthSet,
)
from core.style.settings import MAX_STRENGTH, MIN_STRENGTH

STORY_PAGE = 10  # paragraphs `/inkwell story` shows
STYLE_SUBCOMMANDS = ("set", "show", "clear", "strength")
STRENGTH_USAGE = (
    f"Style strength is a number from {MIN_STRENGTH:g} (off) to {MAX_STRENGTH:g}, "
    "e.g. `/inkwell style strength 0.5`; 1 is the strength the style branch was trained at."
)


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


def style_event(
    name: str, channel: ChannelRef, author: Author, strength: float | None = None
) -> Event:
    """The core event for `/inkwell style show|clear|strength`; "set" carries a picture and is
    built by each adapter once the picture is downloaded."""
    if name == "clear":
        return StyleReferenceCleared(channel, author)
    if name == "strength":
        if strength is None:
            raise ValueError(STRENGTH_USAGE)
        return StyleStrengthSet(channel, author, strength=strength)
    return StyleReferenceRequested(channel, author)


def parse_strength(text: str) -> float:
    """A strength typed as text; ValueError(STRENGTH_USAGE) when it isn't a number.

    The range is the core's to check, so every platform refuses out-of-range values alike.
    """
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(STRENGTH_USAGE) from None
