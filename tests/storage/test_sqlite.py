"""What only the SQLite backend promises: the file survives a reopen, ids never become paths."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage import open_storage
from storage.sqlite import SQLiteStorage

NOW = datetime(2026, 11, 24, tzinfo=UTC)


async def _open(tmp_path: Path) -> SQLiteStorage:
    return await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")


@pytest.mark.asyncio
async def test_everything_survives_reopening(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    await store.channels.ensure("web:tale", "web", "tale", None, "tale")
    paragraph = await store.paragraphs.add("web:tale", "u1", "Ana", "A fox.", NOW)
    await store.inbox.add("web:tale", "illustrate", {"paragraph_id": paragraph.id}, "d", NOW)
    await store.close()

    store = await _open(tmp_path)
    assert [p.text for p in await store.paragraphs.page("web:tale", None, 10)] == ["A fox."]
    assert await store.inbox.pending_count("web:tale") == 1
    await store.close()


@pytest.mark.asyncio
async def test_image_ids_never_become_paths(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    (tmp_path / "secret.png").write_bytes(b"secret")
    for bad in ("../secret", "..%2Fsecret", "/etc/passwd", "a" * 31):
        assert await store.images.get(bad) is None
    await store.close()


@pytest.mark.asyncio
async def test_unknown_backend_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'mysql'.*sqlite"):
        await open_storage("mysql", tmp_path, {})


@pytest.mark.asyncio
async def test_mongodb_needs_its_uri(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MONGODB_URI"):
        await open_storage("mongodb", tmp_path, {"uri": ""})


@pytest.mark.asyncio
async def test_a_database_from_before_undo_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "db.sqlite3")
    old.execute(
        "CREATE TABLE illustrations (id TEXT PRIMARY KEY, channel_key TEXT NOT NULL,"
        " paragraph_id TEXT NOT NULL, sentence_index INTEGER NOT NULL, text TEXT NOT NULL,"
        " image_id TEXT NOT NULL, score REAL NOT NULL, provenance TEXT NOT NULL,"
        " clip_feature BLOB, created_at TEXT NOT NULL, parent_id TEXT,"
        " platform_message_ids TEXT NOT NULL DEFAULT '{}',"
        " image_bytes INTEGER NOT NULL DEFAULT 0)"
    )
    old.execute(
        "INSERT INTO illustrations (id, channel_key, paragraph_id, sentence_index, text,"
        " image_id, score, provenance, created_at) VALUES"
        " ('p:0', 'web:tale', 'p', 0, 'A fox.', 'img', 0.5, '{}', '2026-11-24T00:00:00+00:00')"
    )
    old.commit()
    old.close()
    store = await _open(tmp_path)
    record = await store.illustrations.get("p:0")
    assert record is not None and record.undone is False
    await store.illustrations.set_undone("p:0", True)
    assert (await store.illustrations.get("p:0")).undone
    await store.close()


@pytest.mark.asyncio
async def test_a_database_from_before_source_keys_gains_the_column_and_its_index(
    tmp_path: Path,
) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "db.sqlite3")
    old.execute(
        "CREATE TABLE paragraphs (id TEXT PRIMARY KEY, channel_key TEXT NOT NULL,"
        " seq INTEGER NOT NULL, author_id TEXT NOT NULL, author_name TEXT NOT NULL,"
        " text TEXT NOT NULL, status TEXT NOT NULL, posted_at TEXT NOT NULL,"
        " note TEXT NOT NULL DEFAULT '', message_id TEXT, UNIQUE (channel_key, seq))"
    )
    for seq in (1, 2):  # paragraphs from before have no key, and both stay
        old.execute(
            "INSERT INTO paragraphs (id, channel_key, seq, author_id, author_name, text, status,"
            f" posted_at) VALUES ('p{seq}', 'web:tale', {seq}, 'u', 'U', 'Old.', 'done',"
            " '2026-11-24T00:00:00+00:00')"
        )
    old.commit()
    old.close()
    store = await _open(tmp_path)
    await store.channels.ensure("web:tale", "web", "tale", None, "tale")
    assert (await store.paragraphs.get("p1")).source_key is None
    new, stored = await store.paragraphs.add_once("web:tale:c1", "web:tale", "u", "U", "New.", NOW)
    again, stored_again = await store.paragraphs.add_once(
        "web:tale:c1", "web:tale", "u", "U", "New.", NOW
    )
    assert (stored, stored_again, new.seq, again.id) == (True, False, 3, new.id)
    await store.close()
