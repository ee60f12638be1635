"""Typed records and the repository protocols every storage backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np

PARAGRAPH_STATUSES = ("queued", "illustrating", "done", "failed", "cancelled")
UNFINISHED_STATUSES = ("queued", "illustrating")
INBOX_STATUSES = ("pending", "done", "failed")
ELEMENT_KINDS = ("character", "environment", "prop")


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
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


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
    # The platform message it came from ("slack:C1:1700000000.0001", "web:room:client-id"):
    # unique, so a redelivered, retried or resent message is stored once.
    source_key: str | None = None


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
    # Every message each platform showed the picture in: posted, then again after an undo.
    platform_message_ids: dict[str, list[str]] = field(default_factory=dict)
    image_bytes: int = 0  # size of the stored picture; 0 once it was removed to save space
    undone: bool = False  # an edit taken back: its parent is the current version again


@dataclass(frozen=True)
class InboxItem:
    """An inbound event that needs work, kept until its reply is recorded."""

    id: str
    channel_key: str
    seq: int
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    dedupe_key: str
    error: str = ""


@dataclass(frozen=True)
class Delivery:
    """A post to a platform: its intent is recorded before sending, its message ids after."""

    id: str
    channel_key: str
    status: str  # "intent" or "posted"
    message_ids: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class ElementLook:
    """One reference picture of an element: a crop kept in the image store, its CLIP image
    feature, and the illustration it was cut from (None: a picture a writer uploaded)."""

    image_id: str
    feature: np.ndarray
    illustration_id: str | None = None


@dataclass(frozen=True)
class ElementRecord:
    """One entry of a story's element library (its cast): a character, place or prop.

    `feature` is seed 000's historical element feature (the CLIP text feature of the noun);
    `look` the running CLIP image feature of its region in the pictures it was drawn in;
    `references` the crops that look came from; `description` the words that join prompts
    naming it ("grey beard, green apron"); `pronoun` the word that refers to it ("he").
    """

    channel_key: str
    name: str
    kind: str
    feature: np.ndarray
    count: int
    first_seen: datetime
    last_seen: datetime
    aliases: tuple[str, ...] = ()
    first_illustration_id: str | None = None
    pinned: bool = False
    look: np.ndarray | None = None
    references: tuple[ElementLook, ...] = ()
    description: str = ""
    pronoun: str = ""


@dataclass(frozen=True)
class HistoryRecord:
    """The running feature of a story's illustrations (seed 000's historical illustration)."""

    channel_key: str
    feature: np.ndarray
    count: int
    updated_at: datetime


@dataclass(frozen=True)
class FeedbackRecord:
    """What a writer said about an illustration, kept as training signal (seed 002)."""

    id: str
    channel_key: str
    illustration_id: str | None
    image_id: str | None
    author_id: str
    text: str
    created_at: datetime
    label: int | None = None  # 1: the text describes the image, 0: it does not
    target_text: str = ""  # the reverse evaluation the restorer should aim for


@dataclass(frozen=True)
class JobRecord:
    """A long task (training, labelling) and where it stands."""

    id: str
    kind: str
    status: str  # queued, running, done, failed, stopped
    params: dict[str, Any]
    progress: float
    message: str
    created_at: datetime
    updated_at: datetime


def due_in_order(pending: list[InboxItem], now: datetime) -> list[InboxItem]:
    """The leading run of `pending` (in arrival order) whose attempt time has come."""
    due = []
    for item in pending:
        if item.next_attempt_at > now:
            break
        due.append(item)
    return due


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

    async def try_lease(self, key: str, owner: str, ttl_s: float, now: datetime) -> bool:
        """Take or renew the channel's work lease; False while another owner's is unexpired."""
        ...

    async def release_lease(self, key: str, owner: str) -> None: ...


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

    async def add_once(
        self,
        source_key: str,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None = None,
    ) -> tuple[ParagraphRecord, bool]:
        """Store the paragraph of one platform message once: the same `source_key` again
        returns the stored paragraph and False (also across processes and restarts)."""
        ...

    async def get(self, paragraph_id: str) -> ParagraphRecord | None: ...

    async def by_source(self, source_key: str) -> ParagraphRecord | None:
        """The paragraph stored from that platform message, if any."""
        ...

    async def queued_count(self, channel_key: str, author_id: str) -> int:
        """The writer's paragraphs in the story still waiting to be drawn."""
        ...

    async def set_status(self, paragraph_id: str, status: str, note: str = "") -> None: ...

    async def page(
        self, channel_key: str, before_seq: int | None, limit: int
    ) -> list[ParagraphRecord]:
        """Up to `limit` paragraphs before `before_seq` (or the latest), oldest first."""
        ...

    async def unfinished(self) -> list[ParagraphRecord]:
        """Paragraphs still queued or mid-illustration, in posting order."""
        ...


