"""Two bot processes on one SQLite file and 20 stories: no story worked by both at once."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import aiohttp

from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import seed_models

CONFIG = """
[story]
candidates = 2
[models.overrides]
steps = 4
[inbox]
lease_s = 5.0
sweep_interval_s = 0.3
"""
ROOMS = [f"Room {n}" for n in range(20)]
LINE = re.compile(r"^(\S+ \S+) INFO inkwell.inbox: (working|finished) illustrate (\w+) in (.+)$")


async def _post(base: str, room: str, text: str) -> str:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{base}/ws") as ws:
        await ws.send_json({"type": "join", "room": room, "author": "Ana"})
        # A client id names one post (the page makes a fresh one each time): the same id
        # again is a resend, which storage answers with the first post.
        post = {"type": "paragraph", "text": text, "client_id": uuid.uuid4().hex}
        await ws.send_json(post)
        while (message := await asyncio.wait_for(ws.receive_json(), 30))["type"] != "accepted":
            pass
        return message["paragraph_id"]


async def _post_everywhere(first: str, second: str) -> list[str]:
    """Each story gets a paragraph through one process, then at once one through the other."""
    half = len(ROOMS) // 2
    opening = [_post(first, room, f"A lantern glows in {room}.") for room in ROOMS[:half]]
    opening += [_post(second, room, f"A lantern glows in {room}.") for room in ROOMS[half:]]
    ids = list(await asyncio.gather(*opening))
    crossing = [
        _post(second, room, f"A red fishing boat sails across {room}.") for room in ROOMS[:half]
    ]
    crossing += [
        _post(first, room, f"A red fishing boat sails across {room}.") for room in ROOMS[half:]
    ]
    return ids + list(await asyncio.gather(*crossing))


def _intervals(log: str) -> dict[str, list[tuple[datetime, datetime]]]:
    """Per channel, when this process was working an item there."""
    started: dict[str, datetime] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for line in log.splitlines():
        match = LINE.match(line)
        if not match:
            continue
        moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
        if match[2] == "working":
            started[match[3]] = moment
        else:
            spans[match[4]].append((started.pop(match[3]), moment))
    return spans


def test_two_processes_share_the_stories_without_overlap_or_loss(
    tmp_path: Path, prepared_models: Path
) -> None:
    seed_models(prepared_models, tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    first = BotProcess(tmp_path, config, tmp_path / "first.log").start()
    second = BotProcess(tmp_path, config, tmp_path / "second.log").start()
    try:
        ids = asyncio.run(_post_everywhere(first.base, second.base))
        db_path = tmp_path / "inkwell.sqlite3"
        for _ in range(240):
            with sqlite3.connect(db_path) as db:
                statuses = [row[0] for row in db.execute("SELECT status FROM paragraphs")]
            if statuses.count("done") == len(ids):
                break
            time.sleep(0.5)
    finally:
        first.stop()
        second.stop()

    with sqlite3.connect(tmp_path / "inkwell.sqlite3") as db:
        assert sorted(r[0] for r in db.execute("SELECT status FROM paragraphs")) == ["done"] * 40
        drawn = dict(db.execute("SELECT paragraph_id, COUNT(*) FROM illustrations GROUP BY 1"))
        assert drawn == {paragraph_id: 1 for paragraph_id in ids}
        assert db.execute("SELECT COUNT(*) FROM deliveries WHERE status='posted'").fetchone() == (
            40,
        )

    first_spans, second_spans = _intervals(first.log()), _intervals(second.log())
    assert first_spans and second_spans, "both processes did some of the work"
    for channel in set(first_spans) & set(second_spans):
        for a_start, a_end in first_spans[channel]:
            for b_start, b_end in second_spans[channel]:
                assert a_end <= b_start or b_end <= a_start, f"{channel} worked by both at once"
