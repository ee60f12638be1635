"""A channel's style reference as kept in its settings, and the StyleRef its drawings carry."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.engine import StyleRef
from storage.base import Storage

log = logging.getLogger("inkwell.style")

STYLE_KEY = "style"  # the channel setting holding a ChannelStyle
MIN_STRENGTH = 0.0
MAX_STRENGTH = 2.0
DEFAULT_STRENGTH = 1.0


@dataclass(frozen=True)
class ChannelStyle:
    """`image_id` None: no reference. The strength outlives a clear, so a writer's choice
    of how strongly styles steer carries over to the next reference."""

    image_id: str | None = None
    strength: float = DEFAULT_STRENGTH
    set_by: str = ""
    set_at: str = ""  # ISO time the reference was set

    def to_settings(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "strength": self.strength,
            "set_by": self.set_by,
            "set_at": self.set_at,
        }

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> ChannelStyle:
        raw = settings.get(STYLE_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        image_id = raw.get("image_id")
        strength = raw.get("strength", DEFAULT_STRENGTH)
        return cls(
            image_id=image_id if isinstance(image_id, str) and image_id else None,
            strength=float(strength) if valid_strength(strength) else DEFAULT_STRENGTH,
            set_by=str(raw.get("set_by", "")),
            set_at=str(raw.get("set_at", "")),
        )


def valid_strength(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and MIN_STRENGTH <= value <= MAX_STRENGTH
    )


async def channel_style(storage: Storage, channel_key: str) -> ChannelStyle:
    record = await storage.channels.get(channel_key)
    return ChannelStyle.from_settings(record.settings) if record is not None else ChannelStyle()


async def style_for_drawing(storage: Storage, channel_key: str) -> StyleRef | None:
    """The StyleRef for the channel's next drawing; None without a reference or at strength 0.

    Strength 0 skips the branch altogether: the pictures are exactly the unstyled ones, and
    their provenance says so.
    """
    style = await channel_style(storage, channel_key)
    if style.image_id is None or style.strength == 0:
        return None
    image = await storage.images.get(style.image_id)
    if image is None:
        log.error("style image %s of %s is missing; drawing unstyled", style.image_id, channel_key)
        return None
    return StyleRef(style.image_id, image, style.strength)
