"""The core assembled: adapters in, events routed, paragraphs sequenced per story, actions out."""

from __future__ import annotations

import logging

from core.adapter import Adapter
from core.engine import Engine
from core.events import (
    Accepted,
    Action,
    CancelRequested,
    ChannelList,
    ChannelRef,
    ChannelsRequested,
    ChannelSummary,
    Event,
    MessageRef,
    ParagraphPosted,
    PostError,
    PostText,
    Progress,
    StoryEntry,
    StoryPage,
    StoryRequested,
)
from core.router import Router, new_reference
from core.sequencer import ChannelSequencer
from core.story.loop import IllustrationLoop, ParagraphJob, StorySettings
from core.story.paragraphs import RejectedParagraph, clean_paragraph
from storage.base import ParagraphRecord, Storage

log = logging.getLogger("inkwell.core")

MAX_PAGE = 50


class Inkwell:
    """Owns the router, the per-story sequencer and the illustration loop.

    Adapters receive only `dispatch`; everything they must show comes back as actions.
    """

    def __init__(self, engine: Engine, storage: Storage, settings: StorySettings) -> None:
        self.engine = engine
        self.storage = storage
        self.settings = settings
        self.router = Router()
        self._adapters: dict[str, Adapter] = {}
        self._loop = IllustrationLoop(engine, storage, self.send, settings)
        self._sequencer: ChannelSequencer[ParagraphJob] = ChannelSequencer(
            self._loop.illustrate, self._announce_queue
        )
        self.router.on(ParagraphPosted, self._on_paragraph)
        self.router.on(StoryRequested, self._on_story_requested)
        self.router.on(ChannelsRequested, self._on_channels_requested)
        self.router.on(CancelRequested, self._on_cancel)

    def attach(self, adapter: Adapter) -> None:
        self._adapters[adapter.name] = adapter

    async def start(self) -> None:
        """Start adapters, then pick up paragraphs a previous run left unfinished."""
        for adapter in self._adapters.values():
            await adapter.start(self.dispatch)
        await self._resume_unfinished()

    async def stop(self) -> None:
        for adapter in self._adapters.values():
            await adapter.stop()
        await self._sequencer.close()

    async def idle(self) -> None:
        """Wait until every queued paragraph is illustrated (tests, graceful shutdown)."""
        await self._sequencer.join()

    async def dispatch(self, event: Event) -> list[Action]:
        return await self.router.dispatch(event)

    async def send(self, action: Action) -> None:
        """Deliver an action to its platform; a failed delivery is logged, never raised."""
        adapter = self._adapters.get(action.channel.platform)
        if adapter is None:
            log.warning("no adapter for %s; dropped %s", action.channel.platform, action)
            return
        try:
            await adapter.send(action)
        except Exception:
            log.exception("sending %s to %s failed", type(action).__name__, action.channel.key)

    # ------------------------------------------------------------------ handlers

    async def _on_paragraph(self, event: Event) -> list[Action]:
        assert isinstance(event, ParagraphPosted)
        try:
            text = clean_paragraph(event.text, self.settings.max_paragraph_chars)
        except RejectedParagraph as rejected:
            return [PostError(event.channel, message=str(rejected), reference=new_reference())]
        channel = event.channel
        await self.storage.channels.ensure(
            channel.key, channel.platform, channel.channel_id, channel.thread_id, channel.channel_id
        )
        paragraph = await self.storage.paragraphs.add(
            channel.key,
            event.author.user_id,
            event.author.display_name,
            text,
            event.received_at,
            event.message.message_id if event.message else None,
        )
        position = self._sequencer.submit(
            channel.key, ParagraphJob(paragraph, channel, reply_to=event.message)
        )
        log.info("paragraph %s queued in %s at %d", paragraph.id, channel.key, position)
        return [Accepted(channel, entry=_entry(paragraph, []), queue_position=position)]

    async def _on_story_requested(self, event: Event) -> list[Action]:
        assert isinstance(event, StoryRequested)
        limit = max(1, min(event.limit, MAX_PAGE))
        records = await self.storage.paragraphs.page(event.channel.key, event.before_seq, limit + 1)
        has_more = len(records) > limit
        records = records[-limit:]
        illustrations = await self.storage.illustrations.for_paragraphs([r.id for r in records])
        entries = tuple(
            _entry(record, [(i.image_id, i.text) for i in illustrations[record.id]])
            for record in records
        )
        return [StoryPage(event.channel, entries=entries, has_more=has_more)]

    async def _on_channels_requested(self, event: Event) -> list[Action]:
        records = await self.storage.channels.list_for_platform(event.channel.platform)
        summaries = tuple(ChannelSummary(r.channel_id, r.title, r.paragraph_count) for r in records)
        return [ChannelList(event.channel, channels=summaries)]

    async def _on_cancel(self, event: Event) -> list[Action]:
        job = self._sequencer.running(event.channel.key)
        if job is None:
            return [PostText(event.channel, "Nothing is being drawn in this story right now.")]
        job.cancel.cancel()
        return [PostText(event.channel, "Stopping the current illustration…", job.paragraph.id)]

    # ------------------------------------------------------------------ internals

    async def _announce_queue(self, channel_key: str, waiting: list[ParagraphJob]) -> None:
        for position, job in enumerate(waiting, start=1):
            await self.send(
                Progress(
                    job.channel,
                    job.paragraph.id,
                    "queued",
                    0.0,
                    queue_position=position,
                    detail=f"Queued, position {position}",
                )
            )

    async def _resume_unfinished(self) -> None:
        unfinished = await self.storage.paragraphs.unfinished()
        for paragraph in unfinished:
            record = await self.storage.channels.get(paragraph.channel_key)
            if record is None:
                log.error("paragraph %s has no channel record; left as is", paragraph.id)
                continue
            channel = ChannelRef(record.platform, record.channel_id, record.thread_id)
            reply_to = MessageRef(channel, paragraph.message_id) if paragraph.message_id else None
            self._sequencer.submit(channel.key, ParagraphJob(paragraph, channel, reply_to))
        if unfinished:
            log.info("resumed %d unfinished paragraphs", len(unfinished))


def _entry(record: ParagraphRecord, illustrations: list[tuple[str, str]]) -> StoryEntry:
    return StoryEntry(
        paragraph_id=record.id,
        seq=record.seq,
        author=record.author_name,
        text=record.text,
        status=record.status,
        posted_at=record.posted_at,
        illustrations=tuple(illustrations),
        note=record.note,
    )
