"""Typed records and the repository protocols every storage backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

PARAGRAPH_STATUSES = ("queued", "illustrating", "done", "failed", "cancelled")
UNFINISHED_STATUSES = ("queued", "illustrating")


@dataclass(frozen=True)
class ChannelRecord:
    key: str
    platform: str
    channel_id: str
    thread_id: str | None
    title: str
    created_at: datetime
    paragraph_count: int = 0
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ParagraphRecord:
    """A paragraph exactly as a writer posted it, numbered in story order."""

    id: str
    channel_key: str
    seq: int
    author_id: str
    author_name: str
    text: str
    status: str
    posted_at: datetime
    note: str = ""
    message_id: str | None = None


@dataclass(frozen=True)
class IllustrationRecord:
    id: str
    channel_key: str
    paragraph_id: str
    sentence_index: int
    text: str
    image_id: str
    score: float
    provenance: dict
    clip_feature: np.ndarray | None
    created_at: datetime
    parent_id: str | None = None
    platform_message_ids: dict[str, str] = field(default_factory=dict)


class ChannelRepository(Protocol):
    async def ensure(
        self, key: str, platform: str, channel_id: str, thread_id: str | None, title: str
    ) -> ChannelRecord:
        """The channel's record, created with `title` on first use."""
        ...

    async def get(self, key: str) -> ChannelRecord | None: ...

    async def list_for_platform(self, platform: str) -> list[ChannelRecord]: ...

    async def update_settings(self, key: str, changes: dict[str, Any]) -> ChannelRecord:
        """Merge `changes` into the channel's settings (a None value removes a key)."""
        ...


class ParagraphRepository(Protocol):
    async def add(
        self,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None = None,
    ) -> ParagraphRecord:
        """Store a paragraph as `queued`, giving it the channel's next sequence number."""
        ...

    async def get(self, paragraph_id: str) -> ParagraphRecord | None: ...

    async def set_status(self, paragraph_id: str, status: str, note: str = "") -> None: ...

    async def page(
        self, channel_key: str, before_seq: int | None, limit: int
    ) -> list[ParagraphRecord]:
        """Up to `limit` paragraphs before `before_seq` (or the latest), oldest first."""
        ...

    async def unfinished(self) -> list[ParagraphRecord]:
        """Paragraphs still queued or mid-illustration, in posting order."""
        ...


class IllustrationRepository(Protocol):
    async def add(self, record: IllustrationRecord) -> None: ...

    async def for_paragraphs(
        self, paragraph_ids: list[str]
    ) -> dict[str, list[IllustrationRecord]]: ...


class ImageStore(Protocol):
    async def put(self, png: bytes) -> str:
        """Store encoded image bytes; returns the image id."""
        ...

    async def get(self, image_id: str) -> bytes | None: ...


class Storage(Protocol):
    channels: ChannelRepository
    paragraphs: ParagraphRepository
    illustrations: IllustrationRepository
    images: ImageStore

    async def close(self) -> None: ...
