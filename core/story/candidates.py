"""Every candidate a paragraph's pictures were chosen from, drawn again from recorded seeds."""

from __future__ import annotations

import logging

from core.edit.chain import current_versions, original
from core.engine import CancelToken, Engine, GenerationRequest, LookRef, StyleRef
from core.events import (
    Action,
    CandidatesRequested,
    CandidatesShown,
    ChannelRef,
    Event,
    IllustrationImage,
    PostText,
    Refused,
)
from core.router import Router
from core.story.progress import ProgressReporter, Send
from core.story.queue import StoryQueue
from storage.base import IllustrationRecord, InboxItem, Storage

log = logging.getLogger("inkwell.candidates")

CANDIDATES = "candidates"  # the inbox kind
NO_SEEDS = (
    "Those pictures were drawn before Inkwell kept their candidates' seeds; redraw the "
    "paragraph to see its candidates."
)


def other_profile(profile: str, running: str) -> str:
    return (
        f"Those pictures were drawn with the '{profile}' models, and Inkwell now runs "
        f"'{running}', which draws other pictures from the same seeds; redraw the paragraph "
        "to see this profile's candidates."
    )


STYLE_REMOVED = (
    "The style picture those pictures followed has been removed to save space, so their "
    "candidates can't be drawn again as they were; redraw the paragraph to see new ones."
)

LOOK_REMOVED = (
    "A reference picture those pictures were drawn with has been removed, so their "
    "candidates can't be drawn again as they were; redraw the paragraph to see new ones."
)


def genre_removed(genre: str) -> str:
    return (
        f"Those pictures were drawn in the genre '{genre}', which is no longer trained here "
        "(its adapter was removed), so their candidates can't be drawn again as they were; "
        "redraw the paragraph to see new ones."
    )


async def cannot_redraw(
    storage: Storage, drawn: list[IllustrationRecord], engine: Engine
) -> str | None:
    """Why the candidates can't be drawn again as they were, or None when they can."""
    if not all("candidate_seeds" in record.provenance for record in drawn):
        return NO_SEEDS
    running = engine.profile_name
    genres: set[str] | None = None
    for record in drawn:
        profile = record.provenance.get("profile")
        if profile != running:
            return other_profile(str(profile), running)
        style_ref = record.provenance.get("style_ref")
        if style_ref and await storage.images.get(style_ref) is None:
            return STYLE_REMOVED
        genre = record.provenance.get("genre")
        if genre:
            if genres is None:
                genres = {info.name for info in await engine.adapters() if info.kind == "genre"}
            if genre not in genres:
                return genre_removed(str(genre))
        for image_id in record.provenance.get("look_images") or ():
            if await storage.images.get(image_id) is None:
                return LOOK_REMOVED
    return None


class CandidateCommands:
    def __init__(self, storage: Storage, queue: StoryQueue, engine: Engine) -> None:
        self._storage = storage
        self._queue = queue
        self._engine = engine

    def register(self, router: Router) -> None:
        router.on(CandidatesRequested, self.request)

    async def request(self, event: Event) -> list[Action]:
        assert isinstance(event, CandidatesRequested)
        channel = event.channel
        paragraph = await self._storage.paragraphs.get(event.paragraph_id)
        if paragraph is None or paragraph.channel_key != channel.key:
            return [Refused(channel, "That paragraph isn't part of this story.")]
        drawn = await _drawn(self._storage, paragraph.id)
        if not drawn:
            return [Refused(channel, "That paragraph has no pictures to compare.", paragraph.id)]
        reason = await cannot_redraw(self._storage, drawn, self._engine)
        if reason is not None:
            return [Refused(channel, reason, paragraph.id)]
        payload = {"paragraph_id": paragraph.id}
        key = f"{CANDIDATES}:{paragraph.id}:{event.received_at.isoformat()}"
        ahead = await self._queue.submit_work(channel, CANDIDATES, payload, key)
        queued = f" ({ahead} ahead)" if ahead else ""
        return [
            PostText(
                channel, f"Drawing the candidates again from their seeds…{queued}", paragraph.id
            )
        ]


