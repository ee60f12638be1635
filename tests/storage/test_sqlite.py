"""The embedded SQLite backend: numbering, paging, vectors and images survive a reopen."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from storage import open_storage
from storage.base import IllustrationRecord
from storage.sqlite import SQLiteStorage

NOW = datetime(2026, 11, 24, tzinfo=UTC)


async def _open(tmp_path: Path) -> SQLiteStorage:
    return await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")


@pytest.mark.asyncio
async def test_paragraphs_are_numbered_per_channel_even_when_posted_together(
    tmp_path: Path,
) -> None:
    store = await _open(tmp_path)
    for key in ("web:a", "web:b"):
        await store.channels.ensure(key, "web", key[4:], None, key[4:])
    added = await asyncio.gather(
        *(store.paragraphs.add("web:a", "u", "U", f"p{i}", NOW) for i in range(10)),
        store.paragraphs.add("web:b", "u", "U", "other", NOW),
    )
    assert sorted(p.seq for p in added[:10]) == list(range(1, 11))
    assert added[10].seq == 1
    await store.close()


@pytest.mark.asyncio
async def test_everything_survives_reopening(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    await store.channels.ensure("web:tale", "web", "tale", None, "tale")
    paragraph = await store.paragraphs.add("web:tale", "u1", "Ana", "A fox.", NOW, "msg-1")
    image_id = await store.images.put(b"\x89PNG fake bytes")
    feature = np.linspace(-1, 1, 512, dtype=np.float32)
    await store.illustrations.add(
        IllustrationRecord(
            id="ill-1",
            channel_key="web:tale",
            paragraph_id=paragraph.id,
            sentence_index=0,
            text="A fox.",
            image_id=image_id,
            score=0.31,
            provenance={"seed": 7},
            clip_feature=feature,
            created_at=NOW,
        )
    )
    await store.paragraphs.set_status(paragraph.id, "done", "a note")
    await store.close()

    store = await _open(tmp_path)
    [again] = await store.paragraphs.page("web:tale", None, 10)
    assert (again.text, again.status, again.note, again.message_id) == (
        "A fox.",
        "done",
        "a note",
        "msg-1",
    )
    [illustration] = (await store.illustrations.for_paragraphs([paragraph.id]))[paragraph.id]
    np.testing.assert_array_equal(illustration.clip_feature, feature)
    assert illustration.provenance == {"seed": 7}
    assert await store.images.get(image_id) == b"\x89PNG fake bytes"
    [channel] = await store.channels.list_for_platform("web")
    assert (channel.channel_id, channel.paragraph_count) == ("tale", 1)
    await store.close()


@pytest.mark.asyncio
async def test_unfinished_lists_queued_and_running_in_posting_order(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    await store.channels.ensure("web:t", "web", "t", None, "t")
    ids = [(await store.paragraphs.add("web:t", "u", "U", f"p{i}", NOW)).id for i in range(4)]
    await store.paragraphs.set_status(ids[0], "done")
    await store.paragraphs.set_status(ids[1], "illustrating")
    await store.paragraphs.set_status(ids[3], "failed")
    assert [p.id for p in await store.paragraphs.unfinished()] == [ids[1], ids[2]]
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
async def test_channel_settings_merge_and_remove(tmp_path: Path) -> None:
    store = await _open(tmp_path)
    await store.channels.ensure("discord:1", "discord", "1", None, "general")
    await store.channels.update_settings("discord:1", {"enabled": True, "style": "ink"})
    record = await store.channels.update_settings("discord:1", {"style": None, "k": 2})
    assert record.settings == {"enabled": True, "k": 2}
    with pytest.raises(KeyError):
        await store.channels.update_settings("discord:missing", {"enabled": True})
    await store.close()
