"""What every SQLite repository shares: the connection, the write lock, explicit transactions."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite


class SQLiteRepository:
    def __init__(self, db: aiosqlite.Connection, lock: asyncio.Lock) -> None:
        self._db = db
        self._lock = lock

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, taken IMMEDIATE so a read-then-write can't interleave with
        another process's write (the connection runs in autocommit mode otherwise)."""
        async with self._lock:
            try:
                await self._db.execute("BEGIN IMMEDIATE")
                yield self._db
            except BaseException:
                # Also when cancelled while BEGIN was still queued on aiosqlite's thread: the
                # rollback queues behind it there, so an opened transaction is always closed.
                with contextlib.suppress(sqlite3.OperationalError):
                    await asyncio.shield(self._db.execute("ROLLBACK"))
                raise
            await self._db.execute("COMMIT")

    async def _all(self, query: str, args: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # Executed and fetched in one call on aiosqlite's thread: a cursor left open across an
        # await would hold a read snapshot that makes another task's BEGIN IMMEDIATE fail with
        # "database is locked" (no busy wait) once a second process has written.
        return list(await self._db.execute_fetchall(query, tuple(args)))

    async def _one(self, query: str, args: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self._all(query, args)
        return rows[0] if rows else None
