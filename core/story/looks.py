"""Drawing with the cast's looks: the elements a sentence names (or refers to by a pronoun)
bring their reference pictures to the engine's image-prompt adapter, at the channel's strength.

An element's reference is the picture a writer gave it when it is pinned to one, else the crop
of its drawn references most alike its running look. Elements without a reference yet (a first
appearance) bring nothing. The strength is a channel setting (`/inkwell library looks 0.6`, the
room's Cast panel); channels that set none use `story.cast.look_strength`; 0 turns looks off.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from core.engine import LookRef
from core.story.consistency import cosines
from storage.base import ElementLook, ElementRecord, Storage

log = logging.getLogger("inkwell.cast")

LOOKS_KEY = "look_strength"  # the channel setting
MIN_LOOK_STRENGTH = 0.0
MAX_LOOK_STRENGTH = 2.0
MOST_LOOKS = 4  # references one picture is drawn with (each adds the adapter's tokens)
LOOKS_USAGE = (
    f"The cast's look strength is a number from {MIN_LOOK_STRENGTH:g} (off) to "
    f"{MAX_LOOK_STRENGTH:g}, e.g. `/inkwell library looks 0.6`."
)


def valid_look_strength(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and MIN_LOOK_STRENGTH <= value <= MAX_LOOK_STRENGTH
    )


async def channel_look_strength(storage: Storage, channel_key: str, default: float) -> float:
    """The channel's own strength, else `default` (the configured one)."""
    record = await storage.channels.get(channel_key)
    raw = record.settings.get(LOOKS_KEY) if record is not None else None
    return float(raw) if valid_look_strength(raw) else default


def reference_of(element: ElementRecord) -> ElementLook | None:
    """The picture that shows the element's look: the writers' own when pinned to one, else the
    drawn crop most alike its look (the latest on a tie, or without a look)."""
    if not element.references:
        return None
    uploaded = [r for r in element.references if r.illustration_id is None]
    if element.pinned and uploaded:
        return uploaded[-1]
    if element.look is None:
        return element.references[-1]
    alike = cosines(np.stack([r.feature for r in element.references]), element.look)
    best = max(range(len(alike)), key=lambda n: (float(alike[n]), n))
    return element.references[best]


class CastLooks:
    """The looks one paragraph's drawing passes, each picture read once from storage."""

    def __init__(self, storage: Storage, strength: float) -> None:
        self._storage = storage
        self.strength = strength
        self._pictures: dict[str, bytes | None] = {}

    @classmethod
    async def load(cls, storage: Storage, channel_key: str, default: float) -> CastLooks:
        return cls(storage, await channel_look_strength(storage, channel_key, default))

    async def of(self, elements: list[ElementRecord]) -> tuple[LookRef, ...]:
        """The references of the named elements, in the order named, at most MOST_LOOKS."""
        if self.strength <= 0:
            return ()
        looks: list[LookRef] = []
        for element in elements:
            reference = reference_of(element)
            if reference is None or len(looks) == MOST_LOOKS:
                continue
            if reference.image_id not in self._pictures:
                self._pictures[reference.image_id] = await self._storage.images.get(
                    reference.image_id
                )
            picture = self._pictures[reference.image_id]
            if picture is None:  # removed by retention: drawn without it
                log.warning("reference %s of %s is gone", reference.image_id, element.name)
                continue
            looks.append(LookRef(element.name, reference.image_id, picture))
        return tuple(looks)
