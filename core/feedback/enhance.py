"""The "enhance" action: keep the writer's complaint, run the restorer, post the new version."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from core.engine import Engine, RestorerState
from core.events import (
    Action,
    EnhanceRequested,
    Event,
    IllustrationImage,
    MessageRef,
    PostError,
    PostIllustrations,
    PostText,
    Refused,
)
from core.feedback.capture import keep_feedback
from core.router import Router, new_reference
from storage.base import IllustrationRecord, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.feedback")

Deliver = Callable[[Action], Awaitable[MessageRef | None]]

NOT_FOUND = "That picture isn't part of this story."
REMOVED = (
    "That picture was removed to save space, so it can't be enhanced. Redraw the paragraph "
    "and enhance the new picture."
)
FAILED = "Inkwell couldn't enhance that picture; please try again later."
UNTRAINED_NOTE = (
    "Note: the restorer isn't trained yet (`python -m bot train-restorer`), so the enhanced "
    "picture looks the same."
)
IMG2IMG_NOTE = (
    "Note: the restorer isn't trained yet (`python -m bot train-restorer`), so this version "
    "was refined by the {profile} generator (img2img at low strength)."
)
FEEDBACK_KEPT = " Your feedback is kept and will help train it."


class Enhancer:
    """Handles EnhanceRequested; the new version goes to the whole story via `deliver`."""

    def __init__(self, storage: Storage, engine: Engine, deliver: Deliver) -> None:
        self._storage = storage
        self._engine = engine
        self._deliver = deliver

    def register(self, router: Router) -> None:
        router.on(EnhanceRequested, self.enhance)

    async def enhance(self, event: Event) -> list[Action]:
        assert isinstance(event, EnhanceRequested)
        channel = event.channel
        original = await self._storage.illustrations.get(event.illustration_id)
        if original is None or original.channel_key != channel.key:
            return [Refused(channel, NOT_FOUND)]
        complaint = event.complaint.strip()
        if complaint:
            # Kept before anything can fail: the writer's words are never lost.
            await keep_feedback(
                self._storage,
                channel.key,
                event.author.user_id,
                complaint,
                original.image_id or None,
                original.id,
            )
        png = await self._storage.images.get(original.image_id) if original.image_id else None
        if png is None:
            return [Refused(channel, REMOVED, original.paragraph_id)]
        state = self._engine.restorer_state  # what draws this picture, recorded with it
        try:
            [restored] = await self._engine.restore([png])
        except Exception:
            reference = new_reference()
            log.exception("restoring %s failed (ref %s)", original.id, reference)
            message = FAILED + (" Your feedback is saved." if complaint else "")
            return [PostError(channel, message, reference, original.paragraph_id)]
        record = await self._store(original, restored, complaint, state)
        image = IllustrationImage(
            record.id,
            record.image_id,
            restored,
            record.text,
            record.score,
            sentence_index=record.sentence_index,  # replaces that sentence's picture
            parent_id=original.id,
        )
        where = await self._deliver(
            PostIllustrations(
                channel,
                paragraph_id=original.paragraph_id,
                images=(image,),
                profile=self._engine.profile_name,
                reply_to=event.message,
            )
        )
        if where is not None:  # a reply to the new version finds it, as for any picture
            await self._storage.illustrations.record_message(
                [record.id], channel.platform, where.message_id
            )
        log.info("enhanced %s as %s in %s (%s)", original.id, record.id, channel.key, state)
        if state != "trained":
            note = (
                IMG2IMG_NOTE.format(profile=self._engine.profile_name)
                if state == "img2img"
                else UNTRAINED_NOTE
            )
            note += FEEDBACK_KEPT if complaint else ""
            return [PostText(channel, note, original.paragraph_id)]
        return []

    async def _store(
        self, original: IllustrationRecord, restored: bytes, complaint: str, state: RestorerState
    ) -> IllustrationRecord:
        image_id = await self._storage.images.put(restored)
        chain = [*original.provenance.get("edit_chain", []), original.id]
        record = IllustrationRecord(
            id=f"{original.id}:restored-{uuid.uuid4().hex[:8]}",
            channel_key=original.channel_key,
            paragraph_id=original.paragraph_id,
            sentence_index=original.sentence_index,
            text=original.text,
            image_id=image_id,
            score=original.score,
            provenance={
                **original.provenance,
                "edit_chain": chain,
                "restorer": state,
                "complaint": complaint,
                "request": complaint or "enhance",
                "read_as": "a quality complaint: the restorer's version"
                if complaint
                else "enhance",
            },
            clip_feature=original.clip_feature,
            created_at=now_utc(),
            parent_id=original.id,
            image_bytes=len(restored),
        )
        await self._storage.illustrations.add(record)
        return record
