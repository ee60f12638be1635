"""SIGKILL the bot mid-illustration: after a restart every paragraph is drawn and posted once."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import seed_models

CONFIG = """
[story]
candidates = 2
progress_interval_s = 0
[models.overrides]
steps = 25
[inbox]
lease_s = 2.0
sweep_interval_s = 0.5
"""
# Sentences the screening model rates drawable (index 2), so each paragraph is drawn.
PARAGRAPHS = [
    f"A red fishing boat sails past lighthouse {n}. A small wooden cabin stands on hill {n}."
    for n in range(5)
]


async def _post_all_and_wait_for_second(base: str) -> list[str]:
    """Post every paragraph; return their ids once the second one is being drawn."""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{base}/ws") as ws:
        await ws.send_json({"type": "join", "room": "Crash", "author": "Ana"})
        ids: list[str] = []
        for number, text in enumerate(PARAGRAPHS):
            await ws.send_json({"type": "paragraph", "text": text, "client_id": f"c{number}"})
        while True:
            message = await asyncio.wait_for(ws.receive_json(), 60)
            if message["type"] == "accepted":
                ids.append(message["paragraph_id"])
            if (
                message["type"] == "progress"
                and message["stage"] == "generating"
                and len(ids) == len(PARAGRAPHS)
                and message["paragraph_id"] == ids[1]
                and 0 < message["fraction"] < 0.5
            ):
                return ids


async def _wait_until_all_done(base: str, timeout: float = 120) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{base}/ws") as ws:
        await ws.send_json({"type": "join", "room": "Crash", "author": "Ana"})
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            await ws.send_json({"type": "history", "before_seq": None})
            while (message := await ws.receive_json())["type"] != "story":
                pass
            if [e["status"] for e in message["entries"]] == ["done"] * len(PARAGRAPHS):
                return
            await asyncio.sleep(0.5)
    pytest.fail("not every paragraph was illustrated after the restart")


def test_a_killed_bot_resumes_and_draws_and_posts_each_paragraph_once(
    tmp_path: Path, prepared_models: Path
) -> None:
    seed_models(prepared_models, tmp_path)
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    log_path = tmp_path / "bot.log"
    first = BotProcess(tmp_path, config, log_path).start()
    try:
        ids = asyncio.run(_post_all_and_wait_for_second(first.base))
    finally:
        first.kill()
    before = first.log()
    assert f"posted illustrations of paragraph {ids[0]}" in before
    assert f"posted illustrations of paragraph {ids[1]}" not in before, "killed mid-drawing"

    second = BotProcess(tmp_path, config, log_path, port=first.port).start()
    try:
        asyncio.run(_wait_until_all_done(second.base))
    finally:
        second.stop()

    posts = re.findall(r"posted illustrations of paragraph (\w+)", log_path.read_text())
    assert sorted(posts) == sorted(ids), "each paragraph posted exactly once across both runs"
    with sqlite3.connect(tmp_path / "inkwell.sqlite3") as db:
        drawn = dict(db.execute("SELECT paragraph_id, COUNT(*) FROM illustrations GROUP BY 1"))
        delivered = db.execute("SELECT COUNT(*) FROM deliveries WHERE status = 'posted'")
        assert drawn == {paragraph_id: 2 for paragraph_id in ids}
        assert delivered.fetchone()[0] == len(ids)
