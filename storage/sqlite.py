"""The embedded default backend: one SQLite file in WAL mode through aiosqlite."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import numpy as np

from storage.base import (
    UNFINISHED_STATUSES,
    ChannelRecord,
    IllustrationRecord,
    ParagraphRecord,
)
from storage.images import FileImageStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (
    key TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    thread_id TEXT,
    title TEXT NOT NULL,
    created_at TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS paragraphs (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL REFERENCES channels(key),
    seq INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    posted_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    message_id TEXT,
    UNIQUE (channel_key, seq)
);
CREATE INDEX IF NOT EXISTS paragraphs_status ON paragraphs(status);
CREATE TABLE IF NOT EXISTS illustrations (
    id TEXT PRIMARY KEY,
    channel_key TEXT NOT NULL,
    paragraph_id TEXT NOT NULL REFERENCES paragraphs(id),
    sentence_index INTEGER NOT NULL,
    text TEXT NOT NULL,
    image_id TEXT NOT NULL,
    score REAL NOT NULL,
    provenance TEXT NOT NULL,
    clip_feature BLOB,
    created_at TEXT NOT NULL,
    parent_id TEXT,
    platform_message_ids TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS illustrations_paragraph ON illustrations(paragraph_id);
"""


class SQLiteStorage:
    """All repositories over one connection; writes are serialised by a lock."""

    def __init__(self, db: aiosqlite.Connection, images_dir: Path) -> None:
        self._db = db
        self._write_lock = asyncio.Lock()
        self.channels = SQLiteChannels(db, self._write_lock)
        self.paragraphs = SQLiteParagraphs(db, self._write_lock)
        self.illustrations = SQLiteIllustrations(db, self._write_lock)
        self.images = FileImageStore(images_dir)

    @classmethod
    async def open(cls, path: Path, images_dir: Path) -> SQLiteStorage:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.executescript(SCHEMA)
        await db.commit()
        return cls(db, images_dir)

    async def close(self) -> None:
        await self._db.close()


class SQLiteChannels:
    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    async def ensure(
        self, key: str, platform: str, channel_id: str, thread_id: str | None, title: str
    ) -> ChannelRecord:
        async with self._lock:
            await self._db.execute(
                "INSERT OR IGNORE INTO channels"
                " (key, platform, channel_id, thread_id, title, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, platform, channel_id, thread_id, title, _now()),
            )
            await self._db.commit()
        record = await self.get(key)
        assert record is not None
        return record

    async def get(self, key: str) -> ChannelRecord | None:
        rows = await self._select("WHERE c.key = ?", (key,))
        return rows[0] if rows else None

    async def list_for_platform(self, platform: str) -> list[ChannelRecord]:
        return await self._select("WHERE c.platform = ? ORDER BY c.created_at", (platform,))

    async def update_settings(self, key: str, changes: dict[str, Any]) -> ChannelRecord:
        async with self._lock:
            async with self._db.execute(
                "SELECT settings FROM channels WHERE key = ?", (key,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                raise KeyError(f"no channel {key!r}")
            settings = json.loads(row["settings"])
            for name, value in changes.items():
                if value is None:
                    settings.pop(name, None)
                else:
                    settings[name] = value
            await self._db.execute(
                "UPDATE channels SET settings = ? WHERE key = ?", (json.dumps(settings), key)
            )
            await self._db.commit()
        record = await self.get(key)
        assert record is not None
        return record

    async def _select(self, where: str, args: tuple) -> list[ChannelRecord]:
        query = (
            "SELECT c.*, (SELECT COUNT(*) FROM paragraphs p WHERE p.channel_key = c.key)"
            f" AS paragraph_count FROM channels c {where}"
        )
        async with self._db.execute(query, args) as cursor:
            rows = await cursor.fetchall()
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
            )
            for row in rows
        ]


