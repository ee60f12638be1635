"""`/inkwell queue`: the story's waiting work in drawing order, and the asker's place in it."""

from __future__ import annotations

from core.events import Action, Event, QueuedWork, QueueRequested, QueueShown
from core.router import Router
from core.story.queue import ILLUSTRATE, StoryQueue
from storage.base import InboxItem, Storage

TEXT_SHOWN = 120  # characters of a paragraph or request shown per line
_KINDS = {ILLUSTRATE: "paragraph", "edit": "edit", "candidates": "candidates"}


class QueueView:
    def __init__(self, storage: Storage, queue: StoryQueue) -> None:
        self._storage = storage
        self._queue = queue

    def register(self, router: Router) -> None:
        router.on(QueueRequested, self.show)

    async def show(self, event: Event) -> list[Action]:
        running, waiting = await self._queue.waiting_items(event.channel.key)
        ordered = ([running] if running is not None else []) + waiting
        first = 0 if running is not None else 1
        items = [
            await self._describe(item, position, event.author.user_id)
            for position, item in enumerate(ordered, start=first)
        ]
        mine = [item for item in items if item.mine]
        return [
            QueueShown(
                event.channel,
                items=tuple(items),
                your_position=mine[0].position if mine else None,
                yours=len(mine),
            )
        ]

    async def _describe(self, item: InboxItem, position: int, asker: str) -> QueuedWork:
        paragraph_id = str(item.payload.get("paragraph_id", ""))
        paragraph = await self._storage.paragraphs.get(paragraph_id) if paragraph_id else None
        kind = _KINDS.get(item.kind, item.kind)
        if kind == "paragraph" and item.payload.get("variation"):
            kind = "redraw"
        if kind == "edit":
            author_id = str(item.payload.get("author_id", ""))
            author = str(item.payload.get("author_name", ""))
            text = str(item.payload.get("text", ""))
        else:
            author_id = paragraph.author_id if paragraph else ""
            author = paragraph.author_name if paragraph else ""
            text = paragraph.text if paragraph else ""
        if len(text) > TEXT_SHOWN:
            text = text[: TEXT_SHOWN - 1] + "…"
        return QueuedWork(
            position=position,
            kind=kind,
            author=author,
            text=text,
            paragraph_id=paragraph_id,
            seq=paragraph.seq if paragraph else None,
            mine=bool(author_id) and author_id == asker,
        )
