"""Seed 003 [0123]-[0131]: every attribute edit's original and edited picture, kept as a pair."""

from __future__ import annotations

import logging

from core.engine import feature_branch_label
from storage.base import EditPairRecord, IllustrationRecord, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.edit")


async def keep_pair(
    storage: Storage,
    edited: IllustrationRecord,
    original_png: bytes,
    edited_png: bytes,
    request: str,
    attribute: str,
    attribute_word: str,
    generator: str | None,
    edit_model: str | None = None,
) -> None:
    """Store the pair with copies of both pictures (retention of illustrations may later
    remove theirs); keyed by the edited version, so a retried edit keeps one pair."""
    pair = EditPairRecord(
        id=edited.id,
        channel_key=edited.channel_key,
        illustration_id=edited.id,
        original_image_id=await storage.images.put(original_png),
        edited_image_id=await storage.images.put(edited_png),
        request=request,
        edit_prompt=request,
        attribute=attribute,
        attribute_word=attribute_word,
        feature_branch=feature_branch_label(generator, edit_model),
        created_at=now_utc(),
    )
    await storage.edit_pairs.add(pair)
    log.info("edit pair %s kept in %s", pair.id, pair.channel_key)
