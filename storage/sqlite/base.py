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
        async with self._db.execute(query, tuple(args)) as cursor:
            return list(await cursor.fetchall())

    async def _one(self, query: str, args: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._db.execute(query, tuple(args)) as cursor:
            return await cursor.fetchone()
