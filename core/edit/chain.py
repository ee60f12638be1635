"""Edit chains: which version of a picture is current, and undo, redo and the original."""

from __future__ import annotations

from storage.base import IllustrationRecord, Storage


def current_versions(records: list[IllustrationRecord]) -> list[IllustrationRecord]:
    """A paragraph's current picture of each sentence: the latest drawing or edit not undone.

    A redraw and an edit both supersede what was there; an undone edit steps aside, so its
    parent (or whatever came before it) is current again.
    """
    latest: dict[int, IllustrationRecord] = {}
    for record in records:
        if record.undone:
            continue
        kept = latest.get(record.sentence_index)
        if kept is None or (record.created_at, record.id) >= (kept.created_at, kept.id):
            latest[record.sentence_index] = record
    return [latest[index] for index in sorted(latest)]


async def current_version(storage: Storage, record: IllustrationRecord) -> IllustrationRecord:
    """The picture now shown for `record`'s sentence (`record` itself if nothing replaced it)."""
    drawings = (await storage.illustrations.for_paragraphs([record.paragraph_id]))[
        record.paragraph_id
    ]
    same_sentence = [r for r in drawings if r.sentence_index == record.sentence_index]
    found = current_versions(same_sentence)
    return found[0] if found else record


async def undo(storage: Storage, record: IllustrationRecord) -> IllustrationRecord | None:
    """Take back the current edit of `record`'s sentence; returns the version now current."""
    current = await current_version(storage, record)
    if current.parent_id is None:
        return None
    await storage.illustrations.set_undone(current.id, True)
    return await current_version(storage, record)


async def redo(storage: Storage, record: IllustrationRecord) -> IllustrationRecord | None:
    """Bring back the edit most recently taken back in this sentence's picture."""
    latest = await _last_undone(storage, record)
    if latest is None:
        return None
    await storage.illustrations.set_undone(latest.id, False)
    return latest


async def can_redo(storage: Storage, record: IllustrationRecord) -> bool:
    return await _last_undone(storage, record) is not None


async def _last_undone(storage: Storage, record: IllustrationRecord) -> IllustrationRecord | None:
    """Undo always takes back the newest version shown, so the versions newer than the
    current one are exactly the undone ones, and the oldest of them was undone last. A new
    edit after an undo is newer than all of them: nothing is left to redo."""
    current = await current_version(storage, record)
    drawings = (await storage.illustrations.for_paragraphs([record.paragraph_id]))[
        record.paragraph_id
    ]
    newer = [
        r
        for r in drawings
        if r.sentence_index == record.sentence_index
        and r.undone
        and (r.created_at, r.id) > (current.created_at, current.id)
    ]
    return min(newer, key=lambda r: (r.created_at, r.id)) if newer else None


async def original(storage: Storage, record: IllustrationRecord) -> IllustrationRecord:
    """The first drawing `record` was edited from (itself when it is not an edit)."""
    seen = {record.id}
    while record.parent_id is not None:
        parent = await storage.illustrations.get(record.parent_id)
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        record = parent
    return record
