"""Typed inbound events and outbound actions exchanged between adapters and the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChannelRef:
    """A story's home: one channel (or thread) on one platform."""

    platform: str
    channel_id: str
    thread_id: str | None = None

    @property
    def key(self) -> str:
        """A stable, storage-friendly identifier for the story."""
        parts = [self.platform, self.channel_id]
        if self.thread_id:
            parts.append(self.thread_id)
        return ":".join(parts)


@dataclass(frozen=True)
class Author:
    user_id: str
    display_name: str


@dataclass(frozen=True)
class MessageRef:
    """Where a posted message lives on its platform, so it can be edited or replied to."""

    channel: ChannelRef
    message_id: str


# ---------------------------------------------------------------- inbound events


@dataclass(frozen=True)
class Event:
    channel: ChannelRef
    author: Author
    received_at: datetime = field(default_factory=utc_now, kw_only=True)


@dataclass(frozen=True)
class ParagraphPosted(Event):
    """A writer added a paragraph to the story."""

    text: str
    message: MessageRef | None = None
    # False for ordinary chat in a channel where Inkwell only listens once enabled; such a post
    # in a disabled channel is ignored silently instead of answered.
    addressed: bool = True


@dataclass(frozen=True)
class StoryRequested(Event):
    """A reader pages back through the story: paragraphs posted before `before_seq`."""

    before_seq: int | None = None
    limit: int = 20


@dataclass(frozen=True)
class ChannelsRequested(Event):
    """A reader wants the list of stories on this platform (the web room picker)."""


@dataclass(frozen=True)
class CancelRequested(Event):
    """Stop the paragraph currently being illustrated in this channel."""


# ---------------------------------------------------------------- outbound actions


@dataclass(frozen=True)
class Action:
    channel: ChannelRef


@dataclass(frozen=True)
class StoryEntry:
    paragraph_id: str
    seq: int
    author: str
    text: str
    status: str
    posted_at: datetime
    illustrations: tuple[tuple[str, str], ...]  # (image_id, caption)
    note: str = ""
    illustration_ids: tuple[str, ...] = ()  # the same pictures' ids, for edits and "why"


@dataclass(frozen=True)
class Accepted(Action):
    """Immediate reply: the paragraph is stored and queued behind `queue_position` others."""

    entry: StoryEntry
    queue_position: int


@dataclass(frozen=True)
class Progress(Action):
    """Where a paragraph's illustration stands: queued, generating, scoring, done."""

    paragraph_id: str
    stage: str
    fraction: float
    queue_position: int = 0
    detail: str = ""


@dataclass(frozen=True)
class IllustrationImage:
    illustration_id: str
    image_id: str
    png: bytes
    caption: str
    score: float
    # Set on a new version of one sentence's picture (an edit, an undo): it replaces only that.
    sentence_index: int | None = None
    parent_id: str | None = None  # set on a new version of an illustration (e.g. enhanced)


@dataclass(frozen=True)
class PostIllustrations(Action):
    """The chosen illustrations for a paragraph, one per illustrated sentence, in story order."""

    paragraph_id: str
    images: tuple[IllustrationImage, ...]
    profile: str
    reply_to: MessageRef | None = None


@dataclass(frozen=True)
class PostText(Action):
    text: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class PostError(Action):
    """A failure told in words a writer understands, with a reference id for the logs."""

    message: str
    reference: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class StoryPage(Action):
    entries: tuple[StoryEntry, ...]
    has_more: bool


@dataclass(frozen=True)
class ChannelSummary:
    channel_id: str
    title: str
    paragraphs: int


@dataclass(frozen=True)
class ChannelList(Action):
    channels: tuple[ChannelSummary, ...]


# ---------------------------------------------------------------- channel controls
# Adapters decide facts only the platform knows (is the author a manager?) and put them on the
# event; the core decides what they allow.


@dataclass(frozen=True)
class ChannelEnableRequested(Event):
    """Turn Inkwell on in this channel or thread; `manager` is the platform's verdict."""

    manager: bool = False
    title: str = ""


