"""Storage backends behind one contract, chosen by name from an explicit map."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from storage.base import Storage


async def _open_sqlite(data_dir: Path, options: dict[str, str]) -> Storage:
    from storage.sqlite import SQLiteStorage

    path = Path(options.get("path") or data_dir / "inkwell.sqlite3")
    return await SQLiteStorage.open(path, data_dir / "images")


async def _open_mongodb(data_dir: Path, options: dict[str, str]) -> Storage:
    from storage.mongo import MongoStorage

    uri = options.get("uri")
    if not uri:
        raise ValueError("the mongodb backend needs the MONGODB_URI environment variable")
    return await MongoStorage.connect(uri, options.get("database") or "inkwell")


BACKENDS: dict[str, Callable[[Path, dict[str, str]], Awaitable[Storage]]] = {
    "sqlite": _open_sqlite,
    "mongodb": _open_mongodb,
}


async def open_storage(backend: str, data_dir: Path, options: dict[str, str]) -> Storage:
    try:
        opener = BACKENDS[backend]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown storage backend {backend!r} (known: {known})") from None
    return await opener(data_dir, options)