class InboxRepository(Protocol):
    async def add(
        self, channel_key: str, kind: str, payload: dict[str, Any], dedupe_key: str, now: datetime
    ) -> InboxItem:
        """Store an event once: adding the same `dedupe_key` again returns the first item."""
        ...

    async def due(self, channel_key: str, now: datetime, limit: int = 10) -> list[InboxItem]:
        """Pending items that may run now, in arrival order, stopping before the first one
        that waits for a retry: a story's events never overtake each other."""
        ...

    async def pending_count(self, channel_key: str) -> int: ...

    async def channels_with_due(self, now: datetime) -> list[str]: ...

    async def mark_done(self, item_id: str) -> None: ...

    async def mark_retry(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        """Count a failed attempt and leave the item pending until `next_attempt_at`."""
        ...

    async def mark_failed(self, item_id: str, error: str) -> None: ...

    async def prune(self, finished_before: datetime) -> int:
        """Delete done and failed items created before the cut-off; returns how many."""
        ...


class DeliveryRepository(Protocol):
    async def record_intent(self, delivery_id: str, channel_key: str, now: datetime) -> Delivery:
        """Note that a post is about to be made; returns the existing record if there is one."""
        ...

    async def record_posted(
        self, delivery_id: str, message_ids: tuple[str, ...], now: datetime
    ) -> None: ...

    async def get(self, delivery_id: str) -> Delivery | None: ...


class IllustrationRepository(Protocol):
    async def add(self, record: IllustrationRecord) -> None: ...

    async def add_many(self, records: list[IllustrationRecord]) -> None:
        """Store a paragraph's illustrations together; storing the same ids again is a no-op."""
        ...

    async def for_paragraphs(
        self, paragraph_ids: list[str]
    ) -> dict[str, list[IllustrationRecord]]: ...

    async def image_bytes(self, channel_key: str) -> int:
        """Total size of the pictures a story still keeps."""
        ...

    async def oldest_with_images(
        self, channel_key: str, limit: int
    ) -> list[IllustrationRecord]: ...

    async def forget_image(self, illustration_id: str) -> None:
        """The picture was deleted: keep the text and provenance (enough to redraw it)."""
        ...

    async def get(self, illustration_id: str) -> IllustrationRecord | None: ...

    async def record_message(
        self, illustration_ids: list[str], platform: str, message_id: str
    ) -> None:
        """One more message these illustrations were posted in; replies to it find them."""
        ...

    async def by_message(
        self, channel_key: str, platform: str, message_id: str
    ) -> list[IllustrationRecord]:
        """The illustrations posted in that message, in sentence order."""
        ...

    async def children(self, parent_id: str) -> list[IllustrationRecord]:
        """The edits made from this illustration, oldest first."""
        ...

    async def set_undone(self, illustration_id: str, undone: bool) -> None: ...


class ElementRepository(Protocol):
    async def list(self, channel_key: str) -> list[ElementRecord]: ...

    async def get(self, channel_key: str, name: str) -> ElementRecord | None: ...

    async def put(self, record: ElementRecord) -> None:
        """Insert or replace the element with this channel and name."""
        ...

    async def delete(self, channel_key: str, name: str) -> bool: ...


class HistoryRepository(Protocol):
    async def get(self, channel_key: str) -> HistoryRecord | None: ...

    async def put(self, record: HistoryRecord) -> None: ...


class FeedbackRepository(Protocol):
    async def add(self, record: FeedbackRecord) -> None: ...

    async def list(
        self, channel_key: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[FeedbackRecord]:
        """Oldest first; all channels when `channel_key` is None."""
        ...


@dataclass(frozen=True)
class EditPairRecord:
    """Seed 003 [0123]-[0131]: an attribute edit kept as a training pair for an editing model.

    The pictures are copies stored for the pair (retention of illustrations never removes
    them); `request` is the writer's words, `edit_prompt` the instruction the pair teaches."""

    id: str
    channel_key: str
    illustration_id: str  # the edited version
    original_image_id: str
    edited_image_id: str
    request: str
    edit_prompt: str
    attribute: str
    attribute_word: str
    feature_branch: str  # "prompt only" or "attribute generator NAME"
    created_at: datetime


class EditPairRepository(Protocol):
    async def add(self, record: EditPairRecord) -> None:
        """Storing the same id again is a no-op."""
        ...

    async def list(
        self, channel_key: str | None = None, limit: int = 100_000
    ) -> list[EditPairRecord]:
        """Oldest first; all channels when `channel_key` is None."""
        ...


class JobRepository(Protocol):
    async def create(self, kind: str, params: dict[str, Any], now: datetime) -> JobRecord: ...

    async def update(
        self,
        job_id: str,
        now: datetime,
        status: str | None = None,
        progress: float | None = None,
        message: str | None = None,
    ) -> JobRecord: ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def list(self, kind: str | None = None, limit: int = 50) -> list[JobRecord]:
        """Newest first."""
        ...


class ImageStore(Protocol):
    async def put(self, png: bytes) -> str:
        """Store encoded image bytes; returns the image id."""
        ...

    async def get(self, image_id: str) -> bytes | None: ...

    async def delete(self, image_id: str) -> None: ...


class Storage(Protocol):
    channels: ChannelRepository
    paragraphs: ParagraphRepository
    inbox: InboxRepository
    deliveries: DeliveryRepository
    illustrations: IllustrationRepository
    elements: ElementRepository
    history: HistoryRepository
    feedback: FeedbackRepository
    edit_pairs: EditPairRepository
    jobs: JobRepository
    images: ImageStore

    async def close(self) -> None: ...
