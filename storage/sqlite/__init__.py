"""The embedded default backend: one SQLite file in WAL mode through aiosqlite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite

from storage.images import FileImageStore
from storage.sqlite.illustrations import SQLiteIllustrations
from storage.sqlite.library import SQLiteElements, SQLiteHistory
from storage.sqlite.records import SQLiteEditPairs, SQLiteFeedback, SQLiteJobs
from storage.sqlite.schema import ADDED_COLUMNS, SCHEMA
from storage.sqlite.story import SQLiteChannels, SQLiteParagraphs
from storage.sqlite.work import SQLiteDeliveries, SQLiteInbox

__all__ = ["SQLiteStorage"]


class SQLiteStorage:
    """All repositories over one connection; writes are serialised by one lock.

    Several processes may share the file: SQLite's own locking orders their writes and
    the busy timeout makes a writer wait for another instead of failing.
    """

    def __init__(self, db: aiosqlite.Connection, images_dir: Path) -> None:
        self._db = db
        lock = asyncio.Lock()
        self.channels = SQLiteChannels(db, lock)
        self.paragraphs = SQLiteParagraphs(db, lock)
        self.inbox = SQLiteInbox(db, lock)
        self.deliveries = SQLiteDeliveries(db, lock)
        self.illustrations = SQLiteIllustrations(db, lock)
        self.elements = SQLiteElements(db, lock)
        self.history = SQLiteHistory(db, lock)
        self.feedback = SQLiteFeedback(db, lock)
        self.edit_pairs = SQLiteEditPairs(db, lock)
        self.jobs = SQLiteJobs(db, lock)
        self.images = FileImageStore(images_dir)

    @classmethod
    async def open(cls, path: Path, images_dir: Path) -> SQLiteStorage:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, timeout=30, isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=30000")
        await _add_missing_columns(db)
        await db.executescript(SCHEMA)
        await db.commit()
        return cls(db, images_dir)

    async def close(self) -> None:
        await self._db.close()


async def _add_missing_columns(db: aiosqlite.Connection) -> None:
    """Bring a database made by an older version up to the current tables."""
    for table, column, definition in ADDED_COLUMNS:
        existing = {row[1] for row in await db.execute_fetchall(f"PRAGMA table_info({table})")}
        if existing and column not in existing:
            await db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
