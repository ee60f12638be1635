"""Pure translations for the story room's library panel and "why this picture"."""

from __future__ import annotations

import base64
from typing import Any

from core.events import (
    Author,
    CandidatesRequested,
    CandidatesShown,
    CastLooksSet,
    ChannelRef,
    ElementDescribeRequested,
    ElementForgetRequested,
    ElementMergeRequested,
    ElementPinRequested,
    ElementPronounRequested,
    ElementRenameRequested,
    Event,
    LibraryRequested,
    LibraryShown,
    WhyRequested,
    WhyShown,
)

LIBRARY_MESSAGES = frozenset(
    {
        "library",
        "rename",
        "merge",
        "forget",
        "pin",
        "describe",
        "pronoun",
        "why",
        "candidates",
        "looks",
    }
)


class LibraryMessageError(ValueError):
    """A library request missing what it needs; the message is for the writer."""


def library_event(kind: str, data: dict[str, Any], channel: ChannelRef, who: Author) -> Event:
    if kind == "library":
        return LibraryRequested(channel, who)
    if kind == "why":
        return WhyRequested(channel, who, _text(data, "paragraph_id", "Which paragraph?"))
    if kind == "candidates":
        return CandidatesRequested(channel, who, _text(data, "paragraph_id", "Which paragraph?"))
    if kind == "looks":
        strength = data.get("strength")
        if not isinstance(strength, (int, float)) or isinstance(strength, bool):
            raise LibraryMessageError("How strongly should the looks steer the pictures?")
        return CastLooksSet(channel, who, float(strength))
    name = _text(data, "name", "Which element?")
    if kind == "rename":
        return ElementRenameRequested(channel, who, name, _text(data, "new_name", "Rename to?"))
    if kind == "merge":
        return ElementMergeRequested(channel, who, name, _text(data, "into", "Merge into?"))
    if kind == "forget":
        return ElementForgetRequested(channel, who, name)
    if kind == "describe":
        description = data.get("description")
        if not isinstance(description, str):
            raise LibraryMessageError("Describe it how?")
        return ElementDescribeRequested(channel, who, name, description[:400])
    if kind == "pronoun":
        return ElementPronounRequested(channel, who, name, _text(data, "pronoun", "Which pronoun?"))
    return ElementPinRequested(channel, who, name, bool(data.get("pinned", True)))


def candidates_json(action: CandidatesShown) -> dict[str, Any]:
    """Candidates are not stored, so their pictures travel inline as data URLs."""
    return {
        "type": "candidates",
        "paragraph_id": action.paragraph_id,
        "images": [
            {
                "caption": image.caption,
                "score": round(image.score, 4),
                "chosen": image.caption.endswith("(chosen)"),
                "data_url": "data:image/png;base64," + base64.b64encode(image.png).decode(),
            }
            for image in action.images
        ],
    }


def library_json(action: LibraryShown | WhyShown, image_url: Any) -> dict[str, Any]:
    if isinstance(action, LibraryShown):
        return {
            "type": "library",
            "message": action.message,
            "look_strength": action.look_strength,
            "elements": [
                {
                    "name": e.name,
                    "kind": e.kind,
                    "count": e.count,
                    "aliases": list(e.aliases),
                    "pinned": e.pinned,
                    "thumbnail": image_url(e.thumbnail_image_id) if e.thumbnail_image_id else None,
                    "description": e.description,
                    "pronoun": e.pronoun,
                    "references": [image_url(image_id) for image_id in e.references],
                }
                for e in action.elements
            ],
        }
    return {
        "type": "why",
        "paragraph_id": action.paragraph_id,
        "text": action.text,
        "note": action.note,
        "illustrations": [_with_stage_urls(detail, image_url) for detail in action.illustrations],
    }


# A composed picture's stages in the order they were made (seed 001).
STAGES = ("initial", "background", "merged", "sketch")


def _with_stage_urls(detail: dict, image_url: Any) -> dict:
    """A composed picture's "why" with the URL of each stage's picture, in order."""
    stages = (detail.get("composition") or {}).get("stages") or {}
    if not stages:
        return detail
    urls = [{"stage": name, "url": image_url(stages[name])} for name in STAGES if name in stages]
    words = [e.get("word", "") for e in (detail["composition"].get("elements") or [])]
    for number, image_id in enumerate(stages.get("cutouts") or []):
        name = words[number] if number < len(words) else f"element {number + 1}"
        urls.insert(2 + number, {"stage": f"{name} alone", "url": image_url(image_id)})
    return {**detail, "stage_images": urls}


def _text(data: dict[str, Any], key: str, missing: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LibraryMessageError(missing)
    return value.strip()[:200]
