"""Pure translations between Slack payloads (events, slash commands, block actions) and the core."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shlex
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from adapters.slack.markup import plain_text
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

PLATFORM = "slack"
TEXT_LIMIT = 3000  # characters in one section block
REGENERATE = "inkwell_regenerate"
STOP = "inkwell_stop"
WHY = "inkwell_why"
CANDIDATES = "inkwell_candidates"
ACTION_IDS = re.compile(rf"^({REGENERATE}|{STOP}|{WHY}|{CANDIDATES})$")
PRIVATE_COMMANDS = frozenset({"story", "settings", "help", "why", "queue"})
COMMANDS = (
    "enable",
    "disable",
    "cancel",
    "story",
    "settings",
    "style",
    "genre",
    "library",
    "cast",
    "why",
    "queue",
    "help",
)
RECENT_MESSAGES = 50  # how far back a resent post looks for the one it may repeat
MAX_REQUEST_AGE_S = 5 * 60  # Slack's advice: older signed requests may be replays
STYLE_WORD = "style"  # a mention starting with it, with a picture, sets the style reference
CAST_WORD = "cast"  # "@Inkwell cast NAME" with a picture: the element's reference picture
SET_BY_MESSAGE = (
    "Slack commands can't carry pictures: post the picture in this channel with a message "
    "that mentions @Inkwell and says `style`."
)
# Message subtypes that carry a writer's words; edits, joins and bot posts do not.
_WRITTEN = {None, "file_share", "thread_broadcast"}


def channel_ref(channel: str, thread_ts: str | None) -> ChannelRef:
    """A thread is its own story, filed under its channel."""
    return ChannelRef(PLATFORM, channel, thread_ts or None)


def strip_mentions(text: str, bot_user_id: str) -> str:
    """The text without Inkwell's own mention, markup left as it is (to read a command)."""
    return " ".join(re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text).split())


def is_written(event: dict[str, Any]) -> bool:
    """A message a person wrote in a channel (not an edit, a join or any bot's post)."""
    return (
        event.get("subtype") in _WRITTEN
        and not event.get("bot_id")
        and bool(event.get("user"))
        and event.get("channel_type", "channel") in {"channel", "group"}
    )


def paragraph_event(
    event: dict[str, Any], bot_user_id: str, author_name: str, names: dict[str, str] | None = None
) -> ParagraphPosted:
    """A message as a paragraph, in plain words (`names`: mentioned users' display names)."""
    # A reply in a thread has thread_ts (its parent's ts); a top-level message has none.
    channel = channel_ref(event["channel"], event.get("thread_ts"))
    text = event.get("text") or ""
    return ParagraphPosted(
        channel,
        Author(event["user"], author_name),
        text=plain_text(text, names or {}, bot_user_id),
        message=MessageRef(channel, event["ts"]),
        addressed=f"<@{bot_user_id}" in text,
        # A message's ts is unique in its channel, and a retry (same event_id) or a second
        # event for the same message carries the same one.
        source_id=f"{event['channel']}:{event['ts']}",
    )


def files_of(event: dict[str, Any]) -> list[tuple[str, str | None, int]]:
    """(name, mimetype, size) of each file shared with a message."""
    return [
        (f.get("name") or "file", f.get("mimetype"), int(f.get("size") or 0))
        for f in event.get("files") or []
    ]


def subcommand(text: str) -> str:
    words = text.split()
    return words[0].lower() if words else "help"


def style_request(text: str) -> tuple[str, str]:
    """(subcommand, argument) of `/inkwell style ...`; no subcommand means show."""
    words = text.split()[1:]
    name = words[0].lower() if words else "show"
    return name, " ".join(words[1:])


def cast_reference_name(text: str, bot_user_id: str) -> str | None:
    """The element a message to Inkwell starting `cast NAME` gives its picture to; None for
    other messages ("" when the name is missing)."""
    words = strip_mentions(text, bot_user_id).split()
    if not words or words[0].lower().strip(":,.!") != CAST_WORD:
        return None
    return " ".join(words[1:]).strip(" \"'“”")


def asks_for_style(text: str, bot_user_id: str) -> bool:
    """A message to Inkwell whose first word is `style`: its picture is the new reference."""
    words = strip_mentions(text, bot_user_id).split()
    return bool(words) and words[0].lower().strip(":,.!") == STYLE_WORD


def file_facts(file: dict[str, Any]) -> tuple[str, str | None, int, str]:
    """(name, mimetype, size, url_private) of a file object from files.info."""
    return (
        file.get("name") or "file",
        file.get("mimetype"),
        int(file.get("size") or 0),
        file.get("url_private_download") or file.get("url_private") or "",
    )


