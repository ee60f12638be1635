"""How much a story, and one writer in it, may have waiting: more is refused in words that
name the limit and say when to try again."""

from __future__ import annotations

import math

from core.inbox import InboxSettings
from storage.base import Storage


def try_again(items_ahead: int, typical_item_s: float) -> str:
    """When a refused writer may try again: once `items_ahead` items are done."""
    if typical_item_s <= 0:
        return "try again once some of them are drawn"
    minutes = max(1, math.ceil(items_ahead * typical_item_s / 60))
    return f"try again in about {minutes} minute{'s' if minutes > 1 else ''}"


async def story_refusal(
    storage: Storage, settings: InboxSettings, channel_key: str, typical_item_s: float
) -> str:
    """Why the story can't take more work now, or "" while it can."""
    waiting = await storage.inbox.pending_count(channel_key)
    limit = settings.max_waiting_per_story
    if waiting < limit:
        return ""
    return (
        f"This story already has {waiting} paragraphs and edits waiting to be drawn (the "
        f"limit is {limit}); {try_again(waiting - limit + 1, typical_item_s)}."
    )


async def writer_refusal(
    storage: Storage,
    settings: InboxSettings,
    channel_key: str,
    author_id: str,
    typical_item_s: float,
) -> str:
    """Why this writer can't add another paragraph now, or "" while they can."""
    story = await story_refusal(storage, settings, channel_key, typical_item_s)
    if story:
        return story
    mine = await storage.paragraphs.queued_count(channel_key, author_id)
    limit = settings.max_waiting_per_writer
    if mine < limit:
        return ""
    ahead = await storage.inbox.pending_count(channel_key)
    return (
        f"You already have {mine} paragraphs waiting to be drawn in this story (the limit is "
        f"{limit} per writer); {try_again(ahead, typical_item_s)}."
    )
