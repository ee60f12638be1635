"""The storage contract runs on every backend: SQLite, montydb through the Mongo code, and a
real MongoDB when MONGODB_URI is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from storage.base import Storage
from storage.images import FileImageStore

BACKENDS = ["sqlite", "montydb", "mongodb"]


@pytest_asyncio.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_backend(request.param, tmp_path)
    yield opened
    client = getattr(opened, "_client", None)
    if request.param == "mongodb" and client is not None:
        await client.drop_database(opened._db.name)
    await opened.close()


async def open_backend(name: str, path: Path) -> Storage:
    if name == "sqlite":
        from storage.sqlite import SQLiteStorage

        return await SQLiteStorage.open(path / "db.sqlite3", path / "images")
    if name == "montydb":
        from montydb import MontyClient

        from storage.mongo import MongoStorage
        from tests.fakes.monty import AsyncMontyDatabase

        client = MontyClient(str(path / "monty"), storage="sqlite")
        storage = MongoStorage(
            AsyncMontyDatabase(client.get_database("inkwell")), FileImageStore(path / "images")
        )
        await storage.create_indexes()
        return storage
    uri = os.environ.get("MONGODB_URI")
    if not uri:
        pytest.skip("MONGODB_URI is not set: no MongoDB server to run the contract against")
    from storage.mongo import MongoStorage

    return await MongoStorage.connect(uri, f"inkwell_test_{uuid.uuid4().hex[:8]}")
