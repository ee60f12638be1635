"""Element-library lookup and update cost for one 50-element story, among 10 vs 10,000 stories.

Run: .venv/bin/python -m bench.storage [--small 10] [--large 10000] [--dim 512]
Prints per-operation medians for each size and their ratio (near 1 means the cost does not
grow with the number of stories). SQLite always; MongoDB too when MONGODB_URI is set.
The large store is filled with bulk inserts (setup, not measured), then measured through
the same repository calls the story loop makes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from storage.base import ElementRecord, Storage
from storage.codec import utc_text, vector_to_bytes
from storage.sqlite import SQLiteStorage

ELEMENTS = 50
KINDS = ("character", "environment", "prop")
NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _rows(channels: int, dim: int):
    rng = np.random.default_rng(0)
    for channel in range(channels):
        for element in range(ELEMENTS):
            yield (
                f"bench:{channel}",
                f"element {element}",
                KINDS[element % 3],
                vector_to_bytes(rng.standard_normal(dim, dtype=np.float32)),
                1,
                utc_text(NOW),
                utc_text(NOW),
            )


async def fill_sqlite(store: SQLiteStorage, channels: int, dim: int) -> None:
    db = store._db  # bench set-up only: one bulk transaction instead of 500,000 puts
    await db.execute("BEGIN")
    await db.executemany(
        "INSERT INTO elements (channel_key, name, kind, feature, count, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        _rows(channels, dim),
    )
    await db.execute("COMMIT")


async def fill_mongo(store, channels: int, dim: int) -> None:
    collection = store._db.get_collection("elements")  # bench set-up only
    batch = []
    for row in _rows(channels, dim):
        batch.append(
            {
                "_id": f"{row[0]}\x1f{row[1]}",
                "channel_key": row[0],
                "name": row[1],
                "kind": row[2],
                "feature": row[3],
                "count": 1,
                "first_seen": NOW.replace(tzinfo=None),
                "last_seen": NOW.replace(tzinfo=None),
                "aliases": [],
                "pinned": False,
            }
        )
        if len(batch) == 5000:
            await collection.insert_many(batch)
            batch = []
    if batch:
        await collection.insert_many(batch)


async def measure(store: Storage, channels: int, dim: int, rounds: int) -> tuple[float, float]:
    """Median seconds of one library lookup and of one element update, in a middle story."""
    key = f"bench:{channels // 2}"
    lookups, updates = [], []
    rng = np.random.default_rng(1)
    for round_ in range(rounds):
        started = time.perf_counter()
        library = await store.elements.list(key)
        lookups.append(time.perf_counter() - started)
        assert len(library) == ELEMENTS
        element = library[round_ % ELEMENTS]
        updated = ElementRecord(
            **{
                **element.__dict__,
                "feature": 0.6 * element.feature + 0.4 * rng.standard_normal(dim, np.float32),
                "count": element.count + 1,
                "last_seen": NOW,
            }
        )
        started = time.perf_counter()
        await store.elements.put(updated)
        updates.append(time.perf_counter() - started)
    return statistics.median(lookups), statistics.median(updates)


async def run_sqlite(channels: int, dim: int, rounds: int, root: Path) -> tuple[float, float]:
    folder = root / f"sqlite-{channels}"
    store = await SQLiteStorage.open(folder / "bench.sqlite3", folder / "images")
    try:
        await fill_sqlite(store, channels, dim)
        return await measure(store, channels, dim, rounds)
    finally:
        await store.close()


async def run_mongo(uri: str, channels: int, dim: int, rounds: int) -> tuple[float, float]:
    from storage.mongo import MongoStorage

    name = f"inkwell_bench_{uuid.uuid4().hex[:8]}"
    store = await MongoStorage.connect(uri, name)
    try:
        await fill_mongo(store, channels, dim)
        return await measure(store, channels, dim, rounds)
    finally:
        await store._client.drop_database(name)
        await store.close()


def report(backend: str, small: int, large: int, results: dict[int, tuple[float, float]]) -> None:
    (small_lookup, small_update), (large_lookup, large_update) = results[small], results[large]
    print(f"{backend}: library of {ELEMENTS} elements in one story")
    print(
        f"  lookup  {small:>6} stories {small_lookup * 1e3:7.3f} ms   {large:>6} stories "
        f"{large_lookup * 1e3:7.3f} ms   ratio {large_lookup / small_lookup:.2f}"
    )
    print(
        f"  update  {small:>6} stories {small_update * 1e3:7.3f} ms   {large:>6} stories "
        f"{large_update * 1e3:7.3f} ms   ratio {large_update / small_update:.2f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512, help="feature size (CLIP ViT-B-32: 512)")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        results = {
            size: await run_sqlite(size, args.dim, args.rounds, Path(scratch))
            for size in (args.small, args.large)
        }
    report("sqlite", args.small, args.large, results)
    uri = os.environ.get("MONGODB_URI")
    if uri:
        results = {
            size: await run_mongo(uri, size, args.dim, args.rounds)
            for size in (args.small, args.large)
        }
        report("mongodb", args.small, args.large, results)
    else:
        print("mongodb: skipped (set MONGODB_URI to measure it)")


if __name__ == "__main__":
    asyncio.run(main())
