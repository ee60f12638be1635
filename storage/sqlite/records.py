"""SQLite repositories for writers' feedback and for long-running jobs."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import aiosqlite

from storage.base import EditPairRecord, FeedbackRecord, JobRecord
from storage.codec import utc_text
from storage.sqlite.base import SQLiteRepository


class SQLiteFeedback(SQLiteRepository):
    async def add(self, record: FeedbackRecord) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT INTO feedback (id, channel_key, illustration_id, image_id, author_id,"
                " text, created_at, label, target_text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.channel_key,
                    record.illustration_id,
                    record.image_id,
                    record.author_id,
                    record.text,
                    utc_text(record.created_at),
                    record.label,
                    record.target_text,
                ),
            )

    async def list(
        self, channel_key: str | None = None, since: datetime | None = None, limit: int = 1000
    ) -> list[FeedbackRecord]:
        clauses, args = [], []
        if channel_key is not None:
            clauses.append("channel_key = ?")
            args.append(channel_key)
        if since is not None:
            clauses.append("created_at >= ?")
            args.append(utc_text(since))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self._all(
            f"SELECT * FROM feedback {where} ORDER BY created_at, id LIMIT ?", (*args, limit)
        )
        return [_feedback(row) for row in rows]


_PAIR_FIELDS = (
    "id",
    "channel_key",
    "illustration_id",
    "original_image_id",
    "edited_image_id",
    "request",
    "edit_prompt",
    "attribute",
    "attribute_word",
    "feature_branch",
    "created_at",
)


class SQLiteEditPairs(SQLiteRepository):
    async def add(self, record: EditPairRecord) -> None:
        values = [getattr(record, name) for name in _PAIR_FIELDS]
        values[-1] = utc_text(record.created_at)
        async with self._write() as db:
            await db.execute(
                f"INSERT OR IGNORE INTO edit_pairs ({', '.join(_PAIR_FIELDS)})"
                f" VALUES ({', '.join('?' * len(_PAIR_FIELDS))})",
                values,
            )

    async def list(
        self, channel_key: str | None = None, limit: int = 100_000
    ) -> list[EditPairRecord]:
        where, args = ("WHERE channel_key = ?", [channel_key]) if channel_key else ("", [])
        rows = await self._all(
            f"SELECT * FROM edit_pairs {where} ORDER BY created_at, id LIMIT ?", (*args, limit)
        )
        return [
            EditPairRecord(
                **{name: row[name] for name in _PAIR_FIELDS[:-1]},
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]


class SQLiteJobs(SQLiteRepository):
    async def create(self, kind: str, params: dict[str, Any], now: datetime) -> JobRecord:
        job_id = uuid.uuid4().hex
        async with self._write() as db:
            await db.execute(
                "INSERT INTO jobs (id, kind, status, params, created_at, updated_at)"
                " VALUES (?, ?, 'queued', ?, ?, ?)",
                (job_id, kind, json.dumps(params), utc_text(now), utc_text(now)),
            )
        found = await self.get(job_id)
        assert found is not None
        return found

    async def update(
        self,
        job_id: str,
        now: datetime,
        status: str | None = None,
        progress: float | None = None,
        message: str | None = None,
    ) -> JobRecord:
        async with self._write() as db:
            await db.execute(
                "UPDATE jobs SET status = COALESCE(?, status), progress = COALESCE(?, progress),"
                " message = COALESCE(?, message), updated_at = ? WHERE id = ?",
                (status, progress, message, utc_text(now), job_id),
            )
        found = await self.get(job_id)
        if found is None:
            raise KeyError(f"no job {job_id!r}")
        return found

    async def get(self, job_id: str) -> JobRecord | None:
        row = await self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    async def list(self, kind: str | None = None, limit: int = 50) -> list[JobRecord]:
        if kind is None:
            rows = await self._all(
                "SELECT * FROM jobs ORDER BY created_at DESC, id LIMIT ?", (limit,)
            )
        else:
            rows = await self._all(
                "SELECT * FROM jobs WHERE kind = ? ORDER BY created_at DESC, id LIMIT ?",
                (kind, limit),
            )
        return [_job(row) for row in rows]


def _feedback(row: aiosqlite.Row) -> FeedbackRecord:
    return FeedbackRecord(
        id=row["id"],
        channel_key=row["channel_key"],
        illustration_id=row["illustration_id"],
        image_id=row["image_id"],
        author_id=row["author_id"],
        text=row["text"],
        created_at=datetime.fromisoformat(row["created_at"]),
        label=row["label"],
        target_text=row["target_text"],
    )


def _job(row: aiosqlite.Row) -> JobRecord:
    return JobRecord(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        params=json.loads(row["params"]),
        progress=row["progress"],
        message=row["message"],
        created_at=datetime.fromisoformat(row["created_at"]),
        updated_at=datetime.fromisoformat(row["updated_at"]),
    )
