"""Moves one story between backends: a zip with story.json and the images it shows."""

from __future__ import annotations

import base64
import json
import zipfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from storage.base import ElementRecord, HistoryRecord, IllustrationRecord, Storage
from storage.codec import looks_from_plain, looks_to_plain

FORMAT = "inkwell-story/1"
PAGE = 500


class TransferError(ValueError):
    """The story can't be exported or imported; the message says why."""


async def export_story(storage: Storage, channel_key: str, out: Path) -> int:
    """Write the story to `out`; returns how many paragraphs it holds."""
    channel = await storage.channels.get(channel_key)
    if channel is None:
        raise TransferError(f"there is no story {channel_key!r}")
    paragraphs = await _all_paragraphs(storage, channel_key)
    drawn = await storage.illustrations.for_paragraphs([p.id for p in paragraphs])
    illustrations = [record for records in drawn.values() for record in records]
    history = await storage.history.get(channel_key)
    document = {
        "format": FORMAT,
        "channel": {
            "key": channel.key,
            "platform": channel.platform,
            "channel_id": channel.channel_id,
            "thread_id": channel.thread_id,
            "title": channel.title,
            "settings": channel.settings,
        },
        "paragraphs": [
            {
                "id": p.id,
                "seq": p.seq,
                "author_id": p.author_id,
                "author_name": p.author_name,
                "text": p.text,
                "status": p.status,
                "posted_at": p.posted_at.isoformat(),
                "note": p.note,
                "message_id": p.message_id,
            }
            for p in paragraphs
        ],
        "illustrations": [_illustration_json(record) for record in illustrations],
        "elements": [_element_json(e) for e in await storage.elements.list(channel_key)],
        "history": None if history is None else _history_json(history),
    }
    # The pictures it shows, and its cast's reference pictures.
    references = [
        r.image_id for e in await storage.elements.list(channel_key) for r in e.references
    ]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("story.json", json.dumps(document, ensure_ascii=False, indent=1))
        for image_id in dict.fromkeys([*(r.image_id for r in illustrations), *references]):
            png = await storage.images.get(image_id)
            if png is not None:
                archive.writestr(f"images/{image_id}.png", png)
    return len(paragraphs)


async def import_story(storage: Storage, archive_path: Path, as_channel: str | None = None) -> str:
    """Load an exported story into `storage`; returns its channel key there.

    `as_channel` gives it another channel id (same platform). The target must be empty:
    merging two stories' numbering is not something to do silently.
    """
    with zipfile.ZipFile(archive_path) as archive:
        document = json.loads(archive.read("story.json"))
        if document.get("format") != FORMAT:
            raise TransferError(f"{archive_path} is not an Inkwell story export")
        images = {
            Path(name).stem: archive.read(name)
            for name in archive.namelist()
            if name.startswith("images/")
        }
    source = document["channel"]
    channel_id = as_channel or source["channel_id"]
    key = ":".join(p for p in (source["platform"], channel_id, source["thread_id"]) if p)
    existing = await storage.channels.get(key)
    if existing is not None and existing.paragraph_count:
        raise TransferError(f"the story {key!r} already has paragraphs; import it under a new name")
    await storage.channels.ensure(
        key,
        source["platform"],
        channel_id,
        source["thread_id"],
        source["title"] if not as_channel else channel_id,
    )
    if source["settings"]:
        await storage.channels.update_settings(key, source["settings"])

    paragraph_ids: dict[str, str] = {}
    for data in sorted(document["paragraphs"], key=lambda p: p["seq"]):
        paragraph = await storage.paragraphs.add(
            key,
            data["author_id"],
            data["author_name"],
            data["text"],
            datetime.fromisoformat(data["posted_at"]),
            data["message_id"],
        )
        await storage.paragraphs.set_status(paragraph.id, data["status"], data["note"])
        paragraph_ids[data["id"]] = paragraph.id

    image_ids = {old: await storage.images.put(png) for old, png in images.items()}
    illustrations = [
        replace(
            _illustration_from(data),
            # The id keeps its shape (paragraph, variation, sentence) under the new paragraph id.
            id=data["id"].replace(data["paragraph_id"], paragraph_ids[data["paragraph_id"]], 1),
            channel_key=key,
            paragraph_id=paragraph_ids[data["paragraph_id"]],
            image_id=image_ids.get(data["image_id"], data["image_id"]),
        )
        for data in document["illustrations"]
    ]
    await storage.illustrations.add_many(illustrations)
    for data in document["elements"]:
        element = _element_from(data)
        looks = tuple(
            replace(look, image_id=image_ids.get(look.image_id, look.image_id))
            for look in element.references
        )
        await storage.elements.put(replace(element, channel_key=key, references=looks))
    if document["history"] is not None:
        await storage.history.put(replace(_history_from(document["history"]), channel_key=key))
    return key


