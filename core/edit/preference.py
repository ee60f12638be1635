"""A story's look preference from global edits ("I prefer darker"), kept for later pictures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.base import Storage

PREFERENCE_KEY = "look"  # the channel setting: {"words": "...", "set_by": "..."}
MAX_WORDS = 200  # characters; older wishes drop off the front


def preference_words(settings: Mapping[str, Any]) -> str:
    raw = settings.get(PREFERENCE_KEY)
    if isinstance(raw, Mapping) and isinstance(raw.get("words"), str):
        return raw["words"]
    return ""


async def story_preference(storage: Storage, channel_key: str) -> str:
    """The words every new drawing of this story gets, "" when writers stated none."""
    record = await storage.channels.get(channel_key)
    return preference_words(record.settings) if record else ""


async def remember_preference(storage: Storage, channel_key: str, words: str, by: str) -> str:
    """Add a global edit's words to the story's look; a repeated wish is not added twice."""
    record = await storage.channels.get(channel_key)
    known = preference_words(record.settings) if record else ""
    parts = [p.strip() for p in known.split(",") if p.strip()]
    for part in words.split(","):
        part = part.strip()
        if part and part not in parts:
            parts.append(part)
    combined = ", ".join(parts)
    while len(combined) > MAX_WORDS and len(parts) > 1:
        parts.pop(0)
        combined = ", ".join(parts)
    await storage.channels.update_settings(
        channel_key, {PREFERENCE_KEY: {"words": combined, "set_by": by}}
    )
    return combined


def with_preference(prompt: str, words: str) -> str:
    return f"{prompt}, {words}" if words else prompt
