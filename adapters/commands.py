"""The `/inkwell` subcommands Discord and Slack share, as core events."""

from __future__ import annotations

from core.events import (
    Author,
    CancelRequested,
    CastLooksSet,
    ChannelDisableRequested,
    ChannelEnableRequested,
    ChannelRef,
    DrawingModeRequested,
    ElementDescribeRequested,
    ElementForgetRequested,
    ElementMergeRequested,
    ElementPinRequested,
    ElementPronounRequested,
    ElementRenameRequested,
    Event,
    GenreRequested,
    LibraryRequested,
    QueueRequested,
    SettingsRequested,
    StoryRequested,
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleStrengthSet,
    WhyRequested,
)
from core.story.looks import LOOKS_USAGE
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
    if name == "why":
        return WhyRequested(channel, author, "")
    if name in ("library", "cast"):
        return LibraryRequested(channel, author)
    if name == "queue":
        return QueueRequested(channel, author)
    return None


LIBRARY_SUBCOMMANDS = (
    "show", "rename", "merge", "forget", "pin", "unpin", "describe", "pronoun", "looks",
)  # fmt: skip
LIBRARY_USAGE = (
    "`/inkwell cast` (or `library`) shows the story's cast; `/inkwell library rename OLD NEW`, "
    "`merge NAME INTO`, `forget NAME`, `pin NAME` (keep its look), `unpin NAME`, "
    '`describe NAME "grey beard, green apron"` (drawn with every sentence naming it; '
    '`describe NAME ""` clears it) or `pronoun NAME she`. '
    "`looks 0.6` sets how strongly the cast's looks (their reference pictures) condition "
    "drawing (0: off; `looks` alone shows it). "
    'Use quotes for names of several words: `rename "old man" wizard`.'
)


def library_event(name: str, names: list[str], channel: ChannelRef, author: Author) -> Event:
    """`/inkwell library <name> ...` as a core event; ValueError(LIBRARY_USAGE) when the
    names it needs are missing."""
    wanted = {"show": 0, "rename": 2, "merge": 2, "forget": 1, "pin": 1, "unpin": 1}
    wanted |= {"describe": 2, "pronoun": 2}
    if name == "describe" and len(names) > 2:  # the description typed without quotes
        names = [names[0], " ".join(names[1:])]
    if name == "looks" and len(names) <= 1:
        return CastLooksSet(channel, author, _look_strength(names[0] if names else ""))
    if name not in wanted or len(names) != wanted[name]:
        raise ValueError(LIBRARY_USAGE)
    if name == "show":
        return LibraryRequested(channel, author)
    if name == "rename":
        return ElementRenameRequested(channel, author, names[0], names[1])
    if name == "merge":
        return ElementMergeRequested(channel, author, names[0], names[1])
    if name == "forget":
        return ElementForgetRequested(channel, author, names[0])
    if name == "describe":
        return ElementDescribeRequested(channel, author, names[0], names[1])
    if name == "pronoun":
        return ElementPronounRequested(channel, author, names[0], names[1])
    return ElementPinRequested(channel, author, names[0], pinned=name == "pin")


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


def genre_event(channel: ChannelRef, author: Author, name: str = "") -> Event:
    """`/inkwell genre [NAME|none]`: list the trained genres, or pick one (the core checks it)."""
    return GenreRequested(channel, author, name=name.strip())


SETTINGS_USAGE = (
    "`/inkwell settings` shows how Inkwell is set up here; `/inkwell settings mode direct` or "
    "`/inkwell settings mode composed` picks how later paragraphs are drawn."
)


def settings_event(channel: ChannelRef, author: Author, words: list[str]) -> Event:
    """`/inkwell settings [mode [direct|composed]]`; ValueError(SETTINGS_USAGE) for anything
    else. The mode's name is the core's to check, so every platform refuses alike."""
    if not words:
        return SettingsRequested(channel, author)
    if words[0].lower() != "mode" or len(words) > 2:
        raise ValueError(SETTINGS_USAGE)
    return DrawingModeRequested(channel, author, mode=words[1] if len(words) == 2 else "")


def _look_strength(text: str) -> float | None:
    """`/inkwell library looks [N]`'s number; None shows it (the core checks the range)."""
    if not text.strip():
        return None
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(LOOKS_USAGE) from None


def parse_strength(text: str) -> float:
    """A strength typed as text; ValueError(STRENGTH_USAGE) when it isn't a number.

    The range is the core's to check, so every platform refuses out-of-range values alike.
    """
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(STRENGTH_USAGE) from None