async def _all_paragraphs(storage: Storage, channel_key: str) -> list:
    paragraphs: list = []
    before: int | None = None
    while True:
        page = await storage.paragraphs.page(channel_key, before, PAGE)
        paragraphs[:0] = page
        if len(page) < PAGE:
            return paragraphs
        before = page[0].seq


def _vector(array: np.ndarray | None) -> str | None:
    if array is None:
        return None
    return base64.b64encode(np.asarray(array, dtype=np.float32).tobytes()).decode()


def _unvector(text: str | None) -> np.ndarray | None:
    if text is None:
        return None
    return np.frombuffer(base64.b64decode(text), dtype=np.float32).copy()


def _illustration_json(record: IllustrationRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "paragraph_id": record.paragraph_id,
        "sentence_index": record.sentence_index,
        "text": record.text,
        "image_id": record.image_id,
        "score": record.score,
        "provenance": record.provenance,
        "clip_feature": _vector(record.clip_feature),
        "created_at": record.created_at.isoformat(),
        "parent_id": record.parent_id,
        "undone": record.undone,
    }


def _illustration_from(data: dict[str, Any]) -> IllustrationRecord:
    return IllustrationRecord(
        id=data["id"],
        channel_key="",
        paragraph_id=data["paragraph_id"],
        sentence_index=data["sentence_index"],
        text=data["text"],
        image_id=data["image_id"],
        score=data["score"],
        provenance=data["provenance"],
        clip_feature=_unvector(data["clip_feature"]),
        created_at=datetime.fromisoformat(data["created_at"]),
        parent_id=data["parent_id"],
        undone=bool(data.get("undone", False)),
    )


def _element_json(record: ElementRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "kind": record.kind,
        "feature": _vector(record.feature),
        "count": record.count,
        "first_seen": record.first_seen.isoformat(),
        "last_seen": record.last_seen.isoformat(),
        "aliases": list(record.aliases),
        "first_illustration_id": record.first_illustration_id,
        "pinned": record.pinned,
        "look": _vector(record.look),
        "looks": looks_to_plain(record.references),
        "description": record.description,
        "pronoun": record.pronoun,
    }


def _element_from(data: dict[str, Any]) -> ElementRecord:
    return ElementRecord(
        channel_key="",
        name=data["name"],
        kind=data["kind"],
        feature=_unvector(data["feature"]),
        count=data["count"],
        first_seen=datetime.fromisoformat(data["first_seen"]),
        last_seen=datetime.fromisoformat(data["last_seen"]),
        aliases=tuple(data["aliases"]),
        first_illustration_id=data["first_illustration_id"],
        pinned=data["pinned"],
        look=_unvector(data.get("look")),
        references=looks_from_plain(data.get("looks")),
        description=data.get("description", ""),
        pronoun=data.get("pronoun", ""),
    )


def _history_json(record: HistoryRecord) -> dict[str, Any]:
    return {
        "feature": _vector(record.feature),
        "count": record.count,
        "updated_at": record.updated_at.isoformat(),
    }


def _history_from(data: dict[str, Any]) -> HistoryRecord:
    return HistoryRecord(
        channel_key="",
        feature=_unvector(data["feature"]),
        count=data["count"],
        updated_at=datetime.fromisoformat(data["updated_at"]),
    )


def describe(archive_path: Path) -> str:
    """One line about an export, for the command's output."""
    with zipfile.ZipFile(archive_path) as archive:
        document = json.loads(archive.read("story.json"))
    return (
        f"{document['channel']['key']}: {len(document['paragraphs'])} paragraphs, "
        f"{len(document['illustrations'])} illustrations, {len(document['elements'])} elements"
    )
