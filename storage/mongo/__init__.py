"""The MongoDB backend through PyMongo's async API; image bytes in GridFS."""

from __future__ import annotations

from typing import Any

from storage.base import ImageStore
from storage.mongo.illustrations import MongoIllustrations
from storage.mongo.library import MongoElements, MongoHistory
from storage.mongo.records import MongoEditPairs, MongoFeedback, MongoJobs
from storage.mongo.story import MongoChannels, MongoParagraphs
from storage.mongo.work import MongoDeliveries, MongoInbox

__all__ = ["MongoStorage"]

# (collection, keys, options): created at start; creating an existing index is a no-op.
INDEXES: list[tuple[str, list[tuple[str, int]], dict[str, Any]]] = [
    ("channels", [("platform", 1), ("created_at", 1)], {}),
    ("paragraphs", [("channel_key", 1), ("seq", 1)], {"unique": True}),
    ("paragraphs", [("status", 1)], {}),
    ("paragraphs", [("channel_key", 1), ("author_id", 1), ("status", 1)], {}),
    ("paragraphs", [("source_key", 1)], {"unique": True, "sparse": True}),
    ("inbox", [("dedupe_key", 1)], {"unique": True}),
    ("inbox", [("channel_key", 1), ("seq", 1)], {"unique": True}),
    ("inbox", [("status", 1), ("channel_key", 1), ("next_attempt_at", 1)], {}),
    ("illustrations", [("paragraph_id", 1), ("sentence_index", 1)], {}),
    ("illustrations", [("channel_key", 1), ("created_at", 1)], {}),
    ("illustrations", [("parent_id", 1)], {}),
    ("elements", [("channel_key", 1), ("first_seen", 1)], {}),
    ("feedback", [("channel_key", 1), ("created_at", 1)], {}),
    ("edit_pairs", [("channel_key", 1), ("created_at", 1)], {}),
    ("jobs", [("kind", 1), ("created_at", -1)], {}),
]


class MongoStorage:
    """Repositories over one database. `db` is a pymongo AsyncDatabase (or a compatible one)."""

    def __init__(self, db: Any, images: ImageStore, client: Any = None) -> None:
        self._client = client
        self.channels = MongoChannels(db)
        self.paragraphs = MongoParagraphs(db)
        self.inbox = MongoInbox(db)
        self.deliveries = MongoDeliveries(db)
        self.illustrations = MongoIllustrations(db)
        self.elements = MongoElements(db)
        self.history = MongoHistory(db)
        self.feedback = MongoFeedback(db)
        self.edit_pairs = MongoEditPairs(db)
        self.jobs = MongoJobs(db)
        self.images = images
        self._db = db

    @classmethod
    async def connect(cls, uri: str, database: str) -> MongoStorage:
        from pymongo import AsyncMongoClient

        from storage.mongo.gridfs import GridFSImageStore

        client: AsyncMongoClient = AsyncMongoClient(uri, tz_aware=False)
        db = client[database]
        storage = cls(db, GridFSImageStore(db), client)
        await storage.create_indexes()
        return storage

    async def create_indexes(self) -> None:
        for collection, keys, options in INDEXES:
            await self._db.get_collection(collection).create_index(keys, **options)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
