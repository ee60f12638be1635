"""SQLite repositories for the story itself: channels and paragraphs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from storage.base import UNFINISHED_STATUSES, ChannelRecord, ParagraphRecord
from storage.codec import now_utc, utc_text
from storage.sqlite.base import SQLiteRepository


class SQLiteChannels(SQLiteRepository):
    async def ensure(
        self, key: str, platform: str, channel_id: str, thread_id: str | None, title: str
    ) -> ChannelRecord:
        async with self._write() as db:
            await db.execute(
                "INSERT OR IGNORE INTO channels"
                " (key, platform, channel_id, thread_id, title, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, platform, channel_id, thread_id, title, utc_text(now_utc())),
            )
        record = await self.get(key)
        assert record is not None
        return record

    async def get(self, key: str) -> ChannelRecord | None:
        rows = await self._select("WHERE c.key = ?", (key,))
        return rows[0] if rows else None

    async def list_for_platform(self, platform: str) -> list[ChannelRecord]:
        return await self._select("WHERE c.platform = ? ORDER BY c.created_at", (platform,))

    async def update_settings(self, key: str, changes: dict[str, Any]) -> ChannelRecord:
        async with self._write() as db:
            rows = await db.execute_fetchall("SELECT settings FROM channels WHERE key = ?", (key,))
            row = rows[0] if rows else None
            if row is None:
                raise KeyError(f"no channel {key!r}")
            settings = json.loads(row["settings"])
            for name, value in changes.items():
                if value is None:
                    settings.pop(name, None)
                else:
                    settings[name] = value
            await db.execute(
                "UPDATE channels SET settings = ? WHERE key = ?", (json.dumps(settings), key)
            )
        record = await self.get(key)
        assert record is not None
        return record

    async def try_lease(self, key: str, owner: str, ttl_s: float, now: datetime) -> bool:
        expires = utc_text(now + timedelta(seconds=ttl_s))
        async with self._write() as db:
            cursor = await db.execute(
                "UPDATE channels SET lease_owner = ?, lease_expires_at = ? WHERE key = ?"
                " AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at < ?)",
                (owner, expires, key, owner, utc_text(now)),
            )
            return cursor.rowcount == 1

    async def release_lease(self, key: str, owner: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE channels SET lease_owner = NULL, lease_expires_at = NULL"
                " WHERE key = ? AND lease_owner = ?",
                (key, owner),
            )

    async def _select(self, where: str, args: tuple) -> list[ChannelRecord]:
        rows = await self._all(
            "SELECT c.*, (SELECT COUNT(*) FROM paragraphs p WHERE p.channel_key = c.key)"
            f" AS paragraph_count FROM channels c {where}",
            args,
        )
        return [
            ChannelRecord(
                key=row["key"],
                platform=row["platform"],
                channel_id=row["channel_id"],
                thread_id=row["thread_id"],
                title=row["title"],
                created_at=datetime.fromisoformat(row["created_at"]),
                paragraph_count=row["paragraph_count"],
                settings=json.loads(row["settings"]),
                lease_owner=row["lease_owner"],
                lease_expires_at=_time(row["lease_expires_at"]),
            )
            for row in rows
        ]


def random_id() -> str:
    return uuid.uuid4().hex


class SQLiteParagraphs(SQLiteRepository):
    # Where paragraph ids come from. Candidate seeds derive from them, so a benchmark that
    # must draw the same pictures on every run sets a seeded source here.
    new_id: Callable[[], str] = staticmethod(random_id)

    async def add(
        self,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None = None,
    ) -> ParagraphRecord:
        record, _ = await self._insert(
            None, channel_key, author_id, author_name, text, posted_at, message_id
        )
        return record

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
        return await self._insert(
            source_key, channel_key, author_id, author_name, text, posted_at, message_id
        )

    async def _insert(
        self,
        source_key: str | None,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None,
    ) -> tuple[ParagraphRecord, bool]:
        paragraph_id = self.new_id()
        async with self._write() as db:
            # Numbering inside the insert keeps two posts in the same instant distinct; the
            # unique source key ignores a message stored before (by any process).
            cursor = await db.execute(
                "INSERT OR IGNORE INTO paragraphs (id, channel_key, seq, author_id, author_name,"
                " text, status, posted_at, message_id, source_key) SELECT ?, ?,"
                " COALESCE(MAX(seq), 0) + 1, ?, ?, ?, 'queued', ?, ?, ? FROM paragraphs"
                " WHERE channel_key = ?",
                (
                    paragraph_id,
                    channel_key,
                    author_id,
                    author_name,
                    text,
                    utc_text(posted_at),
                    message_id,
                    source_key,
                    channel_key,
                ),
            )
            stored = cursor.rowcount == 1
        if stored:
            record = await self.get(paragraph_id)
        else:
            row = await self._one("SELECT * FROM paragraphs WHERE source_key = ?", (source_key,))
            record = _paragraph(row) if row else None
        assert record is not None
        return record, stored

    async def get(self, paragraph_id: str) -> ParagraphRecord | None:
        row = await self._one("SELECT * FROM paragraphs WHERE id = ?", (paragraph_id,))
        return _paragraph(row) if row else None

    async def by_source(self, source_key: str) -> ParagraphRecord | None:
        row = await self._one("SELECT * FROM paragraphs WHERE source_key = ?", (source_key,))
        return _paragraph(row) if row else None

    async def queued_count(self, channel_key: str, author_id: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM paragraphs WHERE channel_key = ? AND author_id = ?"
            " AND status = 'queued'",
            (channel_key, author_id),
        )
        return int(row["n"]) if row else 0

    async def set_status(self, paragraph_id: str, status: str, note: str = "") -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE paragraphs SET status = ?, note = ? WHERE id = ?",
                (status, note, paragraph_id),
            )

    async def page(
        self, channel_key: str, before_seq: int | None, limit: int
    ) -> list[ParagraphRecord]:
        bound = before_seq if before_seq is not None else 2**62
        rows = await self._all(
            "SELECT * FROM paragraphs WHERE channel_key = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (channel_key, bound, limit),
        )
        return [_paragraph(row) for row in reversed(rows)]

    async def unfinished(self) -> list[ParagraphRecord]:
        marks = ",".join("?" * len(UNFINISHED_STATUSES))
        rows = await self._all(
            f"SELECT * FROM paragraphs WHERE status IN ({marks}) ORDER BY posted_at, seq",
            UNFINISHED_STATUSES,
        )
        return [_paragraph(row) for row in rows]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _paragraph(row: aiosqlite.Row) -> ParagraphRecord:
    return ParagraphRecord(
        id=row["id"],
        channel_key=row["channel_key"],
        seq=row["seq"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        text=row["text"],
        status=row["status"],
        posted_at=datetime.fromisoformat(row["posted_at"]),
        note=row["note"],
        message_id=row["message_id"],
        source_key=row["source_key"],
    )