@dataclass(frozen=True)
class ChannelDisableRequested(Event):
    manager: bool = False


@dataclass(frozen=True)
class SettingsRequested(Event):
    """Show how Inkwell is set up in this channel."""


@dataclass(frozen=True)
class RegenerateRequested(Event):
    """Draw a paragraph again from fresh seeds (the button under its illustrations)."""

    paragraph_id: str


@dataclass(frozen=True)
class ParagraphCancelRequested(Event):
    """Stop one paragraph, whether it is being drawn or still waiting its turn."""

    paragraph_id: str


@dataclass(frozen=True)
class Refused(Action):
    """A request that was not carried out, and why; nothing failed, so there is no reference."""

    message: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class ChannelSettings(Action):
    enabled: bool
    paragraphs: int
    profile: str
    candidates: int
    max_sentences: int


# ---------------------------------------------------------------- style references (seed 004)


@dataclass(frozen=True)
class StyleReferenceSet(Event):
    """A writer gives the channel a picture to draw like; `image` is the upload's bytes."""

    image: bytes = field(repr=False)
    filename: str = ""


@dataclass(frozen=True)
class StyleReferenceRequested(Event):
    """Show the channel's current style reference."""


@dataclass(frozen=True)
class StyleReferenceCleared(Event):
    """Draw later paragraphs without a style reference again."""


@dataclass(frozen=True)
class StyleStrengthSet(Event):
    """How strongly the reference steers later pictures (0 = not at all, 1 = as trained)."""

    strength: float


@dataclass(frozen=True)
class StyleReferenceShown(Action):
    """The channel's style reference as it now stands; `changed` if this reply changed it.

    `image_id` is None when the channel has none. `note` tells writers what to expect, e.g.
    that the running models cannot apply styles yet.
    """

    image_id: str | None
    strength: float
    set_by: str = ""
    changed: bool = False
    message: str = ""
    note: str = ""


# ---------------------------------------------------------------- the story's element library


@dataclass(frozen=True)
class LibraryRequested(Event):
    """Show the story's element library: its characters, places and props."""


@dataclass(frozen=True)
class ElementRenameRequested(Event):
    name: str
    new_name: str


@dataclass(frozen=True)
class ElementMergeRequested(Event):
    """`name` and `into` are the same thing: keep `into`, fold `name` into it."""

    name: str
    into: str


@dataclass(frozen=True)
class ElementForgetRequested(Event):
    name: str


@dataclass(frozen=True)
class ElementPinRequested(Event):
    """Keep an element's look as it is now (`pinned`), or let it follow the story again."""

    name: str
    pinned: bool = True


@dataclass(frozen=True)
class ElementSummary:
    name: str
    kind: str
    count: int
    aliases: tuple[str, ...]
    pinned: bool
    thumbnail_image_id: str | None  # where it was first drawn, if that picture is kept


@dataclass(frozen=True)
class LibraryShown(Action):
    elements: tuple[ElementSummary, ...]
    message: str = ""  # what a change request did, when this answers one


@dataclass(frozen=True)
class WhyRequested(Event):
    """Why a paragraph got the pictures it got; an empty id asks about the latest paragraph."""

    paragraph_id: str


@dataclass(frozen=True)
class WhyShown(Action):
    """For each illustration of a paragraph: its screening, branch and candidate scores."""

    paragraph_id: str
    text: str
    note: str
    illustrations: tuple[dict, ...]


# ---------------------------------------------------------------- writers' feedback (seed 002)


@dataclass(frozen=True)
class EnhanceRequested(Event):
    """Run the restorer on one illustration (button, command, or a quality complaint reply).

    `complaint` is what the writer said was wrong ("too blurry"), kept as training signal;
    empty for a plain button press.
    """

    illustration_id: str
    complaint: str = ""
    message: MessageRef | None = None  # the reply that complained, which the new version answers
