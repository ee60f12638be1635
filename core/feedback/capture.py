"""Storing what writers say about pictures as labelled training signal (seed 002)."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from core.feedback.evaluation import classify_feedback
from storage.base import FeedbackRecord, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.feedback")

# Feedback typed in the training room belongs to no story.
TRAINING_ROOM = "training-room"


def feedback_record(
    channel_key: str,
    author_id: str,
    text: str,
    image_id: str | None,
    illustration_id: str | None = None,
    now: datetime | None = None,
) -> FeedbackRecord:
    """The record for one text about one picture: its class as the label, its target text.

    The picture's image id is the sample id: every text about the same picture is bound to
    it, whichever room it came from.
    """
    feedback = classify_feedback(text)
    return FeedbackRecord(
        id=uuid.uuid4().hex,
        channel_key=channel_key,
        illustration_id=illustration_id,
        image_id=image_id,
        author_id=author_id,
        text=feedback.text,
        created_at=now or now_utc(),
        label=feedback.label,
        target_text=feedback.target,
    )


async def keep_feedback(
    storage: Storage,
    channel_key: str,
    author_id: str,
    text: str,
    image_id: str | None,
    illustration_id: str | None = None,
) -> FeedbackRecord:
    record = feedback_record(channel_key, author_id, text, image_id, illustration_id)
    await storage.feedback.add(record)
    log.info(
        "feedback %s on %s in %s: label %s, target %r",
        *(record.id, image_id, channel_key, record.label, record.target_text),
    )
    return record
