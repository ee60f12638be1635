"""The core assembled: events stored and routed, stories worked in order, actions sent out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.adapter import Adapter
from core.channels import ChannelControls
from core.compose.drawing import Composing
from core.compose.mode import DrawingModeCommands
from core.connections import Connection
from core.edit.chain import current_versions
from core.edit.commands import EDIT, EditCommands
from core.edit.policy import EditPolicy
from core.edit.work import EditWork
from core.engine import Engine
from core.events import (
    Accepted,
    Action,
    Audience,
    CancelRequested,
    ChannelList,
    ChannelRef,
    ChannelsRequested,
    ChannelSummary,
    EditRequested,
    Event,
    MessageRef,
    ParagraphPosted,
    PostError,
    PostText,
    Progress,
    Refused,
    StoryEntry,
    StoryPage,
    StoryRequested,
)
from core.feedback.enhance import Enhancer
from core.inbox import InboxSettings, InboxWorker
from core.router import Handler, Router, new_reference
from core.story.candidates import CANDIDATES, CandidateCommands, CandidatesWork
from core.story.choosing import ConsistentChooser
from core.story.library_commands import LibraryCommands
from core.story.limits import story_refusal, writer_refusal
from core.story.loop import IllustrationLoop
from core.story.paragraphs import RejectedParagraph, clean_paragraph
from core.story.queue import ILLUSTRATE, ParagraphWork, StoryQueue
from core.story.queue_view import QueueView
from core.story.settings import StorySettings
from core.style.commands import StyleCommands
from core.style.genre import GenreCommands
from storage.base import InboxItem, ParagraphRecord, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.core")

MAX_PAGE = 50


class Inkwell:
    """Owns the router, the inbox worker and the illustration loop.

    Adapters receive only `dispatch`; everything they must show comes back as actions.
    A paragraph is stored in the inbox before `dispatch` returns, so an adapter that
    acknowledges after dispatch never acknowledges something a crash could lose.
    """

    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        settings: StorySettings,
        inbox: InboxSettings | None = None,
        edit: EditPolicy | None = None,
        clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.engine = engine
        self._clock = clock
        self.storage = storage
        self.settings = settings
        self.router = Router()
        self._adapters: dict[str, Adapter] = {}
        self._loop = IllustrationLoop(engine, storage, self.send, settings, self.deliver)
        edit = edit or EditPolicy()
        chooser = ConsistentChooser(
            engine,
            storage,
            settings.thr_1,
            settings.presence_threshold,
            settings.cast,
            text_term=settings.text_term,
        )
        edits = EditWork(
            engine,
            storage,
            chooser,
            self.send,
            self.deliver,
            strength=edit.strength,
            progress_interval_s=settings.progress_interval_s,
            edit_model=edit.edit_model,
            composing=Composing(engine, storage, settings.compose),
        )
        self._inbox_settings = inbox or InboxSettings()
        self._worker = InboxWorker(
            storage,
            {
                ILLUSTRATE: ParagraphWork(storage, self._loop, self.send),
                EDIT: edits,
                CANDIDATES: CandidatesWork(
                    engine, storage, self.send, settings.progress_interval_s
                ),
            },
            self._inbox_settings,
            clock=clock,
            on_start=self._announce_queue,
        )
        self.queue = StoryQueue(storage, self._worker)
        controls = ChannelControls(
            storage, self.queue, settings, engine.profile_name, self._adapters
        )
        # Middleware, outermost first, all of it here (as slack-bolt's app constructor does):
        # the opt-in gate refuses story events from channels where Inkwell is off.
        self.router.use(controls.gate)
        # Then the story's waiting limit on edits (paragraphs check theirs in their handler,
        # after recognising a message stored before).
        self.router.use(self._edit_limit)
        self.router.on(ParagraphPosted, self._on_paragraph)
        self.router.on(StoryRequested, self._on_story_requested)
        self.router.on(ChannelsRequested, self._on_channels_requested)
        self.router.on(CancelRequested, self._on_cancel)
        controls.register(self.router)
        StyleCommands(storage, engine).register(self.router)
        GenreCommands(storage, engine).register(self.router)
        DrawingModeCommands(storage, settings.compose.mode).register(self.router)
        LibraryCommands(storage, engine, settings.cast.look_strength).register(self.router)
        QueueView(storage, self.queue).register(self.router)
        EditCommands(storage, engine, self.queue, edit).register(self.router)
        CandidateCommands(storage, self.queue, engine).register(self.router)
        Enhancer(storage, engine, self.deliver).register(self.router)

    def attach(self, adapter: Adapter) -> None:
        self._adapters[adapter.name] = adapter

    def connections(self) -> list[Connection]:
        """The platform connections the attached adapters hold (a gateway, a socket)."""
        held = (getattr(adapter, "connection", None) for adapter in self._adapters.values())
        return [connection for connection in held if isinstance(connection, Connection)]

    async def start(self) -> None:
        """Start adapters, then pick up work a previous run (or another process) left."""
        for adapter in self._adapters.values():
            await adapter.start(self.dispatch)
        await self._requeue_unfinished()
        await self.sweep()

    async def stop(self) -> None:
        for adapter in self._adapters.values():
            await adapter.stop()
        await self._worker.close()

    async def idle(self) -> None:
        """Wait until no story is being worked in this process (tests, graceful shutdown)."""
        await self._worker.join()

    async def sweep(self) -> int:
        """Start work nobody here is doing: retries now due, other processes' expired leases."""
        return await self._worker.sweep()

    async def prune(self, keep_days: float) -> int:
        """Forget finished inbox items older than `keep_days`; the story itself is kept."""
        removed = await self.storage.inbox.prune(self._clock() - timedelta(days=keep_days))
        if removed:
            log.info("pruned %d finished inbox items", removed)
        return removed

    async def dispatch(self, event: Event) -> list[Action]:
        return await self.router.dispatch(event)

    async def send(self, action: Action) -> None:
        """Send a passing update (progress, notes); a failure is logged, never raised."""
        try:
            await self.deliver(action)
        except Exception:
            log.exception("sending %s to %s failed", type(action).__name__, action.channel.key)

    async def deliver(self, action: Action) -> MessageRef | None:
        """Send an action that must arrive; raises when it doesn't, so the inbox retries."""
        if action.audience is Audience.WRITER:
            # Only a reply returned from dispatch knows its writer; later news is the channel's.
            raise ValueError(f"{type(action).__name__} for one writer can only answer dispatch")
        adapter = self._adapters.get(action.channel.platform)
        if adapter is None:
            raise LookupError(f"no adapter for {action.channel.platform!r} is running")
        return await adapter.send(action)

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
        message_id = event.message.message_id if event.message else None
        who = (event.author.user_id, event.author.display_name)
        known = None
        if event.source_key is not None:
            known = await self.storage.paragraphs.by_source(event.source_key)
        if known is None:  # a message stored before is answered as such, whatever the limits
            refusal = await writer_refusal(
                self.storage,
                self._inbox_settings,
                channel.key,
                event.author.user_id,
                self._worker.typical_item_s,
            )
            if refusal:
                log.info("paragraph refused in %s: %s", channel.key, refusal)
                return [Refused(channel, message=refusal)]
        if event.source_key is None:
            paragraph = await self.storage.paragraphs.add(
                channel.key, *who, text, event.received_at, message_id
            )
        else:
            paragraph, stored = await self.storage.paragraphs.add_once(
                event.source_key, channel.key, *who, text, event.received_at, message_id
            )
            if not stored:
                log.info("%s was stored before as %s", event.source_key, paragraph.id)
                position = await self.queue.position(channel.key, paragraph.id)
                entry = _entry(paragraph, [])
                return [Accepted(channel, entry=entry, queue_position=position, again=True)]
        position = await self.queue.submit(channel, paragraph.id)
        log.info("paragraph %s queued in %s at %d", paragraph.id, channel.key, position)
        return [Accepted(channel, entry=_entry(paragraph, []), queue_position=position)]

    async def _edit_limit(self, event: Event, handler: Handler) -> list[Action]:
        if isinstance(event, EditRequested):
            refusal = await story_refusal(
                self.storage, self._inbox_settings, event.channel.key, self._worker.typical_item_s
            )
            if refusal:
                return [Refused(event.channel, message=refusal)]
        return await handler(event)

    async def _on_story_requested(self, event: Event) -> list[Action]:
        assert isinstance(event, StoryRequested)
        limit = max(1, min(event.limit, MAX_PAGE))
        records = await self.storage.paragraphs.page(event.channel.key, event.before_seq, limit + 1)
        has_more = len(records) > limit
        records = records[-limit:]
        illustrations = await self.storage.illustrations.for_paragraphs([r.id for r in records])
        entries = []
        for record in records:
            shown = [i for i in current_versions(illustrations[record.id]) if i.image_id]
            # Pictures removed to save space are not shown.
            entries.append(
                _entry(record, [(i.image_id, i.text) for i in shown], tuple(i.id for i in shown))
            )
        return [StoryPage(event.channel, entries=tuple(entries), has_more=has_more)]

    async def _on_channels_requested(self, event: Event) -> list[Action]:
        records = await self.storage.channels.list_for_platform(event.channel.platform)
        summaries = tuple(ChannelSummary(r.channel_id, r.title, r.paragraph_count) for r in records)
        return [ChannelList(event.channel, channels=summaries)]

    async def _on_cancel(self, event: Event) -> list[Action]:
        stopping = await self.queue.cancel(event.channel.key)
        if stopping is None:
            idle = "Nothing is being drawn in this story right now."
            return [PostText(event.channel, idle, audience=Audience.WRITER)]
        return [PostText(event.channel, "Stopping the current illustration…", stopping)]

    # ------------------------------------------------------------------ internals

    async def _announce_queue(self, started: InboxItem) -> None:
        """When a story's next event starts, tell each waiting paragraph its new place."""
        record = await self.storage.channels.get(started.channel_key)
        if record is None:
            return
        channel = ChannelRef.of(record)
        waiting = await self.queue.waiting_paragraphs(started.channel_key)
        started_id = started.payload.get("paragraph_id")
        waiting = [paragraph_id for paragraph_id in waiting if paragraph_id != started_id]
        for position, paragraph_id in enumerate(waiting, start=1):
            await self.send(
                Progress(
                    channel,
                    paragraph_id,
                    "queued",
                    0.0,
                    queue_position=position,
                    detail=f"Queued, position {position}",
                )
            )

    async def _requeue_unfinished(self) -> None:
        """Paragraphs stored but never queued (a crash between the two writes) get queued."""
        for paragraph in await self.storage.paragraphs.unfinished():
            record = await self.storage.channels.get(paragraph.channel_key)
            if record is None:
                log.error("paragraph %s has no channel record; left as is", paragraph.id)
                continue
            channel = ChannelRef.of(record)
            # Idempotent: a paragraph already in the inbox is not added twice.
            await self.queue.submit(channel, paragraph.id)


def _entry(
    record: ParagraphRecord,
    illustrations: list[tuple[str, str]],
    illustration_ids: tuple[str, ...] = (),
) -> StoryEntry:
    return StoryEntry(
        paragraph_id=record.id,
        seq=record.seq,
        author=record.author_name,
        text=record.text,
        status=record.status,
        posted_at=record.posted_at,
        illustrations=tuple(illustrations),
        note=record.note,
        illustration_ids=illustration_ids,
    )
