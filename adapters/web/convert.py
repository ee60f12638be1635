"""Pure translations between the story room's JSON messages and core events and actions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from adapters.commands import genre_event
from adapters.markup import plain_words
from adapters.web.library_convert import (
    LIBRARY_MESSAGES,
    LibraryMessageError,
    candidates_json,
    library_event,
    library_json,
)
from core.events import (
    Accepted,
    Action,
    Author,
    CancelRequested,
    CandidatesShown,
    ChannelRef,
    ChannelSettings,
    DrawingModeRequested,
    EditRequested,
    ElementReferenceSet,
    EnhanceRequested,
    Event,
    GenreChoices,
    GenreChoicesRequested,
    LibraryShown,
    ParagraphPosted,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
    QueueRequested,
    QueueShown,
    Refused,
    SettingsRequested,
    StoryEntry,
    StoryPage,
    StoryRequested,
    StyleReferenceCleared,
    StyleReferenceRequested,
    StyleReferenceSet,
    StyleReferenceShown,
    StyleStrengthSet,
    WhyShown,
)

PLATFORM = "web"
MAX_ROOM_NAME = 64
MAX_AUTHOR_NAME = 40
MAX_EDIT_CHARS = 300
MAX_COMPLAINT_CHARS = 500

# Letters and digits of any script, spaces and a little punctuation; never path separators.
_ROOM_NAME = re.compile(r"^[^\W_][\w '&!?,.-]*$")


_STYLE_MESSAGES = frozenset({"style_show", "style_clear", "style_strength"})
GENRE_SET = "genre"  # pick the story's genre ("none": none)
_GENRE_MESSAGES = frozenset({GENRE_SET, "genre_show"})
# A style picture arrives as a raw HTTP body with one of these types. Requiring them also
# keeps other websites out: a cross-site form can't send them without a CORS preflight,
# which this server never approves.
UPLOAD_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp"})
UPLOAD_TYPES_TEXT = "PNG, JPEG, WebP, GIF or BMP"


class ClientMessageError(ValueError):
    """The browser sent something we can't act on; the message is for the writer."""


@dataclass(frozen=True)
class ClientMessage:
    type: str
    data: dict[str, Any]


def parse_client_message(raw: str) -> ClientMessage:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise ClientMessageError("The room couldn't read that message; reload the page.") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ClientMessageError("The room couldn't read that message; reload the page.")
    known = {
        "join",
        "paragraph",
        "history",
        "cancel",
        "edit",
        "enhance",
        "queue",
        *_GENRE_MESSAGES,
        "settings",
        "mode",
        *_STYLE_MESSAGES,
        *LIBRARY_MESSAGES,
    }
    if data["type"] not in known:
        raise ClientMessageError(f"The room doesn't know the request {data['type'][:40]!r}.")
    return ClientMessage(data["type"], data)


def room_name(raw: Any) -> str:
    """A clean room name, or `ClientMessageError` saying what a valid one looks like."""
    if not isinstance(raw, str):
        raise ClientMessageError("Give the room a name.")
    name = " ".join(raw.split())
    if not name:
        raise ClientMessageError("Give the room a name.")
    if len(name) > MAX_ROOM_NAME or ".." in name or not _ROOM_NAME.match(name):
        raise ClientMessageError(
            f"Room names use letters, numbers, spaces and - ' & ! ? , . (up to {MAX_ROOM_NAME} "
            "characters), starting with a letter or number; no slashes."
        )
    return name


def author_name(raw: Any) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    name = "".join(ch for ch in name if ch.isprintable())[:MAX_AUTHOR_NAME]
    return name or "Writer"


def channel(room: str) -> ChannelRef:
    return ChannelRef(PLATFORM, room)


