"""Mongo repositories for work in flight: the inbox and the record of deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo import WriteConcern
from pymongo.errors import DuplicateKeyError

from storage.base import Delivery, InboxItem, due_in_order
from storage.mongo.common import loaded_time, next_seq, stored_time


class MongoInbox:
    def __init__(self, db: Any) -> None:
        self._db = db
        # An accepted event must survive the loss of the primary.
        self._inbox = db.get_collection("inbox", write_concern=WriteConcern("majority"))

    async def add(
        self, channel_key: str, kind: str, payload: dict[str, Any], dedupe_key: str, now: datetime
    ) -> InboxItem:
        existing = await self._inbox.find_one({"dedupe_key": dedupe_key})
        if existing is not None:
            return _item(existing)
        document = {
            "_id": uuid.uuid4().hex,
            "channel_key": channel_key,
            "seq": await next_seq(self._db, f"inbox:{channel_key}"),
            "kind": kind,
            "payload": payload,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": stored_time(now),
            "created_at": stored_time(now),
            "dedupe_key": dedupe_key,
            "error": "",
        }
        try:
            await self._inbox.insert_one(document)
        except DuplicateKeyError:
            # Another process stored the same event between our find and insert.
            existing = await self._inbox.find_one({"dedupe_key": dedupe_key})
            assert existing is not None
            return _item(existing)
        return _item(document)

    async def due(self, channel_key: str, now: datetime, limit: int = 10) -> list[InboxItem]:
        cursor = (
            self._inbox.find({"channel_key": channel_key, "status": "pending"})
            .sort([("seq", 1)])
            .limit(limit)
        )
        return due_in_order([_item(document) for document in await cursor.to_list(None)], now)

    async def pending_count(self, channel_key: str) -> int:
        return await self._inbox.count_documents({"channel_key": channel_key, "status": "pending"})

    async def channels_with_due(self, now: datetime) -> list[str]:
        keys = await self._inbox.distinct(
            "channel_key", {"status": "pending", "next_attempt_at": {"$lte": stored_time(now)}}
        )
        return sorted(keys)

    async def mark_done(self, item_id: str) -> None:
        await self._inbox.update_one({"_id": item_id}, {"$set": {"status": "done"}})

    async def mark_retry(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        await self._inbox.update_one(
            {"_id": item_id},
            {
                "$inc": {"attempts": 1},
                "$set": {"next_attempt_at": stored_time(next_attempt_at), "error": error},
            },
        )

    async def mark_failed(self, item_id: str, error: str) -> None:
        await self._inbox.update_one(
            {"_id": item_id},
            {"$inc": {"attempts": 1}, "$set": {"status": "failed", "error": error}},
        )

    async def prune(self, finished_before: datetime) -> int:
        result = await self._inbox.delete_many(
            {
                "status": {"$in": ["done", "failed"]},
                "created_at": {"$lt": stored_time(finished_before)},
            }
        )
        return result.deleted_count


class MongoDeliveries:
    def __init__(self, db: Any) -> None:
        self._deliveries = db.get_collection("deliveries", write_concern=WriteConcern("majority"))

    async def record_intent(self, delivery_id: str, channel_key: str, now: datetime) -> Delivery:
        await self._deliveries.update_one(
            {"_id": delivery_id},
            {
                "$setOnInsert": {
                    "channel_key": channel_key,
                    "status": "intent",
                    "message_ids": [],
                    "updated_at": stored_time(now),
                }
            },
            upsert=True,
        )
        found = await self.get(delivery_id)
        assert found is not None
        return found

    async def record_posted(
        self, delivery_id: str, message_ids: tuple[str, ...], now: datetime
    ) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id},
            {
                "$set": {
                    "status": "posted",
                    "message_ids": list(message_ids),
                    "updated_at": stored_time(now),
                }
            },
        )

    async def get(self, delivery_id: str) -> Delivery | None:
        document = await self._deliveries.find_one({"_id": delivery_id})
        if document is None:
            return None
        return Delivery(
            id=document["_id"],
            channel_key=document["channel_key"],
            status=document["status"],
            message_ids=tuple(document.get("message_ids") or ()),
            updated_at=loaded_time(document["updated_at"]),
        )


def _item(document: dict[str, Any]) -> InboxItem:
    return InboxItem(
        id=document["_id"],
        channel_key=document["channel_key"],
        seq=document["seq"],
        kind=document["kind"],
        payload=dict(document["payload"]),
        status=document["status"],
        attempts=document["attempts"],
        next_attempt_at=loaded_time(document["next_attempt_at"]),
        created_at=loaded_time(document["created_at"]),
        dedupe_key=document["dedupe_key"],
        error=document.get("error", ""),
    )
