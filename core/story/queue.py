"""Paragraph work: stored in the inbox before it is acknowledged, drawn in story order."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core import metrics
from core.engine import CancelToken
from core.events import Action, ChannelRef, MessageRef, Progress
from core.inbox import InboxWorker
from core.story.loop import IllustrationLoop, ParagraphJob
from storage.base import InboxItem, Storage
from storage.codec import now_utc

log = logging.getLogger("inkwell.queue")

ILLUSTRATE = "illustrate"
Send = Callable[[Action], Awaitable[None]]


class StoryQueue:
    """What the rest of the core sees of the inbox: submit, look at, and cancel paragraphs."""

    def __init__(self, storage: Storage, worker: InboxWorker) -> None:
        self._storage = storage
        self._worker = worker

    async def submit(self, channel: ChannelRef, paragraph_id: str, variation: str = "") -> int:
        """Store the work durably, start it if this process may; returns how many are ahead.

        Submitting the same paragraph (and variation) again stores nothing new.
        """
        await self._storage.inbox.add(
            channel.key,
            ILLUSTRATE,
            {"paragraph_id": paragraph_id, "variation": variation},
            dedupe_key=f"{ILLUSTRATE}:{paragraph_id}:{variation}",
            now=now_utc(),
        )
        ahead = await self._storage.inbox.pending_count(channel.key) - 1
        metrics.set_queue_depth(channel.key, ahead + 1)
        self._worker.notify(channel.key)
        return max(ahead, 0)

    async def submit_work(
        self, channel: ChannelRef, kind: str, payload: dict, dedupe_key: str
    ) -> int:
        """Queue other story work (an edit) behind the story's paragraphs, in order."""
        await self._storage.inbox.add(channel.key, kind, payload, dedupe_key, now_utc())
        ahead = await self._storage.inbox.pending_count(channel.key) - 1
        self._worker.notify(channel.key)
        return max(ahead, 0)

    def running_paragraph(self, channel_key: str) -> tuple[str, CancelToken] | None:
        running = self._worker.running(channel_key)
        if running is None:
            return None
        return running.item.payload["paragraph_id"], running.cancel

    async def waiting_paragraphs(self, channel_key: str) -> list[str]:
        """Paragraph ids queued in this story, not counting the one being drawn."""
        items = await self._storage.inbox.due(channel_key, now_utc(), limit=1000)
        running = self.running_paragraph(channel_key)
        ids = [item.payload["paragraph_id"] for item in items if item.kind == ILLUSTRATE]
        if running is not None and running[0] in ids:
            ids.remove(running[0])
        return ids

    async def waiting_items(self, channel_key: str) -> tuple[InboxItem | None, list[InboxItem]]:
        """The item being drawn here (None when none), and the story's others in drawing order."""
        items = await self._storage.inbox.due(channel_key, now_utc(), limit=1000)
        running = self._worker.running(channel_key)
        if running is None:
            return None, items
        waiting = [item for item in items if item.id != running.item.id]
        return running.item, waiting

    async def position(self, channel_key: str, paragraph_id: str) -> int:
        """How many of the story's stored items are ahead of this paragraph, counted as
        `submit` counts them (0 once it is being drawn or finished)."""
        items = await self._storage.inbox.due(channel_key, now_utc(), limit=1000)
        for ahead, item in enumerate(items):
            if item.kind == ILLUSTRATE and item.payload.get("paragraph_id") == paragraph_id:
                return ahead
        return 0

    async def cancel(self, channel_key: str, paragraph_id: str | None = None) -> str | None:
        """Stop a paragraph (the running one when None); returns its id, or None if idle."""
        running = self.running_paragraph(channel_key)
        if running is not None and paragraph_id in (None, running[0]):
            running[1].cancel()
            return running[0]
        if paragraph_id is not None and paragraph_id in await self.waiting_paragraphs(channel_key):
            # Its turn will come and find it cancelled; the inbox item then ends as done.
            await self._storage.paragraphs.set_status(paragraph_id, "cancelled", "Stopped.")
            return paragraph_id
        return None


class ParagraphWork:
    """The inbox handler for paragraphs: loads what the item names and runs the loop."""

    def __init__(self, storage: Storage, loop: IllustrationLoop, send: Send) -> None:
        self._storage = storage
        self._loop = loop
        self._send = send

    async def run(self, item: InboxItem, cancel: CancelToken) -> None:
        job = await self._job(item, cancel)
        if job is None:
            return
        if job.paragraph.status == "cancelled":
            stopped = Progress(job.channel, job.paragraph.id, "cancelled", 0.0, 0, "Stopped")
            await self._send(stopped)
            return
        await self._loop.illustrate(job)

    async def retrying(self, item: InboxItem, delay_s: float) -> None:
        job = await self._job(item, CancelToken())
        if job is None:
            return
        note = f"Inkwell hit a problem drawing this; it will try again in {delay_s:.0f} s."
        await self._storage.paragraphs.set_status(job.paragraph.id, "queued", note)
        await self._send(Progress(job.channel, job.paragraph.id, "queued", 0.0, 0, note))

    async def failed(self, item: InboxItem, reference: str) -> None:
        job = await self._job(item, CancelToken())
        if job is not None:
            await self._loop.report_failure(job, reference)

    async def _job(self, item: InboxItem, cancel: CancelToken) -> ParagraphJob | None:
        paragraph = await self._storage.paragraphs.get(item.payload["paragraph_id"])
        channel = await self._storage.channels.get(item.channel_key)
        if paragraph is None or channel is None:
            log.error("inbox item %s names a paragraph or channel that is gone", item.id)
            return None
        ref = ChannelRef.of(channel)
        reply_to = MessageRef(ref, paragraph.message_id) if paragraph.message_id else None
        return ParagraphJob(
            paragraph,
            ref,
            reply_to,
            cancel=cancel,
            variation=item.payload.get("variation", ""),
        )