class CandidatesWork:
    """The inbox handler: one generate call for every sentence's candidates."""

    def __init__(self, engine: Engine, storage: Storage, send: Send, interval_s: float) -> None:
        self._engine = engine
        self._storage = storage
        self._send = send
        self._interval = interval_s

    async def run(self, item: InboxItem, cancel: CancelToken) -> None:
        paragraph_id = item.payload["paragraph_id"]
        channel = await self._channel(item)
        drawn = await _drawn(self._storage, paragraph_id)
        if channel is None or not drawn:
            return
        # Checked again: the profile or the style picture may have changed while it waited.
        reason = await cannot_redraw(self._storage, drawn, self._engine)
        if reason is not None:
            await self._send(PostText(channel, reason, paragraph_id))
            return
        requests = [await self._request(record) for record in drawn]
        reporter = ProgressReporter(self._send, channel, paragraph_id, self._interval)
        try:
            groups = await self._engine.generate(requests, reporter.on_step, cancel)
        finally:
            await reporter.flush()
        images = []
        for number, (record, group) in enumerate(zip(drawn, groups, strict=True), start=1):
            chosen = int(record.provenance.get("candidate_index", -1))
            scores = list(record.provenance.get("candidate_scores", []))
            for index, picture in enumerate(group):
                score = scores[index] if index < len(scores) else 0.0
                mark = " (chosen)" if index == chosen else ""
                caption = (
                    f"Picture {number}, candidate {index + 1} of {len(group)}: "
                    f"score {round(100 * score)}%{mark}"
                )
                images.append(
                    IllustrationImage(f"{record.id}~{index}", "", picture.png, caption, score)
                )
        await self._send(CandidatesShown(channel, paragraph_id, tuple(images)))

    async def retrying(self, item: InboxItem, delay_s: float) -> None:
        log.info("candidates of %s: retry in %.0f s", item.payload["paragraph_id"], delay_s)

    async def failed(self, item: InboxItem, reference: str) -> None:
        channel = await self._channel(item)
        if channel is not None:
            text = f"Inkwell couldn't draw the candidates again (ref {reference})."
            await self._send(PostText(channel, text, item.payload["paragraph_id"]))

    async def _channel(self, item: InboxItem) -> ChannelRef | None:
        record = await self._storage.channels.get(item.channel_key)
        if record is None:
            return None
        return ChannelRef.of(record)

    async def _request(self, record: IllustrationRecord) -> GenerationRequest:
        p = record.provenance
        style = None
        if p.get("style_ref"):
            image = await self._storage.images.get(p["style_ref"])
            if image is None:  # removed after cannot_redraw looked: fail, don't draw unstyled
                raise LookupError(f"style picture {p['style_ref']} was removed")
            style = StyleRef(p["style_ref"], image, float(p.get("style_strength") or 1.0))
        # A composed picture's candidates were its first drawings (seed 001), from its
        # initial prompt, not from the prompt its sketch was rendered with.
        composition = p.get("composition") or {}
        looks = []
        for name, image_id in zip(p.get("looks") or (), p.get("look_images") or (), strict=True):
            picture = await self._storage.images.get(image_id)
            if picture is None:  # removed after cannot_redraw looked
                raise LookupError(f"reference picture {image_id} was removed")
            looks.append(LookRef(name, image_id, picture))
        return GenerationRequest(
            prompt=composition.get("initial_prompt") or p["prompt"],
            seeds=tuple(int(seed) for seed in p["candidate_seeds"]),
            negative_prompt=p.get("negative_prompt", ""),
            steps=p.get("steps"),
            width=p.get("width"),
            height=p.get("height"),
            guidance_scale=p.get("guidance_scale"),
            style=style,
            genre=p.get("genre"),
            looks=tuple(looks),
            look_strength=float(p.get("look_strength") or 0.0) if looks else 0.0,
        )


async def _drawn(storage: Storage, paragraph_id: str) -> list[IllustrationRecord]:
    """The drawings the paragraph's current pictures were chosen as (before any edit)."""
    records = (await storage.illustrations.for_paragraphs([paragraph_id]))[paragraph_id]
    return [await original(storage, record) for record in current_versions(records)]
