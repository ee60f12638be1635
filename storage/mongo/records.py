"""Mongo repositories for writers' feedback and for long-running jobs."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from storage.base import EditPairRecord, FeedbackRecord, JobRecord
from storage.mongo.common import loaded_time, stored_time


class MongoFeedback:
    def __init__(self, db: Any) -> None:
        self._feedback = db.get_collection("feedback")

    async def add(self, record: FeedbackRecord) -> None:
        await self._feedback.insert_one(
            {
                "_id": record.id,
                "channel_key": record.channel_key,
                "illustration_id": record.illustration_id,
                "image_id": record.image_id,
                "author_id": record.author_id,
                "text": record.text,
                "created_at": stored_time(record.created_at),
                "label": record.label,
                "target_text": record.target_text,
            }
        )

    async def list(
        self, channel_key: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[FeedbackRecord]:
        query: dict[str, Any] = {}
        if channel_key is not None:
            query["channel_key"] = channel_key
        if since is not None:
            query["created_at"] = {"$gte": stored_time(since)}
        cursor = self._feedback.find(query).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        return [
            FeedbackRecord(
                id=d["_id"],
                channel_key=d["channel_key"],
                illustration_id=d.get("illustration_id"),
                image_id=d.get("image_id"),
                author_id=d["author_id"],
                text=d["text"],
                created_at=loaded_time(d["created_at"]),
                label=d.get("label"),
                target_text=d.get("target_text", ""),
            )
            for d in await cursor.to_list(None)
        ]


class MongoEditPairs:
    def __init__(self, db: Any) -> None:
        self._pairs = db.get_collection("edit_pairs")

    async def add(self, record: EditPairRecord) -> None:
        document = {name: value for name, value in asdict(record).items() if name != "id"}
        document["created_at"] = stored_time(record.created_at)
        # An upsert that only inserts: storing the same pair again is a no-op.
        await self._pairs.update_one({"_id": record.id}, {"$setOnInsert": document}, upsert=True)

    async def list(
        self, channel_key: str | None = None, limit: int = 100_000
    ) -> list[EditPairRecord]:
        query = {"channel_key": channel_key} if channel_key else {}
        cursor = self._pairs.find(query).sort([("created_at", 1), ("_id", 1)]).limit(limit)
        return [
            EditPairRecord(
                id=d["_id"],
                **{k: d[k] for k in _PAIR_FIELDS},
                created_at=loaded_time(d["created_at"]),
            )
            for d in await cursor.to_list(None)
        ]


_PAIR_FIELDS = (
    "channel_key",
    "illustration_id",
    "original_image_id",
    "edited_image_id",
    "request",
    "edit_prompt",
    "attribute",
    "attribute_word",
    "feature_branch",
)


class MongoJobs:
    def __init__(self, db: Any) -> None:
        self._jobs = db.get_collection("jobs")

    async def create(self, kind: str, params: dict[str, Any], now: datetime) -> JobRecord:
        document = {
            "_id": uuid.uuid4().hex,
            "kind": kind,
            "status": "queued",
            "params": params,
            "progress": 0.0,
            "message": "",
            "created_at": stored_time(now),
            "updated_at": stored_time(now),
        }
        await self._jobs.insert_one(document)
        return _job(document)

    async def update(
        self,
        job_id: str,
        now: datetime,
        status: str | None = None,
        progress: float | None = None,
        message: str | None = None,
    ) -> JobRecord:
        changes = {"status": status, "progress": progress, "message": message}
        sets = {name: value for name, value in changes.items() if value is not None}
        sets["updated_at"] = stored_time(now)
        result = await self._jobs.update_one({"_id": job_id}, {"$set": sets})
        if result.matched_count == 0:
            raise KeyError(f"no job {job_id!r}")
        found = await self.get(job_id)
        assert found is not None
        return found

    async def get(self, job_id: str) -> JobRecord | None:
        document = await self._jobs.find_one({"_id": job_id})
        return _job(document) if document else None

    async def list(self, kind: str | None = None, limit: int = 50) -> list[JobRecord]:
        query = {} if kind is None else {"kind": kind}
        cursor = self._jobs.find(query).sort([("created_at", -1), ("_id", 1)]).limit(limit)
        return [_job(document) for document in await cursor.to_list(None)]


def _job(document: dict[str, Any]) -> JobRecord:
    return JobRecord(
        id=document["_id"],
        kind=document["kind"],
        status=document["status"],
        params=dict(document["params"]),
        progress=float(document["progress"]),
        message=document["message"],
        created_at=loaded_time(document["created_at"]),
        updated_at=loaded_time(document["updated_at"]),
    )
