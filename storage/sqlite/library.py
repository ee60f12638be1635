"""SQLite repositories for a story's element library and its illustration history."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from storage.base import ElementRecord, HistoryRecord
from storage.codec import (
    looks_from_plain,
    looks_to_plain,
    optional_vector,
    utc_text,
    vector_from_bytes,
    vector_to_bytes,
)
from storage.sqlite.base import SQLiteRepository


class SQLiteElements(SQLiteRepository):
    async def list(self, channel_key: str) -> list[ElementRecord]:
        rows = await self._all(
            "SELECT * FROM elements WHERE channel_key = ? ORDER BY first_seen, name",
            (channel_key,),
        )
        return [_element(row) for row in rows]

    async def get(self, channel_key: str, name: str) -> ElementRecord | None:
        row = await self._one(
            "SELECT * FROM elements WHERE channel_key = ? AND name = ?", (channel_key, name)
        )
        return _element(row) if row else None

    async def put(self, record: ElementRecord) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO elements (channel_key, name, kind, feature, count,"
                " first_seen, last_seen, aliases, first_illustration_id, pinned, look, looks,"
                " description, pronoun)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.channel_key,
                    record.name,
                    record.kind,
                    vector_to_bytes(record.feature),
                    record.count,
                    utc_text(record.first_seen),
                    utc_text(record.last_seen),
                    json.dumps(list(record.aliases)),
                    record.first_illustration_id,
                    int(record.pinned),
                    None if record.look is None else vector_to_bytes(record.look),
                    json.dumps(looks_to_plain(record.references)),
                    record.description,
                    record.pronoun,
                ),
            )

    async def delete(self, channel_key: str, name: str) -> bool:
        async with self._write() as db:
            cursor = await db.execute(
                "DELETE FROM elements WHERE channel_key = ? AND name = ?", (channel_key, name)
            )
            return cursor.rowcount == 1


class SQLiteHistory(SQLiteRepository):
    async def get(self, channel_key: str) -> HistoryRecord | None:
        row = await self._one("SELECT * FROM history WHERE channel_key = ?", (channel_key,))
        if row is None:
            return None
        return HistoryRecord(
            channel_key=row["channel_key"],
            feature=vector_from_bytes(row["feature"]),
            count=row["count"],
            updated_at=datetime.fromisoformat(row["updated_at"]),
        )

    async def put(self, record: HistoryRecord) -> None:
        async with self._write() as db:
            await db.execute(
                "INSERT OR REPLACE INTO history (channel_key, feature, count, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (
                    record.channel_key,
                    vector_to_bytes(record.feature),
                    record.count,
                    utc_text(record.updated_at),
                ),
            )


def _element(row: aiosqlite.Row) -> ElementRecord:
    return ElementRecord(
        channel_key=row["channel_key"],
        name=row["name"],
        kind=row["kind"],
        feature=vector_from_bytes(row["feature"]),
        count=row["count"],
        first_seen=datetime.fromisoformat(row["first_seen"]),
        last_seen=datetime.fromisoformat(row["last_seen"]),
        aliases=tuple(json.loads(row["aliases"])),
        first_illustration_id=row["first_illustration_id"],
        pinned=bool(row["pinned"]),
        look=optional_vector(row["look"]),
        references=looks_from_plain(json.loads(row["looks"])),
        description=row["description"],
        pronoun=row["pronoun"],
    )
