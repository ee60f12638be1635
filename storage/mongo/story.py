"""Mongo repositories for the story itself: channels and paragraphs."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from storage.base import UNFINISHED_STATUSES, ChannelRecord, ParagraphRecord
from storage.codec import now_utc
from storage.mongo.common import loaded_time, next_seq, stored_time


class MongoChannels:
    def __init__(self, db: Any) -> None:
        self._db = db
        self._channels = db.get_collection("channels")

    async def ensure(
        self, key: str, platform: str, channel_id: str, thread_id: str | None, title: str
    ) -> ChannelRecord:
        document = {
            "platform": platform,
            "channel_id": channel_id,
            "thread_id": thread_id,
            "title": title,
            "created_at": stored_time(now_utc()),
            "settings": {},
        }
        await self._channels.update_one({"_id": key}, {"$setOnInsert": document}, upsert=True)
        record = await self.get(key)
        assert record is not None
        return record

    async def get(self, key: str) -> ChannelRecord | None:
        document = await self._channels.find_one({"_id": key})
        return await self._record(document) if document else None

    async def list_for_platform(self, platform: str) -> list[ChannelRecord]:
        cursor = self._channels.find({"platform": platform}).sort([("created_at", 1)])
        return [await self._record(document) for document in await cursor.to_list(None)]

    async def update_settings(self, key: str, changes: dict[str, Any]) -> ChannelRecord:
        sets = {f"settings.{name}": value for name, value in changes.items() if value is not None}
        unsets = {f"settings.{name}": "" for name, value in changes.items() if value is None}
        update: dict[str, Any] = {}
        if sets:
            update["$set"] = sets
        if unsets:
            update["$unset"] = unsets
        if update:
            result = await self._channels.update_one({"_id": key}, update)
            if result.matched_count == 0:
                raise KeyError(f"no channel {key!r}")
        record = await self.get(key)
        if record is None:
            raise KeyError(f"no channel {key!r}")
        return record

    async def try_lease(self, key: str, owner: str, ttl_s: float, now: datetime) -> bool:
        result = await self._channels.update_one(
            {
                "_id": key,
                "$or": [
                    {"lease_owner": None},
                    {"lease_owner": owner},
                    {"lease_expires_at": {"$lt": stored_time(now)}},
                ],
            },
            {
                "$set": {
                    "lease_owner": owner,
                    "lease_expires_at": stored_time(now + timedelta(seconds=ttl_s)),
                }
            },
        )
        return result.matched_count == 1

    async def release_lease(self, key: str, owner: str) -> None:
        await self._channels.update_one(
            {"_id": key, "lease_owner": owner},
            {"$set": {"lease_owner": None, "lease_expires_at": None}},
        )

    async def _record(self, document: dict[str, Any]) -> ChannelRecord:
        count = await self._db.get_collection("paragraphs").count_documents(
            {"channel_key": document["_id"]}
        )
        return ChannelRecord(
            key=document["_id"],
            platform=document["platform"],
            channel_id=document["channel_id"],
            thread_id=document.get("thread_id"),
            title=document["title"],
            created_at=loaded_time(document["created_at"]),
            paragraph_count=count,
            settings=dict(document.get("settings") or {}),
            lease_owner=document.get("lease_owner"),
            lease_expires_at=loaded_time(document.get("lease_expires_at")),
        )


class MongoParagraphs:
    def __init__(self, db: Any) -> None:
        self._db = db
        self._paragraphs = db.get_collection("paragraphs")

    async def add(
        self,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None = None,
    ) -> ParagraphRecord:
        document = await self._document(
            None, channel_key, author_id, author_name, text, posted_at, message_id
        )
        await self._paragraphs.insert_one(document)
        return _paragraph(document)

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
        existing = await self._paragraphs.find_one({"source_key": source_key})
        if existing is not None:
            return _paragraph(existing), False
        document = await self._document(
            source_key, channel_key, author_id, author_name, text, posted_at, message_id
        )
        try:
            await self._paragraphs.insert_one(document)
        except DuplicateKeyError:
            # Another process stored the same message between our find and insert.
            existing = await self._paragraphs.find_one({"source_key": source_key})
            assert existing is not None
            return _paragraph(existing), False
        return _paragraph(document), True

    async def _document(
        self,
        source_key: str | None,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None,
    ) -> dict[str, Any]:
        document = {
            "_id": uuid.uuid4().hex,
            "channel_key": channel_key,
            "seq": await next_seq(self._db, f"paragraphs:{channel_key}"),
            "author_id": author_id,
            "author_name": author_name,
            "text": text,
            "status": "queued",
            "posted_at": stored_time(posted_at),
            "note": "",
            "message_id": message_id,
        }
        if source_key is not None:  # absent, not null: the sparse unique index skips it
            document["source_key"] = source_key
        return document

    async def get(self, paragraph_id: str) -> ParagraphRecord | None:
        document = await self._paragraphs.find_one({"_id": paragraph_id})
        return _paragraph(document) if document else None

    async def by_source(self, source_key: str) -> ParagraphRecord | None:
        document = await self._paragraphs.find_one({"source_key": source_key})
        return _paragraph(document) if document else None

    async def queued_count(self, channel_key: str, author_id: str) -> int:
        return await self._paragraphs.count_documents(
            {"channel_key": channel_key, "author_id": author_id, "status": "queued"}
        )

    async def set_status(self, paragraph_id: str, status: str, note: str = "") -> None:
        await self._paragraphs.update_one(
            {"_id": paragraph_id}, {"$set": {"status": status, "note": note}}
        )

    async def page(
        self, channel_key: str, before_seq: int | None, limit: int
    ) -> list[ParagraphRecord]:
        query: dict[str, Any] = {"channel_key": channel_key}
        if before_seq is not None:
            query["seq"] = {"$lt": before_seq}
        cursor = self._paragraphs.find(query).sort([("seq", -1)]).limit(limit)
        documents = await cursor.to_list(None)
        return [_paragraph(document) for document in reversed(documents)]

    async def unfinished(self) -> list[ParagraphRecord]:
        cursor = self._paragraphs.find({"status": {"$in": list(UNFINISHED_STATUSES)}}).sort(
            [("posted_at", 1), ("seq", 1)]
        )
        return [_paragraph(document) for document in await cursor.to_list(None)]


def _paragraph(document: dict[str, Any]) -> ParagraphRecord:
    return ParagraphRecord(
        id=document["_id"],
        channel_key=document["channel_key"],
        seq=document["seq"],
        author_id=document["author_id"],
        author_name=document["author_name"],
        text=document["text"],
        status=document["status"],
        posted_at=loaded_time(document["posted_at"]),
        note=document.get("note", ""),
        message_id=document.get("message_id"),
        source_key=document.get("source_key"),
    )
