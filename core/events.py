"""Every inbound event and outbound action exchanged between adapters and the core.

The rule: an event or action type lives here, and nowhere else, so an adapter reads one module
to learn all it may receive and send. Each action carries its `audience` (the whole channel, or
only the writer whose request it answers), decided where the core makes it; adapters only
render it as their platform allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from storage.codec import now_utc


class _Home(Protocol):
    """Anything that names a story's home, e.g. a stored channel record."""

    @property
    def platform(self) -> str: ...

    @property
    def channel_id(self) -> str: ...

    @property
    def thread_id(self) -> str | None: ...


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

    @property
    def parent(self) -> ChannelRef:
        """The channel a thread belongs to (the channel itself when this is no thread)."""
        return ChannelRef(self.platform, self.channel_id)

    @classmethod
    def of(cls, home: _Home) -> ChannelRef:
        """The story home a stored channel record (or any ref-like value) names."""
        return cls(home.platform, home.channel_id, home.thread_id)


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
    received_at: datetime = field(default_factory=now_utc, kw_only=True)
    # The platform's own id of what was delivered (a message, an interaction, a web post's
    # client id), unique on its platform: the same id again is the same event redelivered.
    source_id: str = field(default="", kw_only=True)

    @property
    def source_key(self) -> str | None:
        """The delivery's key across platforms, or None when the platform gave no id."""
        return f"{self.channel.platform}:{self.source_id}" if self.source_id else None


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


class Audience(StrEnum):
    """Who sees an action: decided once, where the core makes the action."""

    CHANNEL = "channel"  # everyone in the story's channel (or thread)
    WRITER = "writer"  # only the writer whose request this answers; never a passing update


@dataclass(frozen=True)
class Action:
    """Something the core shows. `audience` defaults per type: answers that concern only the
    asker (refusals, views they asked for) default to WRITER; news for the story to CHANNEL."""

    channel: ChannelRef
    audience: Audience = field(default=Audience.CHANNEL, kw_only=True)


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
    """Immediate reply: the paragraph is stored and queued behind `queue_position` others.

    `again` marks the answer to a message stored before (a retry, a redelivery, a resend):
    the asker learns its paragraph, and adapters post nothing new for it.
    """

    entry: StoryEntry
    queue_position: int
    again: bool = False


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
    # The same on every attempt of this post: a platform that refuses a second message with
    # the same key (Discord's nonce, the room's page) or can be searched for it (Slack) shows
    # it once. Empty: no key.
    delivery_id: str = ""
    again: bool = False  # an earlier attempt got as far as posting: it may have landed


@dataclass(frozen=True)
class PostText(Action):
    text: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class PostError(Action):
    """A failure told in words a writer understands, with a reference id for the logs."""

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    message: str
    reference: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class StoryPage(Action):
    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    entries: tuple[StoryEntry, ...]
    has_more: bool


@dataclass(frozen=True)
class ChannelSummary:
    channel_id: str
    title: str
    paragraphs: int


@dataclass(frozen=True)
class ChannelList(Action):
    audience: Audience = field(default=Audience.WRITER, kw_only=True)
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

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    message: str
    paragraph_id: str | None = None


@dataclass(frozen=True)
class ChannelSettings(Action):
    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    enabled: bool
    paragraphs: int
    profile: str
    candidates: int
    max_sentences: int
    drawing_mode: str = "direct"  # direct (seed 000) or composed (seed 001)
    look_strength: float | None = None  # the cast's looks (None: not told)


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
class GenreRequested(Event):
    """`/inkwell genre [NAME|none]`: list the trained genres, or pick one for later drawings
    (seed 000 claim 16); `name` "" only lists, "none" draws without a genre again."""

    name: str = ""


@dataclass(frozen=True)
class GenreChoicesRequested(Event):
    """The trained genres and the story's, for a picker (the web room's)."""


@dataclass(frozen=True)
class GenreChoice:
    """A trained genre as a picker lists it."""

    name: str
    phrase: str = ""
    pictures: int = 0
    steps: int = 0


@dataclass(frozen=True)
class GenreChoices(Action):
    """The trained genres and the one the story picked (`current`, None: none); `gone` when
    the picked genre is no longer trained (the story is then drawn without)."""

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    genres: tuple[GenreChoice, ...] = ()
    current: str | None = None
    gone: bool = False


