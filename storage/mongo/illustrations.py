"""Mongo repository of illustrations: pictures, provenance, edit chains, posted messages."""

from __future__ import annotations

from typing import Any

from storage.base import IllustrationRecord
from storage.codec import vector_from_bytes, vector_to_bytes
from storage.mongo.common import loaded_time, stored_time


class MongoIllustrations:
    def __init__(self, db: Any) -> None:
        self._illustrations = db.get_collection("illustrations")

    async def add(self, record: IllustrationRecord) -> None:
        await self.add_many([record])

    async def add_many(self, records: list[IllustrationRecord]) -> None:
        # $setOnInsert by id: a retry after a crash stores nothing twice.
        for record in records:
            document = _illustration_document(record)
            identifier = document.pop("_id")
            await self._illustrations.update_one(
                {"_id": identifier}, {"$setOnInsert": document}, upsert=True
            )

    async def for_paragraphs(self, paragraph_ids: list[str]) -> dict[str, list[IllustrationRecord]]:
        found: dict[str, list[IllustrationRecord]] = {pid: [] for pid in paragraph_ids}
        if not paragraph_ids:
            return found
        cursor = self._illustrations.find({"paragraph_id": {"$in": paragraph_ids}}).sort(
            [("sentence_index", 1), ("created_at", 1)]
        )
        for document in await cursor.to_list(None):
            found[document["paragraph_id"]].append(_illustration(document))
        return found

    async def image_bytes(self, channel_key: str) -> int:
        # A projection and a sum here rather than $group: montydb, used in tests, lacks it.
        cursor = self._illustrations.find(
            {"channel_key": channel_key, "image_bytes": {"$gt": 0}}, {"image_bytes": 1}
        )
        return sum(int(d["image_bytes"]) for d in await cursor.to_list(None))

    async def oldest_with_images(self, channel_key: str, limit: int) -> list[IllustrationRecord]:
        cursor = (
            self._illustrations.find({"channel_key": channel_key, "image_bytes": {"$gt": 0}})
            .sort([("created_at", 1), ("_id", 1)])
            .limit(limit)
        )
        return [_illustration(document) for document in await cursor.to_list(None)]

    async def forget_image(self, illustration_id: str) -> None:
        await self._illustrations.update_one(
            {"_id": illustration_id}, {"$set": {"image_id": "", "image_bytes": 0}}
        )

    async def get(self, illustration_id: str) -> IllustrationRecord | None:
        document = await self._illustrations.find_one({"_id": illustration_id})
        return None if document is None else _illustration(document)

    async def record_message(
        self, illustration_ids: list[str], platform: str, message_id: str
    ) -> None:
        await self._illustrations.update_many(
            {"_id": {"$in": illustration_ids}},
            {"$addToSet": {f"platform_message_ids.{platform}": message_id}},
        )

    async def by_message(
        self, channel_key: str, platform: str, message_id: str
    ) -> list[IllustrationRecord]:
        cursor = self._illustrations.find(
            {"channel_key": channel_key, f"platform_message_ids.{platform}": message_id}
        ).sort([("sentence_index", 1), ("created_at", 1)])
        return [_illustration(document) for document in await cursor.to_list(None)]

    async def children(self, parent_id: str) -> list[IllustrationRecord]:
        cursor = self._illustrations.find({"parent_id": parent_id}).sort(
            [("created_at", 1), ("_id", 1)]
        )
        return [_illustration(document) for document in await cursor.to_list(None)]

    async def set_undone(self, illustration_id: str, undone: bool) -> None:
        await self._illustrations.update_one({"_id": illustration_id}, {"$set": {"undone": undone}})


def _illustration_document(record: IllustrationRecord) -> dict[str, Any]:
    feature = None if record.clip_feature is None else vector_to_bytes(record.clip_feature)
    return {
        "_id": record.id,
        "channel_key": record.channel_key,
        "paragraph_id": record.paragraph_id,
        "sentence_index": record.sentence_index,
        "text": record.text,
        "image_id": record.image_id,
        "score": record.score,
        "provenance": record.provenance,
        "clip_feature": feature,
        "created_at": stored_time(record.created_at),
        "parent_id": record.parent_id,
        "platform_message_ids": record.platform_message_ids,
        "image_bytes": record.image_bytes,
        "undone": record.undone,
    }


def _illustration(document: dict[str, Any]) -> IllustrationRecord:
    blob = document.get("clip_feature")
    return IllustrationRecord(
        id=document["_id"],
        channel_key=document["channel_key"],
        paragraph_id=document["paragraph_id"],
        sentence_index=document["sentence_index"],
        text=document["text"],
        image_id=document["image_id"],
        score=document["score"],
        provenance=dict(document["provenance"]),
        clip_feature=None if blob is None else vector_from_bytes(bytes(blob)),
        created_at=loaded_time(document["created_at"]),
        parent_id=document.get("parent_id"),
        platform_message_ids={
            platform: list(ids)
            for platform, ids in (document.get("platform_message_ids") or {}).items()
        },
        image_bytes=int(document.get("image_bytes", 0)),
        undone=bool(document.get("undone", False)),
    )
