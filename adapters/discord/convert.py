"""Pure translations between Discord's data (ids, content, custom ids) and core events."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from adapters.discord.markup import plain_text
from core.events import (
    Author,
    CandidatesRequested,
    ChannelRef,
    EditRequested,
    Event,
    MessageRef,
    ParagraphCancelRequested,
    ParagraphPosted,
    RegenerateRequested,
    WhyRequested,
)

PLATFORM = "discord"
MESSAGE_LIMIT = 2000  # characters in one Discord message
MAX_FILES = 10  # attachments in one Discord message

# Buttons carry what they act on in their custom id, so they work after a restart.
REGENERATE_TEMPLATE = r"inkwell:regen:(?P<paragraph>[0-9a-f]{1,64})"
CANCEL_TEMPLATE = r"inkwell:stop:(?P<paragraph>[0-9a-f]{1,64})"
WHY_TEMPLATE = r"inkwell:why:(?P<paragraph>[0-9a-f]{1,64})"
# On an edited picture: they act on the message clicked, whose picture the core looks up.
UNDO_TEMPLATE = r"inkwell:undo:(?P<paragraph>[0-9a-f]{1,64})"
ORIGINAL_TEMPLATE = r"inkwell:orig:(?P<paragraph>[0-9a-f]{1,64})"
CANDIDATES_TEMPLATE = r"inkwell:cand:(?P<paragraph>[0-9a-f]{1,64})"
ENHANCE_TEMPLATE = r"inkwell:enh:(?P<paragraph>[0-9a-f]{1,64})"
BUTTON_PREFIXES = {
    "regenerate": "regen",
    "cancel": "stop",
    "why": "why",
    "undo": "undo",
    "original": "orig",
    "candidates": "cand",
    "enhance": "enh",
}
# What an edit button asks, in the words a writer would reply with.
EDIT_BUTTONS = {"undo": "undo", "original": "show the original", "enhance": "enhance"}

COMMANDS = {
    "enable": "Turn Inkwell on in this channel (needs Manage Channels)",
    "disable": "Turn Inkwell off in this channel (needs Manage Channels)",
    "cancel": "Stop the paragraph being drawn",
    "story": "Show the latest paragraphs of this story",
    "settings": "Show how Inkwell is set up here; with a mode (direct, composed): pick it",
    "why": "Why the latest paragraph got the pictures it got",
    "queue": "Show what the story has waiting to be drawn, and your place in it",
    "cast": "Show the story's characters, places and props with their pictures",
    "help": "What Inkwell does and how to use it",
}
# answered to the asker only
PRIVATE_COMMANDS = frozenset({"story", "settings", "help", "why", "queue", "cast"})
LIBRARY_COMMANDS = {
    "show": "Show the story's characters, places and props",
    "rename": "Rename an element of the story",
    "merge": "Merge one element into another (same thing, two names)",
    "forget": "Forget an element; it is learned again when drawn",
    "pin": "Keep an element's look as it is now",
    "unpin": "Let an element's look follow new pictures again",
    "describe": "Words drawn with every sentence that names an element",
    "pronoun": "The pronoun that refers to an element (he, she, it, they)",
    "reference": "Give an element a picture of how it looks",
    "looks": "How strongly the cast's reference pictures steer drawing (0: off)",
}
STYLE_COMMANDS = {
    "set": "Draw later paragraphs like a picture you attach",
    "show": "Show this channel's style reference and its strength",
    "clear": "Draw later paragraphs without a style reference",
    "strength": "How strongly the style reference steers later pictures",
}


@dataclass(frozen=True)
class IncomingMessage:
    """The parts of a Discord message Inkwell reads."""

    message_id: int
    channel_id: int
    parent_id: int | None  # set when the message was posted in a thread
    author_id: int
    author_name: str
    content: str
    mentions_bot: bool
    names: dict[int, str] = field(default_factory=dict)  # mentioned users' display names


def delivery_nonce(delivery_id: str, part: int) -> str | None:
    """The nonce of one message of a post (24 hex digits; Discord allows 25 characters).

    discord.py sends a nonce with `enforce_nonce`, so Discord answers a second message with
    the same nonce from the bot, within a few minutes, with the first one instead of posting
    again: a post resent after a crash lands once. No delivery id, no nonce.
    """
    if not delivery_id:
        return None
    return hashlib.blake2b(f"{delivery_id}#{part}".encode(), digest_size=12).hexdigest()


def channel_ref(channel_id: int, parent_id: int | None) -> ChannelRef:
    """A thread is its own story, filed under its parent channel."""
    if parent_id is not None:
        return ChannelRef(PLATFORM, str(parent_id), str(channel_id))
    return ChannelRef(PLATFORM, str(channel_id))


def target_id(channel: ChannelRef) -> int:
    """The Discord channel (or thread) id messages for this story are posted to."""
    return int(channel.thread_id or channel.channel_id)


def paragraph_event(message: IncomingMessage, bot_id: int) -> ParagraphPosted:
    channel = channel_ref(message.channel_id, message.parent_id)
    return ParagraphPosted(
        channel,
        Author(str(message.author_id), message.author_name),
        text=plain_text(message.content, message.names, bot_id),
        message=MessageRef(channel, str(message.message_id)),
        addressed=message.mentions_bot,
        source_id=str(message.message_id),  # a snowflake: unique across Discord
    )


def button_id(kind: str, paragraph_id: str) -> str:
    return f"inkwell:{BUTTON_PREFIXES[kind]}:{paragraph_id}"


def regenerate_id(paragraph_id: str) -> str:
    return button_id("regenerate", paragraph_id)


def cancel_id(paragraph_id: str) -> str:
    return button_id("cancel", paragraph_id)


def button_event(
    kind: str, channel: ChannelRef, author: Author, paragraph_id: str, message_id: str = ""
) -> Event:
    if kind == "regenerate":
        return RegenerateRequested(channel, author, paragraph_id)
    if kind == "why":
        return WhyRequested(channel, author, paragraph_id)
    if kind == "candidates":
        return CandidatesRequested(channel, author, paragraph_id)
    if kind in EDIT_BUTTONS:
        return EditRequested(channel, author, text=EDIT_BUTTONS[kind], message_id=message_id)
    return ParagraphCancelRequested(channel, author, paragraph_id)


def edit_event(message: IncomingMessage, replied_to: int, bot_id: int) -> EditRequested:
    """A reply to one of Inkwell's pictures: a change request for it."""
    channel = channel_ref(message.channel_id, message.parent_id)
    return EditRequested(
        channel,
        Author(str(message.author_id), message.author_name),
        text=plain_text(message.content, message.names, bot_id),
        message_id=str(replied_to),
        message=MessageRef(channel, str(message.message_id)),
        request_id=str(message.message_id),
    )


def illustration_filename(index: int) -> str:
    return f"illustration-{index:02d}.png"


def file_batches(count: int) -> list[range]:
    """Index ranges of at most MAX_FILES illustrations, one Discord message each."""
    return [range(start, min(start + MAX_FILES, count)) for start in range(0, count, MAX_FILES)]
