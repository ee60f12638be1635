"""Keeps a story's pictures within its byte budget by removing the oldest ones first."""

from __future__ import annotations

import logging

from core.compose.drawing import stage_image_ids
from storage.base import Storage

log = logging.getLogger("inkwell.retention")


async def keep_within_budget(storage: Storage, channel_key: str, max_bytes: int) -> int:
    """Delete the oldest pictures until the story's total is within `max_bytes`.

    Their text and provenance stay, so any of them can be drawn again; a composed picture's
    stage pictures go with it (its byte count includes them). Returns how many pictures were
    removed; a budget of 0 means no limit.
    """
    if max_bytes <= 0:
        return 0
    total = await storage.illustrations.image_bytes(channel_key)
    removed = 0
    while total > max_bytes:
        oldest = await storage.illustrations.oldest_with_images(channel_key, 50)
        if not oldest:
            break
        for record in oldest:
            if total <= max_bytes:
                break
            await storage.images.delete(record.image_id)
            for image_id in stage_image_ids(record.provenance):
                await storage.images.delete(image_id)
            await storage.illustrations.forget_image(record.id)
            total -= record.image_bytes
            removed += 1
    if removed:
        log.info(
            "removed %d old pictures of %s to stay within %d bytes", removed, channel_key, max_bytes
        )
    return removed
