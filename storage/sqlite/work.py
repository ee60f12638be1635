"""SQLite repositories for work in flight: the inbox and the record of deliveries."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import aiosqlite

from storage.base import Delivery, InboxItem, due_in_order
from storage.codec import utc_text
from storage.sqlite.base import SQLiteRepository


class SQLiteInbox(SQLiteRepository):
    async def add(
        self, channel_key: str, kind: str, payload: dict[str, Any], dedupe_key: str, now: datetime
    ) -> InboxItem:
        async with self._write() as db:
            await db.execute(
                "INSERT OR IGNORE INTO inbox (id, channel_key, seq, kind, payload, status,"
                " next_attempt_at, created_at, dedupe_key) SELECT ?, ?,"
                " COALESCE(MAX(seq), 0) + 1, ?, ?, 'pending', ?, ?, ? FROM inbox"
                " WHERE channel_key = ?",
                (
                    uuid.uuid4().hex,
                    channel_key,
                    kind,
                    json.dumps(payload),
                    utc_text(now),
                    utc_text(now),
                    dedupe_key,
                    channel_key,
                ),
            )
        row = await self._one("SELECT * FROM inbox WHERE dedupe_key = ?", (dedupe_key,))
        assert row is not None
        return _item(row)

    async def due(self, channel_key: str, now: datetime, limit: int = 10) -> list[InboxItem]:
        rows = await self._all(
            "SELECT * FROM inbox WHERE channel_key = ? AND status = 'pending' ORDER BY seq LIMIT ?",
            (channel_key, limit),
        )
        return due_in_order([_item(row) for row in rows], now)

    async def pending_count(self, channel_key: str) -> int:
        row = await self._one(
            "SELECT COUNT(*) AS n FROM inbox WHERE channel_key = ? AND status = 'pending'",
            (channel_key,),
        )
        return int(row["n"]) if row else 0

    async def channels_with_due(self, now: datetime) -> list[str]:
        rows = await self._all(
            "SELECT DISTINCT channel_key FROM inbox WHERE status = 'pending'"
            " AND next_attempt_at <= ?",
            (utc_text(now),),
        )
        return [row["channel_key"] for row in rows]

    async def mark_done(self, item_id: str) -> None:
        await self._set(item_id, "status = 'done'", ())

    async def mark_retry(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        await self._set(
            item_id,
            "attempts = attempts + 1, next_attempt_at = ?, error = ?",
            (utc_text(next_attempt_at), error),
        )

    async def mark_failed(self, item_id: str, error: str) -> None:
        await self._set(item_id, "status = 'failed', attempts = attempts + 1, error = ?", (error,))

    async def prune(self, finished_before: datetime) -> int:
        async with self._write() as db:
            cursor = await db.execute(
                "DELETE FROM inbox WHERE status IN ('done', 'failed') AND created_at < ?",
                (utc_text(finished_before),),
            )
            return cursor.rowcount

    async def _set(self, item_id: str, assignments: str, args: tuple) -> None:
        async with self._write() as db:
            await db.execute(f"UPDATE inbox SET {assignments} WHERE id = ?", (*args, item_id))


class SQLiteDeliveries(SQLiteRepository):
    async def record_intent(self, delivery_id: str, channel_key: str, now: datetime) -> Delivery:
        async with self._write() as db:
            await db.execute(
                "INSERT OR IGNORE INTO deliveries (id, channel_key, status, updated_at)"
                " VALUES (?, ?, 'intent', ?)",
                (delivery_id, channel_key, utc_text(now)),
            )
        found = await self.get(delivery_id)
        assert found is not None
        return found

    async def record_posted(
        self, delivery_id: str, message_ids: tuple[str, ...], now: datetime
    ) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE deliveries SET status = 'posted', message_ids = ?, updated_at = ?"
                " WHERE id = ?",
                (json.dumps(list(message_ids)), utc_text(now), delivery_id),
            )

    async def get(self, delivery_id: str) -> Delivery | None:
        row = await self._one("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        if row is None:
            return None
        return Delivery(
            id=row["id"],
            channel_key=row["channel_key"],
            status=row["status"],
            message_ids=tuple(json.loads(row["message_ids"])),
            updated_at=datetime.fromisoformat(row["updated_at"]),
        )


def _item(row: aiosqlite.Row) -> InboxItem:
    return InboxItem(
        id=row["id"],
        channel_key=row["channel_key"],
        seq=row["seq"],
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=datetime.fromisoformat(row["next_attempt_at"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        dedupe_key=row["dedupe_key"],
        error=row["error"],
    )
