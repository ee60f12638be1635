"""Channel controls: where Inkwell listens, who may switch it, redrawing or stopping a paragraph."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from core.adapter import Adapter
from core.compose.mode import drawing_mode
from core.events import (
    Accepted,
    Action,
    Audience,
    CancelRequested,
    CandidatesRequested,
    CastLooksSet,
    ChannelDisableRequested,
    ChannelEnableRequested,
    ChannelRef,
    ChannelSettings,
    DrawingModeRequested,
    EditRequested,
    EnhanceRequested,
    Event,
    GenreRequested,
    ParagraphCancelRequested,
    ParagraphPosted,
    PostText,
    QueueRequested,
    Refused,
    RegenerateRequested,
    SettingsRequested,
    StoryEntry,
    StoryRequested,
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleReferenceSet,
    StyleStrengthSet,
)
from core.router import Handler, Router
from core.story.looks import channel_look_strength
from core.story.queue import StoryQueue
from core.story.settings import StorySettings
from storage.base import UNFINISHED_STATUSES, Storage

log = logging.getLogger("inkwell.channels")

ENABLED = "enabled"  # the channel setting that turns Inkwell on

DISABLED = (
    "Inkwell isn't on in this channel. Someone who can manage the channel can turn it on with "
    "`/inkwell enable`."
)
NOT_MANAGER = (
    "Only people who can manage this channel can turn Inkwell on or off here "
    "(Discord: the Manage Channels permission; Slack: workspace admins and the channel's creator)."
)

# Events that act on a story, so they need Inkwell to be on where they come from.
_STORY_EVENTS = (
    ParagraphPosted,
    CancelRequested,
    ParagraphCancelRequested,
    RegenerateRequested,
    StoryRequested,
    QueueRequested,
    EditRequested,
    CandidatesRequested,
    # A channel's look is part of its story: where Inkwell is off, nobody can change or read it.
    StyleReferenceSet,
    StyleReferenceRequested,
    StyleReferenceCleared,
    StyleStrengthSet,
    GenreRequested,
    DrawingModeRequested,
    CastLooksSet,  # how strongly the cast's looks condition drawing
    EnhanceRequested,  # seed 002: enhancing a picture is a story event too
)


class ChannelControls:
    """The gate in front of story events on opt-in platforms, and the channel commands."""

    def __init__(
        self,
        storage: Storage,
        queue: StoryQueue,
        settings: StorySettings,
        profile: str,
        adapters: Mapping[str, Adapter],
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._settings = settings
        self._profile = profile
        self._adapters = adapters  # live view: adapters attached later are seen

    def register(self, router: Router) -> None:
        """The channel commands' handlers; the gate is middleware, which `Inkwell` registers."""
        router.on(ChannelEnableRequested, self.enable)
        router.on(ChannelDisableRequested, self.disable)
        router.on(SettingsRequested, self.show_settings)
        router.on(RegenerateRequested, self.regenerate)
        router.on(ParagraphCancelRequested, self.cancel_paragraph)

    async def is_enabled(self, channel: ChannelRef) -> bool:
        """A thread follows its parent channel unless it was switched on or off itself."""
        record = await self._storage.channels.get(channel.key)
        if record is not None and ENABLED in record.settings:
            return bool(record.settings[ENABLED])
        if channel.thread_id:
            parent_key = channel.parent.key
            parent = await self._storage.channels.get(parent_key)
            return parent is not None and bool(parent.settings.get(ENABLED, False))
        return False

    async def gate(self, event: Event, inner: Handler) -> list[Action]:
        if not isinstance(event, _STORY_EVENTS) or not self._opt_in(event.channel.platform):
            return await inner(event)
        if await self.is_enabled(event.channel):
            return await inner(event)
        if isinstance(event, ParagraphPosted) and not event.addressed:
            # Ordinary chat where Inkwell is off and nobody mentioned it: deliberately no
            # answer (only a mention gets told how to turn Inkwell on).
            return []
        return [Refused(event.channel, DISABLED)]

    async def enable(self, event: Event) -> list[Action]:
        assert isinstance(event, ChannelEnableRequested)
        return await self._switch(event, True, event.manager, event.title)

    async def disable(self, event: Event) -> list[Action]:
        assert isinstance(event, ChannelDisableRequested)
        return await self._switch(event, False, event.manager, "")

    async def _switch(self, event: Event, on: bool, manager: bool, title: str) -> list[Action]:
        channel = event.channel
        if not manager:
            log.info("%s refused: %s is not a manager", channel.key, event.author.user_id)
            return [Refused(channel, NOT_MANAGER)]
        if await self.is_enabled(channel) == on:
            state = "already on" if on else "already off"
            # Nothing changed, so it is no news for the channel.
            return [
                PostText(channel, f"Inkwell is {state} in this channel.", audience=Audience.WRITER)
            ]
        await self._storage.channels.ensure(
            channel.key,
            channel.platform,
            channel.channel_id,
            channel.thread_id,
            title or channel.channel_id,
        )
        await self._storage.channels.update_settings(channel.key, {ENABLED: on})
        log.info("%s %s by %s", channel.key, "enabled" if on else "disabled", event.author.user_id)
        if on:
            text = (
                "Inkwell is on in this channel: every message posted here is a paragraph of the "
                "story, and Inkwell illustrates it sentence by sentence."
            )
        else:
            text = "Inkwell is off in this channel; the story so far is kept."
        return [PostText(channel, text)]

    async def show_settings(self, event: Event) -> list[Action]:
        record = await self._storage.channels.get(event.channel.key)
        return [
            ChannelSettings(
                event.channel,
                enabled=(await self.is_enabled(event.channel))
                or not self._opt_in(event.channel.platform),
                paragraphs=record.paragraph_count if record else 0,
                profile=self._profile,
                candidates=self._settings.candidates,
                max_sentences=self._settings.max_sentences,
                drawing_mode=await drawing_mode(
                    self._storage, event.channel.key, self._settings.compose.mode
                ),
                look_strength=await channel_look_strength(
                    self._storage, event.channel.key, self._settings.cast.look_strength
                ),
            )
        ]

    async def regenerate(self, event: Event) -> list[Action]:
        assert isinstance(event, RegenerateRequested)
        channel = event.channel
        paragraph = await self._storage.paragraphs.get(event.paragraph_id)
        if paragraph is None or paragraph.channel_key != channel.key:
            return [Refused(channel, "That paragraph isn't part of this story.")]
        # A waiting redraw marks the paragraph queued, so a second click is refused here;
        # a drawing that is just finishing is done already and the redraw queues behind it.
        if paragraph.status in UNFINISHED_STATUSES:
            return [Refused(channel, "That paragraph is still being drawn.", paragraph.id)]
        # Marked queued first so a restart mid-draw still finishes it.
        await self._storage.paragraphs.set_status(paragraph.id, "queued")
        variation = uuid.uuid4().hex[:12]
        position = await self._queue.submit(channel, paragraph.id, variation)
        log.info("paragraph %s redrawn in %s (%s)", paragraph.id, channel.key, variation)
        entry = StoryEntry(
            paragraph.id,
            paragraph.seq,
            paragraph.author_name,
            paragraph.text,
            "queued",
            paragraph.posted_at,
            (),
        )
        return [Accepted(channel, entry=entry, queue_position=position)]

    async def cancel_paragraph(self, event: Event) -> list[Action]:
        assert isinstance(event, ParagraphCancelRequested)
        stopping = await self._queue.cancel(event.channel.key, event.paragraph_id)
        if stopping is not None:
            return [PostText(event.channel, "Stopping that paragraph…", stopping)]
        return [Refused(event.channel, "That paragraph isn't being drawn.", event.paragraph_id)]

    def _opt_in(self, platform: str) -> bool:
        adapter = self._adapters.get(platform)
        return adapter is not None and adapter.capabilities.opt_in
