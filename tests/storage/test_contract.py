"""The storage contract every backend keeps (see conftest.py for the backends)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from storage.base import (
    EditPairRecord,
    ElementLook,
    ElementRecord,
    FeedbackRecord,
    HistoryRecord,
    IllustrationRecord,
    Storage,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.asyncio


async def _channel(store: Storage, key: str = "web:tale") -> None:
    platform, _, channel_id = key.partition(":")
    await store.channels.ensure(key, platform, channel_id, None, channel_id)


async def test_paragraphs_are_numbered_per_channel_even_when_posted_together(
    store: Storage,
) -> None:
    await _channel(store, "web:a")
    await _channel(store, "web:b")
    added = await asyncio.gather(
        *(store.paragraphs.add("web:a", "u", "U", f"p{i}", NOW) for i in range(10)),
        store.paragraphs.add("web:b", "u", "U", "other", NOW),
    )
    assert sorted(p.seq for p in added[:10]) == list(range(1, 11))
    assert added[10].seq == 1


async def test_a_story_reads_back_with_vectors_intact(store: Storage) -> None:
    await _channel(store)
    paragraph = await store.paragraphs.add("web:tale", "u1", "Ana", "A fox.", NOW, "msg-1")
    image_id = await store.images.put(b"\x89PNG fake bytes")
    feature = np.linspace(-1, 1, 512, dtype=np.float32)
    record = IllustrationRecord(
        id="ill-1",
        channel_key="web:tale",
        paragraph_id=paragraph.id,
        sentence_index=0,
        text="A fox.",
        image_id=image_id,
        score=0.31,
        provenance={"seed": 7, "edit_chain": []},
        clip_feature=feature,
        created_at=NOW,
    )
    await store.illustrations.add_many([record])
    await store.illustrations.add_many([record])  # a retry after a crash stores nothing twice
    await store.paragraphs.set_status(paragraph.id, "done", "a note")

    [again] = await store.paragraphs.page("web:tale", None, 10)
    assert (again.text, again.status, again.note, again.message_id) == (
        "A fox.",
        "done",
        "a note",
        "msg-1",
    )
    assert again.posted_at == NOW
    [illustration] = (await store.illustrations.for_paragraphs([paragraph.id]))[paragraph.id]
    np.testing.assert_array_equal(illustration.clip_feature, feature)
    assert illustration.clip_feature.dtype == np.float32
    assert illustration.provenance == {"seed": 7, "edit_chain": []}
    assert await store.images.get(image_id) == b"\x89PNG fake bytes"
    [channel] = await store.channels.list_for_platform("web")
    assert (channel.channel_id, channel.paragraph_count) == ("tale", 1)


async def test_a_platform_message_is_stored_once_however_often_it_arrives(
    store: Storage,
) -> None:
    await _channel(store)
    first, stored = await store.paragraphs.add_once(
        "slack:C1:1.0001", "web:tale", "u1", "Ana", "A fox.", NOW, "1.0001"
    )
    assert stored
    again, stored_again = await store.paragraphs.add_once(
        "slack:C1:1.0001", "web:tale", "u1", "Ana", "A fox.", NOW + timedelta(seconds=1)
    )
    assert not stored_again and again.id == first.id and again.source_key == "slack:C1:1.0001"
    other, stored_other = await store.paragraphs.add_once(
        "slack:C1:1.0002", "web:tale", "u1", "Ana", "A hen.", NOW
    )
    assert stored_other and other.seq == 2
    plain = await store.paragraphs.add("web:tale", "u1", "Ana", "No key.", NOW)
    also_plain = await store.paragraphs.add("web:tale", "u1", "Ana", "No key either.", NOW)
    assert plain.source_key is None and also_plain.seq == 4
    assert [p.text for p in await store.paragraphs.page("web:tale", None, 10)] == [
        "A fox.",
        "A hen.",
        "No key.",
        "No key either.",
    ]


async def test_paging_goes_back_from_the_latest(store: Storage) -> None:
    await _channel(store)
    for number in range(5):
        await store.paragraphs.add("web:tale", "u", "U", f"p{number}", NOW)
    assert [p.seq for p in await store.paragraphs.page("web:tale", None, 2)] == [4, 5]
    assert [p.seq for p in await store.paragraphs.page("web:tale", 4, 2)] == [2, 3]
    assert [p.seq for p in await store.paragraphs.page("web:tale", 2, 2)] == [1]


async def test_unfinished_lists_queued_and_running_in_posting_order(store: Storage) -> None:
    await _channel(store)
    ids = [(await store.paragraphs.add("web:tale", "u", "U", f"p{i}", NOW)).id for i in range(4)]
    await store.paragraphs.set_status(ids[0], "done")
    await store.paragraphs.set_status(ids[1], "illustrating")
    await store.paragraphs.set_status(ids[3], "failed")
    assert [p.id for p in await store.paragraphs.unfinished()] == [ids[1], ids[2]]


async def test_channel_settings_merge_and_remove(store: Storage) -> None:
    await _channel(store, "discord:1")
    await store.channels.update_settings("discord:1", {"enabled": True, "style": "ink"})
    record = await store.channels.update_settings("discord:1", {"style": None, "k": 2})
    assert record.settings == {"enabled": True, "k": 2}
    with pytest.raises(KeyError):
        await store.channels.update_settings("discord:missing", {"enabled": True})


async def test_a_lease_belongs_to_one_owner_until_it_expires(store: Storage) -> None:
    await _channel(store)
    assert await store.channels.try_lease("web:tale", "a", 30, NOW)
    assert not await store.channels.try_lease("web:tale", "b", 30, NOW + timedelta(seconds=10))
    assert await store.channels.try_lease("web:tale", "a", 30, NOW + timedelta(seconds=10))
    assert await store.channels.try_lease("web:tale", "b", 30, NOW + timedelta(seconds=41))
    record = await store.channels.get("web:tale")
    assert record is not None and record.lease_owner == "b"
    await store.channels.release_lease("web:tale", "a")  # not a's any more: no effect
    assert not await store.channels.try_lease("web:tale", "a", 30, NOW + timedelta(seconds=42))
    await store.channels.release_lease("web:tale", "b")
    assert await store.channels.try_lease("web:tale", "a", 30, NOW + timedelta(seconds=42))


async def test_inbox_keeps_order_dedupes_and_retries(store: Storage) -> None:
    first = await store.inbox.add("web:tale", "illustrate", {"paragraph_id": "p1"}, "d1", NOW)
    again = await store.inbox.add("web:tale", "illustrate", {"paragraph_id": "p1"}, "d1", NOW)
    assert again.id == first.id
    second = await store.inbox.add("web:tale", "illustrate", {"paragraph_id": "p2"}, "d2", NOW)
    await store.inbox.add("web:other", "illustrate", {"paragraph_id": "p3"}, "d3", NOW)
    assert [i.payload["paragraph_id"] for i in await store.inbox.due("web:tale", NOW)] == [
        "p1",
        "p2",
    ]
    assert await store.inbox.pending_count("web:tale") == 2
    assert await store.inbox.channels_with_due(NOW) == ["web:other", "web:tale"]

    later = NOW + timedelta(seconds=30)
    await store.inbox.mark_retry(first.id, later, "engine busy")
    assert await store.inbox.due("web:tale", NOW) == [], "nothing overtakes a waiting retry"
    [retried, _] = await store.inbox.due("web:tale", later)
    assert (retried.id, retried.attempts, retried.error) == (first.id, 1, "engine busy")

    await store.inbox.mark_done(second.id)
    await store.inbox.mark_failed(first.id, "gave up")
    assert await store.inbox.due("web:tale", later) == []
    assert await store.inbox.channels_with_due(later) == ["web:other"]
    assert await store.inbox.prune(NOW + timedelta(days=1)) == 2
    assert await store.inbox.pending_count("web:other") == 1


async def test_deliveries_record_intent_then_post(store: Storage) -> None:
    intent = await store.deliveries.record_intent("illustrations:p1", "web:tale", NOW)
    assert (intent.status, intent.message_ids) == ("intent", ())
    await store.deliveries.record_posted("illustrations:p1", ("m1", "m2"), NOW)
    again = await store.deliveries.record_intent("illustrations:p1", "web:tale", NOW)
    assert (again.status, again.message_ids) == ("posted", ("m1", "m2"))
    assert await store.deliveries.get("nothing") is None


async def test_the_element_library_round_trips(store: Storage) -> None:
    fox = ElementRecord(
        channel_key="web:tale",
        name="fox",
        kind="character",
        feature=np.arange(8, dtype=np.float32),
        count=1,
        first_seen=NOW,
        last_seen=NOW,
        aliases=("the red fox",),
        first_illustration_id="ill-1",
    )
    await store.elements.put(fox)
    await store.elements.put(
        ElementRecord(
            "web:tale",
            "forest",
            "environment",
            np.ones(8, np.float32),
            1,
            NOW + timedelta(seconds=1),
            NOW,
        )
    )
    updated = ElementRecord(**{**fox.__dict__, "count": 2, "pinned": True})
    await store.elements.put(updated)
    listed = await store.elements.list("web:tale")
    assert [(e.name, e.kind, e.count) for e in listed] == [
        ("fox", "character", 2),
        ("forest", "environment", 1),
    ]
    got = await store.elements.get("web:tale", "fox")
    assert got is not None and got.pinned and got.aliases == ("the red fox",)
    np.testing.assert_array_equal(got.feature, fox.feature)
    assert got.look is None and got.references == () and got.description == ""
    assert await store.elements.delete("web:tale", "fox")
    assert not await store.elements.delete("web:tale", "fox")
    assert await store.elements.get("web:other", "forest") is None


async def test_a_cast_entry_keeps_its_look_references_description_and_pronoun(
    store: Storage,
) -> None:
    tom = ElementRecord(
        "web:tale",
        "tom",
        "character",
        np.arange(4, dtype=np.float32),
        2,
        NOW,
        NOW,
        look=np.full(4, 0.25, np.float32),
        references=(
            ElementLook("crop-1", np.array([1, 0, 0, 0], np.float32), "ill-1"),
            ElementLook("upload-1", np.array([0, 1, 0, 0], np.float32)),
        ),
        description="grey beard, green apron",
        pronoun="he",
    )
    await store.elements.put(tom)
    got = await store.elements.get("web:tale", "tom")
    assert got is not None
    np.testing.assert_array_equal(got.look, tom.look)
    assert [(r.image_id, r.illustration_id) for r in got.references] == [
        ("crop-1", "ill-1"),
        ("upload-1", None),
    ]
    np.testing.assert_array_equal(got.references[1].feature, tom.references[1].feature)
    assert (got.description, got.pronoun) == ("grey beard, green apron", "he")


async def test_history_round_trips(store: Storage) -> None:
    assert await store.history.get("web:tale") is None
    await store.history.put(HistoryRecord("web:tale", np.full(4, 0.5, np.float32), 3, NOW))
    got = await store.history.get("web:tale")
    assert got is not None and got.count == 3 and got.updated_at == NOW
    np.testing.assert_array_equal(got.feature, np.full(4, 0.5, np.float32))


async def test_feedback_is_kept_in_order_and_filtered(store: Storage) -> None:
    for number, channel in enumerate(["web:tale", "web:other", "web:tale"]):
        await store.feedback.add(
            FeedbackRecord(
                id=f"f{number}",
                channel_key=channel,
                illustration_id=f"ill-{number}",
                image_id=None,
                author_id="ana",
                text="her face is not clear",
                created_at=NOW + timedelta(minutes=number),
                label=1 if number else None,
                target_text="her face is clear",
            )
        )
    assert [f.id for f in await store.feedback.list()] == ["f0", "f1", "f2"]
    assert [f.id for f in await store.feedback.list("web:tale")] == ["f0", "f2"]
    [latest] = await store.feedback.list(since=NOW + timedelta(minutes=2))
    assert (latest.id, latest.label, latest.target_text) == ("f2", 1, "her face is clear")
    assert latest.created_at == NOW + timedelta(minutes=2)


async def test_edit_pairs_are_kept_once_in_order_per_channel(store: Storage) -> None:
    for number, channel in enumerate(["web:tale", "web:other", "web:tale", "web:tale"]):
        await store.edit_pairs.add(
            EditPairRecord(
                id=f"p{min(number, 2)}",  # the last one repeats p2: stored once
                channel_key=channel,
                illustration_id=f"ill-{number}",
                original_image_id=f"orig-{number}",
                edited_image_id=f"edit-{number}",
                request="make the fox blue",
                edit_prompt="make the fox blue",
                attribute="blue",
                attribute_word="fox",
                feature_branch="attribute generator blue" if number else "prompt only",
                created_at=NOW + timedelta(minutes=number),
            )
        )
    assert [p.id for p in await store.edit_pairs.list()] == ["p0", "p1", "p2"]
    first, last = await store.edit_pairs.list("web:tale")
    assert (first.id, first.feature_branch, first.original_image_id) == (
        "p0",
        "prompt only",
        "orig-0",
    )
    assert (last.id, last.illustration_id, last.created_at) == (
        "p2",
        "ill-2",
        NOW + timedelta(minutes=2),
    )
    assert (last.request, last.attribute, last.attribute_word) == (
        "make the fox blue",
        "blue",
        "fox",
    )


async def test_jobs_report_their_progress(store: Storage) -> None:
    job = await store.jobs.create("train-restorer", {"stage": "pixel"}, NOW)
    assert (job.status, job.progress, job.params) == ("queued", 0.0, {"stage": "pixel"})
    later = NOW + timedelta(seconds=5)
    running = await store.jobs.update(job.id, later, status="running", progress=0.25)
    assert (running.status, running.progress, running.message) == ("running", 0.25, "")
    done = await store.jobs.update(job.id, later, status="done", message="loss 0.01")
    assert (done.status, done.progress, done.message, done.updated_at) == (
        "done",
        0.25,
        "loss 0.01",
        later,
    )
    other = await store.jobs.create("train-style", {}, later)
    assert [j.id for j in await store.jobs.list()] == [other.id, job.id]
    assert [j.id for j in await store.jobs.list("train-style")] == [other.id]
    with pytest.raises(KeyError):
        await store.jobs.update("missing", later, status="done")


async def test_a_story_knows_its_picture_bytes_and_can_forget_old_ones(store: Storage) -> None:
    await _channel(store)
    paragraph = await store.paragraphs.add("web:tale", "u", "U", "A. B. C.", NOW)
    records = [
        IllustrationRecord(
            id=f"ill-{n}",
            channel_key="web:tale",
            paragraph_id=paragraph.id,
            sentence_index=n,
            text="x",
            image_id=f"img-{n}",
            score=0.0,
            provenance={},
            clip_feature=None,
            created_at=NOW + timedelta(seconds=n),
            image_bytes=100 * (n + 1),
        )
        for n in range(3)
    ]
    await store.illustrations.add_many(records)
    assert await store.illustrations.image_bytes("web:tale") == 600
    oldest = await store.illustrations.oldest_with_images("web:tale", 2)
    assert [r.id for r in oldest] == ["ill-0", "ill-1"]
    await store.illustrations.forget_image("ill-0")
    assert await store.illustrations.image_bytes("web:tale") == 500
    assert [r.id for r in await store.illustrations.oldest_with_images("web:tale", 5)] == [
        "ill-1",
        "ill-2",
    ]
    [kept, *_] = (await store.illustrations.for_paragraphs([paragraph.id]))[paragraph.id]
    assert (kept.id, kept.image_id, kept.image_bytes, kept.text) == ("ill-0", "", 0, "x")


def _drawing(paragraph_id: str, ident: str, second: int, parent: str | None = None):
    return IllustrationRecord(
        id=ident,
        channel_key="web:tale",
        paragraph_id=paragraph_id,
        sentence_index=0,
        text="A fox.",
        image_id=f"img-{ident}",
        score=0.5,
        provenance={"seed": 1},
        clip_feature=None,
        created_at=NOW + timedelta(seconds=second),
        parent_id=parent,
    )


async def test_an_edit_chain_is_found_by_message_and_parent(store: Storage) -> None:
    await _channel(store)
    paragraph = await store.paragraphs.add("web:tale", "u", "U", "A fox. A den.", NOW)
    root = _drawing(paragraph.id, "p:0", 0)
    other = _drawing(paragraph.id, "p:1", 0)
    edits = [_drawing(paragraph.id, f"p:0:e{n}", n + 1, parent="p:0") for n in range(2)]
    await store.illustrations.add_many([root, other, *edits])

    assert await store.illustrations.get("missing") is None
    assert (await store.illustrations.get("p:0:e1")).parent_id == "p:0"
    assert [r.id for r in await store.illustrations.children("p:0")] == ["p:0:e0", "p:0:e1"]
    assert await store.illustrations.children("p:1") == []

    await store.illustrations.record_message(["p:0", "p:1"], "web", "m-7")
    await store.illustrations.record_message(["p:0:e0"], "web", "m-8")
    found = await store.illustrations.by_message("web:tale", "web", "m-7")
    assert [r.id for r in found] == ["p:0", "p:1"]
    assert found[0].platform_message_ids == {"web": ["m-7"]}
    await store.illustrations.record_message(["p:0"], "web", "m-9")  # shown again after an undo
    assert (await store.illustrations.get("p:0")).platform_message_ids == {"web": ["m-7", "m-9"]}
    assert [r.id for r in await store.illustrations.by_message("web:tale", "web", "m-9")] == ["p:0"]
    assert [r.id for r in await store.illustrations.by_message("web:tale", "web", "m-8")] == [
        "p:0:e0"
    ]
    assert await store.illustrations.by_message("web:other", "web", "m-7") == []
    assert await store.illustrations.by_message("web:tale", "discord", "m-7") == []

    assert not (await store.illustrations.get("p:0:e1")).undone
    await store.illustrations.set_undone("p:0:e1", True)
    assert (await store.illustrations.get("p:0:e1")).undone
    await store.illustrations.set_undone("p:0:e1", False)
    assert not (await store.illustrations.get("p:0:e1")).undone
