"""bench.load counts lost, duplicated and the rooms' wait ratio from SQLite, log and streams."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from bench.load import Tally, count, paragraph_text

SCHEMA = """
CREATE TABLE paragraphs (id TEXT, channel_key TEXT, text TEXT, status TEXT, posted_at TEXT);
CREATE TABLE illustrations (paragraph_id TEXT, created_at TEXT);
CREATE TABLE deliveries (id TEXT, status TEXT);
"""


def _store(db: sqlite3.Connection, pid: str, room: int, number: int, wait_s: int, posted: bool):
    text = paragraph_text(room, number)
    db.execute(
        "INSERT INTO paragraphs VALUES (?, ?, ?, 'done', ?)",
        (pid, f"web:load-{room}", text, "2026-01-01T00:00:00+00:00"),
    )
    db.execute(
        "INSERT INTO illustrations VALUES (?, ?)", (pid, f"2026-01-01T00:00:{wait_s:02d}+00:00")
    )
    db.execute(
        "INSERT INTO deliveries VALUES (?, ?)",
        (f"illustrations:{pid}", "posted" if posted else "intent"),
    )


def test_lost_duplicated_and_the_wait_ratio_are_counted(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "inkwell.sqlite3") as db:
        db.executescript(SCHEMA)
        _store(db, "a", 0, 0, 10, True)
        _store(db, "b", 0, 1, 10, True)
        _store(db, "b2", 0, 1, 10, True)  # the same post stored twice
        _store(db, "c", 1, 0, 20, True)
        _store(db, "d", 2, 0, 40, False)  # drawn, never recorded as posted: lost
    log = tmp_path / "bot.log"
    log.write_text("".join(f"posted illustrations of paragraph {pid} in x\n" for pid in "abcc"))
    tally = Tally(sent={(0, 0), (0, 1), (1, 0), (2, 0), (3, 0)})  # (3, 0) never stored: lost
    tally.shown.update({"a": 2})  # seen twice on the stream though logged once
    tally.acks_ms.extend([5.0, 7.0, 100.0])
    args = argparse.Namespace(rooms=4, paragraphs=2)

    result = count(args, tmp_path, log, tally)

    assert result["lost"] == 2
    assert (result["stored_twice"], result["posted_again"]) == (1, 2)  # b2; a and c
    assert result["duplicated"] == 3
    # Room waits 10, 20 and 40 s: the longest over the median.
    assert result["max_wait_ratio"] == 2.0
    assert result["ack_p99_ms"] == 100.0


def test_a_delivery_resent_on_the_stream_is_shown_once_and_a_new_one_counts() -> None:
    tally = Tally()
    post = {"type": "illustrations", "paragraph_id": "a", "delivery_id": "illustrations:a"}
    tally.saw_illustrations(post)
    tally.saw_illustrations(post)  # resent after the crash: the page shows it once
    tally.saw_illustrations({**post, "delivery_id": "illustrations:a:v2"})  # a second post
    tally.saw_illustrations({"type": "illustrations", "paragraph_id": "e"})  # no id: counted
    tally.saw_illustrations({"type": "illustrations", "paragraph_id": "e"})
    assert tally.shown == {"a": 2, "e": 2}
    assert tally.resent_on_wire == 1
    assert tally.illustrated_seen == {"a", "e"}
