"""A story exported from one backend and imported into another reads back the same."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.transfer import TransferError, describe, export_story, import_story
from storage.base import ElementLook, ElementRecord, HistoryRecord, IllustrationRecord, Storage
from storage.sqlite import SQLiteStorage
from tests.storage.conftest import open_backend

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


async def _story(store: Storage) -> None:
    await store.channels.ensure("web:Harbor", "web", "Harbor", None, "Harbor")
    await store.channels.update_settings("web:Harbor", {"style_strength": 0.5})
    for number in range(3):
        paragraph = await store.paragraphs.add("web:Harbor", "u", "Ana", f"Scene {number}.", NOW)
        await store.paragraphs.set_status(paragraph.id, "done", f"note {number}")
        image_id = await store.images.put(f"png {number}".encode())
        await store.illustrations.add_many(
            [
                IllustrationRecord(
                    id=f"{paragraph.id}:0",
                    channel_key="web:Harbor",
                    paragraph_id=paragraph.id,
                    sentence_index=0,
                    text=f"Scene {number}.",
                    image_id=image_id,
                    score=0.25 + number,
                    provenance={"seed": number},
                    clip_feature=np.full(4, number, np.float32),
                    created_at=NOW,
                )
            ]
        )
    crop = await store.images.put(b"\x89PNG gull crop")
    await store.elements.put(
        ElementRecord(
            "web:Harbor",
            "gull",
            "character",
            np.ones(4, np.float32),
            2,
            NOW,
            NOW,
            look=np.full(4, 0.5, np.float32),
            references=(ElementLook(crop, np.ones(4, np.float32), None),),
            description="white, with a hat",
            pronoun="she",
        )
    )
    await store.history.put(HistoryRecord("web:Harbor", np.zeros(4, np.float32), 3, NOW))


async def _read(store: Storage, key: str) -> dict:
    paragraphs = await store.paragraphs.page(key, None, 50)
    drawn = await store.illustrations.for_paragraphs([p.id for p in paragraphs])
    return {
        "paragraphs": [(p.seq, p.text, p.status, p.note, p.posted_at) for p in paragraphs],
        "pictures": [
            (
                r.text,
                r.score,
                r.provenance,
                r.clip_feature.tolist(),
                await store.images.get(r.image_id),
            )
            for p in paragraphs
            for r in drawn[p.id]
        ],
        "elements": [
            (
                e.name,
                e.kind,
                e.count,
                e.description,
                e.pronoun,
                e.look.tolist(),
                [await store.images.get(r.image_id) for r in e.references],
            )
            for e in await store.elements.list(key)
        ],
        "history": (await store.history.get(key)).count,
        "settings": (await store.channels.get(key)).settings,
    }


@pytest.mark.asyncio
async def test_a_story_moves_from_sqlite_to_mongo_and_back(tmp_path: Path) -> None:
    sqlite = await open_backend("sqlite", tmp_path / "a")
    mongo = await open_backend("montydb", tmp_path / "b")
    await _story(sqlite)
    first = tmp_path / "harbor.zip"
    assert await export_story(sqlite, "web:Harbor", first) == 3
    assert describe(first) == "web:Harbor: 3 paragraphs, 3 illustrations, 1 elements"

    assert await import_story(mongo, first) == "web:Harbor"
    assert await _read(mongo, "web:Harbor") == await _read(sqlite, "web:Harbor")

    second = tmp_path / "again.zip"
    await export_story(mongo, "web:Harbor", second)
    key = await import_story(sqlite, second, as_channel="Harbor copy")
    assert key == "web:Harbor copy"
    assert await _read(sqlite, key) == await _read(sqlite, "web:Harbor")
    await sqlite.close()
    await mongo.close()


@pytest.mark.asyncio
async def test_importing_over_a_story_or_a_stranger_file_is_refused(tmp_path: Path) -> None:
    store = await open_backend("sqlite", tmp_path)
    await _story(store)
    archive = tmp_path / "harbor.zip"
    await export_story(store, "web:Harbor", archive)
    with pytest.raises(TransferError, match="already has paragraphs"):
        await import_story(store, archive)
    with pytest.raises(TransferError, match="no story"):
        await export_story(store, "web:Nowhere", tmp_path / "x.zip")
    stranger = tmp_path / "stranger.zip"
    with zipfile.ZipFile(stranger, "w") as handle:
        handle.writestr("story.json", '{"format": "something else"}')
    with pytest.raises(TransferError, match="not an Inkwell story"):
        await import_story(store, stranger)
    await store.close()


def test_the_command_line_exports_and_imports_a_room(tmp_path: Path, capsys) -> None:
    import asyncio

    from bot.cli import main

    async def make() -> None:
        # Where `python -m bot --data-dir` keeps its SQLite story store.
        store = await SQLiteStorage.open(tmp_path / "inkwell.sqlite3", tmp_path / "images")
        await _story(store)
        await store.close()

    asyncio.run(make())
    out = tmp_path / "harbor.zip"
    assert main(["--data-dir", str(tmp_path), "export", "Harbor", "--out", str(out)]) == 0
    assert main(["--data-dir", str(tmp_path), "import", str(out), "--as", "Harbor copy"]) == 0
    assert main(["--data-dir", str(tmp_path), "import", str(out), "--as", "Harbor copy"]) == 2
    printed = capsys.readouterr()
    assert "exported web:Harbor: 3 paragraphs" in printed.out
    assert "as web:Harbor copy" in printed.out
    assert "already has paragraphs" in printed.err