def to_event(message: ClientMessage, room: str, author: str) -> Event:
    """The core event for a message from a writer who has joined `room`."""
    who = Author(f"web:{author}", author)
    if message.type == "paragraph":
        text = message.data.get("text")
        if not isinstance(text, str):
            raise ClientMessageError("A paragraph must be text.")
        # The page resends a post whose answer a dropped connection lost, under the same
        # client id: stored under it, the resend finds the first post, even after a restart.
        client_id = client_id_of(message.data)
        source = f"{room}:{client_id}" if client_id else ""
        return ParagraphPosted(channel(room), who, text=plain_words(text), source_id=source)
    if message.type == "history":
        before = message.data.get("before_seq")
        if before is not None and (not isinstance(before, int) or isinstance(before, bool)):
            raise ClientMessageError("The room couldn't read that message; reload the page.")
        return StoryRequested(channel(room), who, before_seq=before)
    if message.type == "cancel":
        return CancelRequested(channel(room), who)
    if message.type == "queue":
        return QueueRequested(channel(room), who)
    if message.type == "edit":
        return _edit_event(message.data, room, who)
    if message.type in LIBRARY_MESSAGES:
        try:
            return library_event(message.type, message.data, channel(room), who)
        except LibraryMessageError as error:
            raise ClientMessageError(str(error)) from None
    if message.type == "style_show":
        return StyleReferenceRequested(channel(room), who)
    if message.type == "style_clear":
        return StyleReferenceCleared(channel(room), who)
    if message.type == "style_strength":
        strength = message.data.get("strength")
        if not isinstance(strength, (int, float)) or isinstance(strength, bool):
            raise ClientMessageError("Style strength must be a number, e.g. 1 or 0.5.")
        return StyleStrengthSet(channel(room), who, strength=float(strength))
    if message.type == "genre_show":
        return GenreChoicesRequested(channel(room), who)
    if message.type == GENRE_SET:
        name = message.data.get("name", "")
        if not isinstance(name, str):
            raise ClientMessageError("A genre is a name, e.g. 'wuxia', or 'none'.")
        return genre_event(channel(room), who, name)
    if message.type == "enhance":
        return enhance_event(message.data, channel(room), who)
    if message.type == "settings":
        return SettingsRequested(channel(room), who)
    if message.type == "mode":
        mode = message.data.get("mode", "")
        if not isinstance(mode, str) or len(mode) > 20:
            raise ClientMessageError("A drawing mode is 'direct' or 'composed'.")
        return DrawingModeRequested(channel(room), who, mode=mode)
    raise ClientMessageError(f"The room doesn't know the request {message.type!r}.")


def _edit_event(data: dict[str, Any], room: str, who: Author) -> EditRequested:
    """A writer's change request for one picture, typed under it or from its buttons."""
    illustration_id, text = data.get("illustration_id"), data.get("text")
    if not isinstance(illustration_id, str) or not illustration_id:
        raise ClientMessageError("Which picture? Use the box under the picture you mean.")
    if not isinstance(text, str) or not text.strip():
        raise ClientMessageError("Say what should change, e.g. 'make it darker'.")
    if len(text) > MAX_EDIT_CHARS:
        raise ClientMessageError(f"Keep a change request under {MAX_EDIT_CHARS} characters.")
    return EditRequested(channel(room), who, text=text.strip(), illustration_id=illustration_id)


def enhance_event(data: dict[str, Any], where: ChannelRef, who: Author) -> EnhanceRequested:
    """The Enhance button under a picture, with what the writer said was wrong, if anything."""
    illustration_id = data.get("illustration_id")
    complaint = data.get("complaint", "")
    if not isinstance(illustration_id, str) or not illustration_id:
        raise ClientMessageError("Pick the picture to enhance.")
    if not isinstance(complaint, str) or len(complaint) > MAX_COMPLAINT_CHARS:
        raise ClientMessageError(f"Say what's wrong in up to {MAX_COMPLAINT_CHARS} characters.")
    return EnhanceRequested(where, who, illustration_id=illustration_id, complaint=complaint)


def style_upload_event(room: str, author: str, content_type: str, body: bytes) -> Event:
    """The core event for a style picture uploaded to `room` as a raw HTTP body."""
    if content_type.lower() not in UPLOAD_TYPES:
        raise ClientMessageError(f"Upload the style picture as a {UPLOAD_TYPES_TEXT} image.")
    who = Author(f"web:{author}", author)
    return StyleReferenceSet(channel(room), who, image=body)


def cast_reference_event(
    room: str, author: str, name: str, content_type: str, body: bytes
) -> Event:
    """The core event for an element's reference picture uploaded as a raw HTTP body."""
    if content_type.lower() not in UPLOAD_TYPES:
        raise ClientMessageError(f"Upload the reference picture as a {UPLOAD_TYPES_TEXT} image.")
    if not name.strip():
        raise ClientMessageError("Which element is the picture of?")
    who = Author(f"web:{author}", author)
    return ElementReferenceSet(channel(room), who, name.strip()[:200], image=body)


def client_id_of(data: dict[str, Any]) -> str | None:
    """The id the page gave a post, so its answers (and a resend) can be matched to it."""
    value = data.get("client_id")
    return value[:64] if isinstance(value, str) and value else None


def image_url(image_id: str) -> str:
    return f"/images/{image_id}.png"