class SQLiteParagraphs:
    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    async def add(
        self,
        channel_key: str,
        author_id: str,
        author_name: str,
        text: str,
        posted_at: datetime,
        message_id: str | None = None,
    ) -> ParagraphRecord:
        paragraph_id = uuid.uuid4().hex
        async with self._lock:
            # Numbering inside the insert keeps two posts in the same instant distinct.
            await self._db.execute(
                "INSERT INTO paragraphs (id, channel_key, seq, author_id, author_name, text,"
                " status, posted_at, message_id) SELECT ?, ?, COALESCE(MAX(seq), 0) + 1,"
                " ?, ?, ?, 'queued', ?, ? FROM paragraphs WHERE channel_key = ?",
                (
                    paragraph_id,
                    channel_key,
                    author_id,
                    author_name,
                    text,
                    posted_at.isoformat(),
                    message_id,
                    channel_key,
                ),
            )
            await self._db.commit()
        record = await self.get(paragraph_id)
        assert record is not None
        return record

    async def get(self, paragraph_id: str) -> ParagraphRecord | None:
        async with self._db.execute(
            "SELECT * FROM paragraphs WHERE id = ?", (paragraph_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _paragraph(row) if row else None

    async def set_status(self, paragraph_id: str, status: str, note: str = "") -> None:
        async with self._lock:
            await self._db.execute(
                "UPDATE paragraphs SET status = ?, note = ? WHERE id = ?",
                (status, note, paragraph_id),
            )
            await self._db.commit()

    async def page(
        self, channel_key: str, before_seq: int | None, limit: int
    ) -> list[ParagraphRecord]:
        bound = before_seq if before_seq is not None else 2**62
        async with self._db.execute(
            "SELECT * FROM paragraphs WHERE channel_key = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (channel_key, bound, limit),
        ) as cursor:
            rows = await cursor.fetchall()
        return [_paragraph(row) for row in reversed(rows)]

    async def unfinished(self) -> list[ParagraphRecord]:
        marks = ",".join("?" * len(UNFINISHED_STATUSES))
        async with self._db.execute(
            f"SELECT * FROM paragraphs WHERE status IN ({marks}) ORDER BY posted_at, seq",
            UNFINISHED_STATUSES,
        ) as cursor:
            rows = await cursor.fetchall()
        return [_paragraph(row) for row in rows]


class SQLiteIllustrations:
    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    async def add(self, record: IllustrationRecord) -> None:
        feature = (
            None
            if record.clip_feature is None
            else np.asarray(record.clip_feature, dtype=np.float32).tobytes()
        )
        async with self._lock:
            await self._db.execute(
                "INSERT INTO illustrations (id, channel_key, paragraph_id, sentence_index, text,"
                " image_id, score, provenance, clip_feature, created_at, parent_id,"
                " platform_message_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.channel_key,
                    record.paragraph_id,
                    record.sentence_index,
                    record.text,
                    record.image_id,
                    record.score,
                    json.dumps(record.provenance),
                    feature,
                    record.created_at.isoformat(),
                    record.parent_id,
                    json.dumps(record.platform_message_ids),
                ),
            )
            await self._db.commit()

    async def for_paragraphs(self, paragraph_ids: list[str]) -> dict[str, list[IllustrationRecord]]:
        found: dict[str, list[IllustrationRecord]] = {pid: [] for pid in paragraph_ids}
        if not paragraph_ids:
            return found
        marks = ",".join("?" * len(paragraph_ids))
        async with self._db.execute(
            f"SELECT * FROM illustrations WHERE paragraph_id IN ({marks})"
            " ORDER BY sentence_index, created_at",
            paragraph_ids,
        ) as cursor:
            rows = await cursor.fetchall()
        for row in rows:
            found[row["paragraph_id"]].append(_illustration(row))
        return found


def _now() -> str:
    return datetime.now().astimezone().isoformat()


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
    )


def _illustration(row: aiosqlite.Row) -> IllustrationRecord:
    blob = row["clip_feature"]
    return IllustrationRecord(
        id=row["id"],
        channel_key=row["channel_key"],
        paragraph_id=row["paragraph_id"],
        sentence_index=row["sentence_index"],
        text=row["text"],
        image_id=row["image_id"],
        score=row["score"],
        provenance=json.loads(row["provenance"]),
        clip_feature=None if blob is None else np.frombuffer(blob, dtype=np.float32).copy(),
        created_at=datetime.fromisoformat(row["created_at"]),
        parent_id=row["parent_id"],
        platform_message_ids=json.loads(row["platform_message_ids"]),
    )
