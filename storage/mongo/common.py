"""Helpers the Mongo repositories share: naive-UTC times, counters, vectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from storage.codec import utc


def stored_time(moment: datetime) -> datetime:
    """BSON dates carry no zone: store naive UTC, as PyMongo returns them."""
    return utc(moment).replace(tzinfo=None)


def loaded_time(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


async def next_seq(db: Any, counter: str) -> int:
    """An atomic per-name counter, so numbering holds across bot processes."""
    document = await db.get_collection("counters").find_one_and_update(
        {"_id": counter},
        {"$inc": {"seq": 1}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return int(document["seq"])