def entry_json(entry: StoryEntry) -> dict[str, Any]:
    return {
        "paragraph_id": entry.paragraph_id,
        "seq": entry.seq,
        "author": entry.author,
        "text": entry.text,
        "status": entry.status,
        "posted_at": entry.posted_at.isoformat(),
        "illustrations": [
            {"url": image_url(image_id), "caption": caption, "illustration_id": ident}
            for (image_id, caption), ident in zip(entry.illustrations, _ids(entry), strict=True)
        ],
        "note": entry.note,
    }


def _ids(entry: StoryEntry) -> tuple[str | None, ...]:
    if len(entry.illustration_ids) == len(entry.illustrations):
        return entry.illustration_ids
    return (None,) * len(entry.illustrations)


def action_json(action: Action, client_id: str | None = None) -> dict[str, Any]:
    """The JSON a browser receives for an action; `client_id` ties replies to a post."""
    if isinstance(action, Accepted):
        return {
            "type": "accepted",
            "client_id": client_id,
            "paragraph_id": action.entry.paragraph_id,
            "seq": action.entry.seq,
            "queue_position": action.queue_position,
            "again": action.again,
        }
    if isinstance(action, Progress):
        return {
            "type": "progress",
            "paragraph_id": action.paragraph_id,
            "stage": action.stage,
            "fraction": action.fraction,
            "queue_position": action.queue_position,
            "detail": action.detail,
        }
    if isinstance(action, PostIllustrations):
        return {
            "type": "illustrations",
            "paragraph_id": action.paragraph_id,
            "profile": action.profile,
            # The page shows a delivery once: a post resent after a crash repeats its id.
            "delivery_id": action.delivery_id,
            "images": [
                {
                    "illustration_id": image.illustration_id,
                    "url": image_url(image.image_id),
                    "caption": image.caption,
                    "score": round(image.score, 4),
                    "sentence_index": image.sentence_index,
                }
                | ({"parent_id": image.parent_id} if image.parent_id else {})
                for image in action.images
            ],
        }
    if isinstance(action, PostText):
        return {"type": "text", "paragraph_id": action.paragraph_id, "text": action.text}
    if isinstance(action, ChannelSettings):
        return {"type": "settings", "drawing_mode": action.drawing_mode}
    if isinstance(action, PostError):
        return {
            "type": "error",
            "client_id": client_id,
            "paragraph_id": action.paragraph_id,
            "message": action.message,
            "reference": action.reference,
        }
    if isinstance(action, QueueShown):
        return queue_json(action)
    if isinstance(action, (LibraryShown, WhyShown)):
        return library_json(action, image_url)
    if isinstance(action, CandidatesShown):
        return candidates_json(action)
    if isinstance(action, Refused):
        return {
            "type": "error",
            "client_id": client_id,
            "paragraph_id": action.paragraph_id,
            "message": action.message,
            "reference": "",
        }
    if isinstance(action, StyleReferenceShown):
        return {
            "type": "style",
            "image_url": image_url(action.image_id) if action.image_id else None,
            "strength": action.strength,
            "set_by": action.set_by,
            "changed": action.changed,
            "message": action.message,
            "note": action.note,
        }
    if isinstance(action, GenreChoices):
        return genres_json(action)
    if isinstance(action, StoryPage):
        return {
            "type": "story",
            "entries": [entry_json(entry) for entry in action.entries],
            "has_more": action.has_more,
        }
    raise TypeError(f"the web room can't show {type(action).__name__}")


def genres_json(action: GenreChoices, message: str = "") -> dict[str, Any]:
    """The genre picker's choices: the trained genres and the story's (None: none), and what
    just changed (`message`, plain text: the core's bold marks are chat markup)."""
    return {
        "message": message.replace("**", ""),
        "type": "genres",
        "genres": [
            {"name": g.name, "phrase": g.phrase, "pictures": g.pictures, "steps": g.steps}
            for g in action.genres
        ],
        "current": action.current,
        "gone": action.gone,
    }


def queue_json(action: QueueShown) -> dict[str, Any]:
    """The story's queue for the room's Queue panel, in drawing order (0 is being drawn)."""
    return {
        "type": "queue",
        "your_position": action.your_position,
        "yours": action.yours,
        "items": [
            {
                "position": item.position,
                "kind": item.kind,
                "author": item.author,
                "text": item.text,
                "paragraph_id": item.paragraph_id,
                "seq": item.seq,
                "mine": item.mine,
            }
            for item in action.items
        ],
    }


def error_json(message: str, client_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "error",
        "client_id": client_id,
        "paragraph_id": None,
        "message": message,
        "reference": "",
    }