def may_carry_token(url: str, api_base: str) -> bool:
    """Whether the bot token may go with a request to `url`: Slack's own hosts over https, or
    the host the Web API is configured at (a proxy, or the fake in tests), and nothing else."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and (host == "slack.com" or host.endswith(".slack.com")):
        return True
    base = urlsplit(api_base)
    return bool(api_base) and (parts.scheme, parts.netloc) == (base.scheme, base.netloc)


def button_event(body: dict[str, Any], action: dict[str, Any]) -> Event:
    message = body.get("message") or {}
    channel = channel_ref(body["channel"]["id"], message.get("thread_ts"))
    user = body["user"]
    author = Author(user["id"], user.get("name") or user.get("username") or user["id"])
    if action["action_id"] == REGENERATE:
        return RegenerateRequested(channel, author, action["value"])
    if action["action_id"] == WHY:
        return WhyRequested(channel, author, action["value"])
    if action["action_id"] == CANDIDATES:
        return CandidatesRequested(channel, author, action["value"])
    return ParagraphCancelRequested(channel, author, action["value"])


def edit_event(
    event: dict[str, Any],
    bot_user_id: str,
    author_name: str,
    picture: str,
    names: dict[str, str] | None = None,
) -> Event:
    """A thread reply under one of Inkwell's pictures: a change request for that picture.

    The story is the channel the picture is in; the answer goes into the reply's thread.
    """
    channel = channel_ref(event["channel"], None)
    return EditRequested(
        channel,
        Author(event["user"], author_name),
        text=plain_text(event.get("text") or "", names or {}, bot_user_id),
        message_id=picture,
        message=MessageRef(channel, event["thread_ts"]),
        request_id=event["ts"],
    )


def library_request(text: str) -> tuple[str, list[str]]:
    """(subcommand, names) of `/inkwell library ...`; names in quotes may have spaces."""
    try:
        words = shlex.split(text)[1:]
    except ValueError:  # an unclosed quote
        words = text.split()[1:]
    if not words:
        return "show", []
    return words[0].lower(), words[1:]


def is_manager(user: dict[str, Any], channel: dict[str, Any]) -> bool:
    """Workspace admins and owners, and whoever created the channel, may switch Inkwell."""
    return bool(user.get("is_admin") or user.get("is_owner")) or channel.get("creator") == user.get(
        "id"
    )


def status_blocks(text: str, paragraph_id: str, stage: str) -> list[dict[str, Any]]:
    """The status message: its line, and Stop while drawing, or Regenerate and Why once done."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:TEXT_LIMIT]}}
    ]
    if stage in {"failed", "cancelled"}:
        return blocks
    if stage == "done":
        buttons = [
            _button(REGENERATE, "🔁 Regenerate", paragraph_id),
            _button(WHY, "❔ Why", paragraph_id),
            _button(CANDIDATES, "🎞️ Candidates", paragraph_id),
        ]
    else:
        buttons = [{**_button(STOP, "⏹️ Stop", paragraph_id), "style": "danger"}]
    blocks.append({"type": "actions", "block_id": f"inkwell-{paragraph_id}", "elements": buttons})
    return blocks


def _button(action_id: str, text: str, value: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": text},
    }


def signed(secret: str, body: bytes, timestamp: str, signature: str, now: float) -> bool:
    """Whether Slack signed this request (v0 HMAC-SHA256 of "v0:timestamp:body") in the last
    five minutes; any malformed header is a plain no, never an exception."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > MAX_REQUEST_AGE_S:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return hmac.compare_digest("v0=" + digest.hexdigest(), signature)


def body_problem(body: bytes, content_type: str | None) -> str:
    """Why a signed request's body is not one Slack sends, or "" when it is well formed.

    Checked before slack-bolt reads it, whose parsing raises on a malformed body (a 500 with a
    traceback); it mirrors bolt's reading: JSON when typed so or when it starts with `{`,
    else form fields, where `payload` (button clicks) holds JSON.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return "the body is empty"
    try:
        if content_type == "application/json" or text.startswith("{"):
            return _document_problem(json.loads(text))
        fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
        if "payload" in fields:
            return _document_problem(json.loads(fields["payload"]))
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        return f"the body can't be read ({type(error).__name__})"
    return "" if fields else "the body has no fields"


def _document_problem(document: Any) -> str:
    if not isinstance(document, dict):
        return "the body is not a JSON object"
    if document.get("type") == "event_callback" and not isinstance(document.get("event"), dict):
        return "an event callback without an event"
    return ""


def illustration_filename(index: int, delivery_id: str) -> str:
    """`illustration-01-<key>.png`: the key, from the post's delivery id, lets a post resent
    after a crash find the upload it may repeat in the channel's history (Slack has no
    idempotency key for uploads)."""
    if not delivery_id:
        return f"illustration-{index:02d}.png"
    key = hashlib.blake2b(delivery_id.encode(), digest_size=6).hexdigest()
    return f"illustration-{index:02d}-{key}.png"


def earlier_upload(messages: list[dict[str, Any]], first_filename: str) -> str | None:
    """The id of the first file of a message in `messages` that uploaded `first_filename`."""
    for message in messages:
        files = message.get("files") or []
        if files and files[0].get("name") == first_filename:
            return str(files[0]["id"])
    return None
