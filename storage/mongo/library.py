"""Mongo repositories for a story's element library and its illustration history."""

from __future__ import annotations

from typing import Any

from storage.base import ElementRecord, HistoryRecord
from storage.codec import (
    looks_from_plain,
    looks_to_plain,
    optional_vector,
    vector_from_bytes,
    vector_to_bytes,
)
from storage.mongo.common import loaded_time, stored_time


class MongoElements:
    def __init__(self, db: Any) -> None:
        self._elements = db.get_collection("elements")

    async def list(self, channel_key: str) -> list[ElementRecord]:
        cursor = self._elements.find({"channel_key": channel_key}).sort(
            [("first_seen", 1), ("name", 1)]
        )
        return [_element(document) for document in await cursor.to_list(None)]

    async def get(self, channel_key: str, name: str) -> ElementRecord | None:
        document = await self._elements.find_one({"_id": _element_id(channel_key, name)})
        return _element(document) if document else None

    async def put(self, record: ElementRecord) -> None:
        identifier = _element_id(record.channel_key, record.name)
        # _id in the replacement too: montydb's upsert doesn't take it from the filter.
        document = {
            "_id": identifier,
            "channel_key": record.channel_key,
            "name": record.name,
            "kind": record.kind,
            "feature": vector_to_bytes(record.feature),
            "count": record.count,
            "first_seen": stored_time(record.first_seen),
            "last_seen": stored_time(record.last_seen),
            "aliases": list(record.aliases),
            "first_illustration_id": record.first_illustration_id,
            "pinned": record.pinned,
            "look": None if record.look is None else vector_to_bytes(record.look),
            "looks": looks_to_plain(record.references),
            "description": record.description,
            "pronoun": record.pronoun,
        }
        await self._elements.replace_one({"_id": identifier}, document, upsert=True)

    async def delete(self, channel_key: str, name: str) -> bool:
        result = await self._elements.delete_one({"_id": _element_id(channel_key, name)})
        return result.deleted_count == 1


class MongoHistory:
    def __init__(self, db: Any) -> None:
        self._history = db.get_collection("history")

    async def get(self, channel_key: str) -> HistoryRecord | None:
        document = await self._history.find_one({"_id": channel_key})
        if document is None:
            return None
        return HistoryRecord(
            channel_key=document["_id"],
            feature=vector_from_bytes(bytes(document["feature"])),
            count=document["count"],
            updated_at=loaded_time(document["updated_at"]),
        )

    async def put(self, record: HistoryRecord) -> None:
        await self._history.replace_one(
            {"_id": record.channel_key},
            {
                "_id": record.channel_key,
                "feature": vector_to_bytes(record.feature),
                "count": record.count,
                "updated_at": stored_time(record.updated_at),
            },
            upsert=True,
        )


def _element_id(channel_key: str, name: str) -> str:
    # The unit separator can't occur in channel keys or element names typed by writers.
    return f"{channel_key}\x1f{name}"


def _element(document: dict[str, Any]) -> ElementRecord:
    return ElementRecord(
        channel_key=document["channel_key"],
        name=document["name"],
        kind=document["kind"],
        feature=vector_from_bytes(bytes(document["feature"])),
        count=document["count"],
        first_seen=loaded_time(document["first_seen"]),
        last_seen=loaded_time(document["last_seen"]),
        aliases=tuple(document.get("aliases") or ()),
        first_illustration_id=document.get("first_illustration_id"),
        pinned=bool(document.get("pinned", False)),
        look=optional_vector(document.get("look")),
        references=looks_from_plain(document.get("looks")),
        description=document.get("description", ""),
        pronoun=document.get("pronoun", ""),
    )
