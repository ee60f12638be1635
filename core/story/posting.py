"""Posting a paragraph's illustrations exactly once, and reusing a drawing a crash left behind."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from core.events import Action, IllustrationImage, MessageRef, PostIllustrations
from storage.base import Storage
from storage.codec import now_utc

if TYPE_CHECKING:
    from core.story.loop import ParagraphJob

log = logging.getLogger("inkwell.posting")

Deliver = Callable[[Action], Awaitable[MessageRef | None]]
"""Sends an action to its platform and returns where it landed; raises if it didn't."""


def illustration_id_for(job: ParagraphJob, number: int) -> str:
    """The same id on every attempt, so storing a retried drawing again adds nothing."""
    return f"{_id_prefix(job)}{number}"


def _id_prefix(job: ParagraphJob) -> str:
    variation = f":{job.variation}" if job.variation else ""
    return f"{job.paragraph.id}{variation}:"


def delivery_id_for(job: ParagraphJob) -> str:
    variation = f":{job.variation}" if job.variation else ""
    return f"illustrations:{job.paragraph.id}{variation}"


async def stored_drawing(storage: Storage, job: ParagraphJob) -> list[IllustrationImage] | None:
    """The illustrations an earlier attempt of this job stored, once it stored them all.

    `mark_drawn` records the delivery's intent after the last illustration is stored, so an
    intent means the drawing is complete, on any backend.
    """
    if await storage.deliveries.get(delivery_id_for(job)) is None:
        return None
    prefix = _id_prefix(job)
    stored = (await storage.illustrations.for_paragraphs([job.paragraph.id]))[job.paragraph.id]
    mine = sorted(
        (r for r in stored if r.id.startswith(prefix) and r.id[len(prefix) :].isdigit()),
        key=lambda r: int(r.id[len(prefix) :]),
    )
    if not mine:
        return None
    images = []
    for record in mine:
        png = await storage.images.get(record.image_id) if record.image_id else None
        if png is None:
            return None
        images.append(IllustrationImage(record.id, record.image_id, png, record.text, record.score))
    log.info("reusing the stored drawing of paragraph %s", job.paragraph.id)
    return images


async def mark_drawn(storage: Storage, job: ParagraphJob) -> None:
    """The drawing is stored whole: from here a retry posts it instead of drawing again."""
    await storage.deliveries.record_intent(delivery_id_for(job), job.channel.key, now_utc())


async def post_once(
    storage: Storage,
    deliver: Deliver,
    job: ParagraphJob,
    images: list[IllustrationImage],
    profile: str,
    again: bool = False,
) -> None:
    """Record the intent, post, record where it landed; a post already made is not repeated.

    A crash between posting and recording leaves the intent alone, so the post is sent again
    on recovery (never silently lost) with the same `delivery_id` and `again` set: the
    adapter makes that resend land once (see `PostIllustrations.delivery_id`).
    """
    delivery_id = delivery_id_for(job)
    delivery = await storage.deliveries.record_intent(delivery_id, job.channel.key, now_utc())
    if delivery.status == "posted":
        log.info("illustrations of %s were already posted; not again", job.paragraph.id)
        return
    where = await deliver(
        PostIllustrations(
            job.channel,
            paragraph_id=job.paragraph.id,
            images=tuple(images),
            profile=profile,
            reply_to=job.reply_to,
            delivery_id=delivery_id,
            again=again,
        )
    )
    if where is not None:
        # Before the post is marked done: a reply to this message must find its pictures.
        await storage.illustrations.record_message(
            [image.illustration_id for image in images], job.channel.platform, where.message_id
        )
    message_ids = (where.message_id,) if where is not None else ()
    await storage.deliveries.record_posted(delivery_id, message_ids, now_utc())
    log.info("posted illustrations of paragraph %s in %s", job.paragraph.id, job.channel.key)
