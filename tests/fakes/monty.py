"""A test-only async face on montydb, so the Mongo backend's queries run where no MongoDB can.

montydb (pymongo-compatible, sqlite storage) is synchronous; these wrappers give it the
slice of PyMongo's async API that storage/mongo uses. montydb ignores write concerns and
does not enforce unique indexes; the Mongo code must not depend on either to be correct
on one process (it finds before inserting), which is what these tests can show.
"""

from __future__ import annotations

from typing import Any


class AsyncMontyCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, keys: list[tuple[str, int]]) -> AsyncMontyCursor:
        self._cursor = self._cursor.sort(keys)
        return self

    def limit(self, count: int) -> AsyncMontyCursor:
        self._cursor = self._cursor.limit(count)
        return self

    async def to_list(self, length: int | None) -> list[dict[str, Any]]:
        documents = list(self._cursor)
        return documents if length is None else documents[:length]


class AsyncMontyCollection:
    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def find(self, *args: Any, **kwargs: Any) -> AsyncMontyCursor:
        return AsyncMontyCursor(self._collection.find(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._collection, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **kwargs)

        return call


class AsyncMontyDatabase:
    def __init__(self, database: Any) -> None:
        self._database = database

    def get_collection(self, name: str, **_options: Any) -> AsyncMontyCollection:
        return AsyncMontyCollection(self._database.get_collection(name))