@dataclass(frozen=True)
class DrawingModeRequested(Event):
    """`/inkwell settings mode [direct|composed]`: show the story's drawing mode, or pick one
    for later paragraphs (direct: seed 000; composed: seed 001's composed pictures)."""

    mode: str = ""


@dataclass(frozen=True)
class StyleReferenceShown(Action):
    """The channel's style reference as it now stands; `changed` if this reply changed it.

    `image_id` is None when the channel has none. `note` tells writers what to expect, e.g.
    that the running models cannot apply styles yet.
    """

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
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
class ElementDescribeRequested(Event):
    """Set the words that join every prompt naming the element ("" clears them)."""

    name: str
    description: str


@dataclass(frozen=True)
class ElementPronounRequested(Event):
    """Set the pronoun that refers to the element ("he", "she", "it", "they")."""

    name: str
    pronoun: str


@dataclass(frozen=True)
class ElementReferenceSet(Event):
    """A writer's picture of the element: its look from now on (pinned); `image` is the
    upload's bytes, checked like a style reference."""

    name: str
    image: bytes = field(repr=False)
    filename: str = ""


@dataclass(frozen=True)
class ElementSummary:
    name: str
    kind: str
    count: int
    aliases: tuple[str, ...]
    pinned: bool
    thumbnail_image_id: str | None  # its latest reference crop, else where it was first drawn
    description: str = ""
    pronoun: str = ""
    references: tuple[str, ...] = ()  # image ids of its reference pictures, oldest first


@dataclass(frozen=True)
class LibraryShown(Action):
    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    elements: tuple[ElementSummary, ...]
    message: str = ""  # what a change request did, when this answers one
    look_strength: float | None = None  # how strongly the looks condition drawing here


@dataclass(frozen=True)
class CastLooksSet(Event):
    """How strongly the cast's looks condition later drawings (0: off); None shows it."""

    strength: float | None = None


@dataclass(frozen=True)
class WhyRequested(Event):
    """Why a paragraph got the pictures it got; an empty id asks about the latest paragraph."""

    paragraph_id: str


@dataclass(frozen=True)
class WhyShown(Action):
    """For each illustration of a paragraph: its screening, branch and candidate scores."""

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
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


# ---------------------------------------------------------------- edits (seeds 001 and 003)


@dataclass(frozen=True)
class EditRequested(Event):
    """Change one illustration as `text` says ("I prefer darker", "undo", "show the original").

    The picture is named by `illustration_id` (the web room, buttons) or by `message_id`, the
    platform message the writer replied to; a message with several pictures needs `picture`
    (1-based) or a reply starting with the picture's number ("2: make it darker").
    """

    text: str
    illustration_id: str = ""
    message_id: str = ""
    picture: int | None = None
    message: MessageRef | None = None  # what the new picture answers (the writer's reply)
    request_id: str = ""  # the platform's id of the reply, so a redelivered one is done once


# ---------------------------------------------------------------- candidates of a paragraph


@dataclass(frozen=True)
class CandidatesRequested(Event):
    """Show every candidate drawn for a paragraph's pictures, with the scores that chose."""

    paragraph_id: str


@dataclass(frozen=True)
class CandidatesShown(Action):
    """A paragraph's candidates, sentence by sentence; captions say which one was chosen."""

    paragraph_id: str
    images: tuple[IllustrationImage, ...]


# ---------------------------------------------------------------- the story's queue


@dataclass(frozen=True)
class QueueRequested(Event):
    """Show the story's waiting paragraphs and edits, and where the asker's own work stands."""


@dataclass(frozen=True)
class QueuedWork:
    """One piece of the story's waiting work; position 0 is being drawn now, 1 is next."""

    position: int
    kind: str  # "paragraph", "redraw", "edit" or "candidates"
    author: str
    text: str
    paragraph_id: str
    seq: int | None  # the paragraph's number in the story, when it is still there
    mine: bool  # the asker's own


@dataclass(frozen=True)
class QueueShown(Action):
    """The story's queue in the order it will be drawn; `your_position` is the asker's first
    waiting item's position (None when they have nothing waiting)."""

    audience: Audience = field(default=Audience.WRITER, kw_only=True)
    items: tuple[QueuedWork, ...]
    your_position: int | None
    yours: int  # how many of the items are the asker's
