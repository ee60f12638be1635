"""SQLite repository of illustrations: pictures, provenance, edit chains, posted messages."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from storage.base import IllustrationRecord
from storage.codec import utc_text, vector_from_bytes, vector_to_bytes
from storage.sqlite.base import SQLiteRepository


class SQLiteIllustrations(SQLiteRepository):
    async def add(self, record: IllustrationRecord) -> None:
        await self.add_many([record])

    async def add_many(self, records: list[IllustrationRecord]) -> None:
        async with self._write() as db:
            await db.executemany(
                "INSERT OR IGNORE INTO illustrations (id, channel_key, paragraph_id,"
                " sentence_index, text, image_id, score, provenance, clip_feature, created_at,"
                " parent_id, platform_message_ids, image_bytes, undone)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [_illustration_row(record) for record in records],
            )

    async def for_paragraphs(self, paragraph_ids: list[str]) -> dict[str, list[IllustrationRecord]]:
        found: dict[str, list[IllustrationRecord]] = {pid: [] for pid in paragraph_ids}
        if not paragraph_ids:
            return found
        marks = ",".join("?" * len(paragraph_ids))
        rows = await self._all(
            f"SELECT * FROM illustrations WHERE paragraph_id IN ({marks})"
            " ORDER BY sentence_index, created_at",
            paragraph_ids,
        )
        for row in rows:
            found[row["paragraph_id"]].append(_illustration(row))
        return found

    async def image_bytes(self, channel_key: str) -> int:
        row = await self._one(
            "SELECT COALESCE(SUM(image_bytes), 0) AS total FROM illustrations"
            " WHERE channel_key = ?",
            (channel_key,),
        )
        return int(row["total"]) if row else 0

    async def oldest_with_images(self, channel_key: str, limit: int) -> list[IllustrationRecord]:
        rows = await self._all(
            "SELECT * FROM illustrations WHERE channel_key = ? AND image_bytes > 0"
            " ORDER BY created_at, id LIMIT ?",
            (channel_key, limit),
        )
        return [_illustration(row) for row in rows]

    async def forget_image(self, illustration_id: str) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE illustrations SET image_id = '', image_bytes = 0 WHERE id = ?",
                (illustration_id,),
            )

    async def get(self, illustration_id: str) -> IllustrationRecord | None:
        row = await self._one("SELECT * FROM illustrations WHERE id = ?", (illustration_id,))
        return None if row is None else _illustration(row)

    async def record_message(
        self, illustration_ids: list[str], platform: str, message_id: str
    ) -> None:
        path = f'$."{platform}"'
        async with self._write() as db:
            # Appended to the platform's list, made empty first when it has none yet.
            await db.executemany(
                "UPDATE illustrations SET platform_message_ids = json_insert("
                " json_insert(platform_message_ids, ?, json('[]')), ? || '[#]', ?) WHERE id = ?",
                [(path, path, message_id, identifier) for identifier in illustration_ids],
            )

    async def by_message(
        self, channel_key: str, platform: str, message_id: str
    ) -> list[IllustrationRecord]:
        rows = await self._all(
            "SELECT * FROM illustrations WHERE channel_key = ?"
            " AND EXISTS (SELECT 1 FROM json_each(platform_message_ids, ?) WHERE value = ?)"
            " ORDER BY sentence_index, created_at",
            (channel_key, f'$."{platform}"', message_id),
        )
        return [_illustration(row) for row in rows]

    async def children(self, parent_id: str) -> list[IllustrationRecord]:
        rows = await self._all(
            "SELECT * FROM illustrations WHERE parent_id = ? ORDER BY created_at, id",
            (parent_id,),
        )
        return [_illustration(row) for row in rows]

    async def set_undone(self, illustration_id: str, undone: bool) -> None:
        async with self._write() as db:
            await db.execute(
                "UPDATE illustrations SET undone = ? WHERE id = ?", (int(undone), illustration_id)
            )


def _illustration_row(record: IllustrationRecord) -> tuple:
    feature = None if record.clip_feature is None else vector_to_bytes(record.clip_feature)
    return (
        record.id,
        record.channel_key,
        record.paragraph_id,
        record.sentence_index,
        record.text,
        record.image_id,
        record.score,
        json.dumps(record.provenance),
        feature,
        utc_text(record.created_at),
        record.parent_id,
        json.dumps(record.platform_message_ids),
        record.image_bytes,
        int(record.undone),
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
        clip_feature=None if blob is None else vector_from_bytes(blob),
        created_at=datetime.fromisoformat(row["created_at"]),
        parent_id=row["parent_id"],
        platform_message_ids=json.loads(row["platform_message_ids"]),
        image_bytes=row["image_bytes"],
        undone=bool(row["undone"]),
    )
