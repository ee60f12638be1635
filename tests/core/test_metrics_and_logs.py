"""Operations: /metrics on the web app and log lines that name their channel and job."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import aiohttp
import pytest

from adapters.web.adapter import WebAdapter
from core.health import check_health
from core.inkwell import Inkwell
from core.log_context import JobContext, JsonLines, bind_job
from core.story.settings import StorySettings
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine


def _record(message: str) -> logging.LogRecord:
    record = logging.LogRecord("inkwell.test", logging.INFO, __file__, 1, message, (), None)
    JobContext().filter(record)
    return record


@pytest.mark.asyncio
async def test_log_lines_carry_the_channel_and_job_of_their_task() -> None:
    async def work(channel: str, job: str) -> logging.LogRecord:
        bind_job(channel, job)
        await asyncio.sleep(0)
        return _record("drawing")

    first, second = await asyncio.gather(work("web:Harbor", "j1"), work("web:Fog", "j2"))
    assert (first.channel, first.job, first.context) == (
        "web:Harbor",
        "j1",
        " [channel=web:Harbor job=j1]",
    )
    assert (second.channel, second.job) == ("web:Fog", "j2")
    assert _record("outside any job").context == ""
    line = json.loads(JsonLines().format(first))
    assert line["message"] == "drawing" and (line["channel"], line["job"]) == ("web:Harbor", "j1")


@pytest.mark.asyncio
async def test_metrics_show_queue_depth_job_latency_and_errors(tmp_path: Path) -> None:
    storage = await SQLiteStorage.open(tmp_path / "db.sqlite3", tmp_path / "images")
    engine = ScriptedEngine()
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2))
    adapter = WebAdapter(
        "127.0.0.1",
        0,
        "",
        storage.images.get,
        engine.profile_name,
        health=lambda: check_health(engine, storage),
    )
    inkwell.attach(adapter)
    await inkwell.start()
    base = f"http://127.0.0.1:{adapter.bound_port}"
    try:
        async with aiohttp.ClientSession() as session:
            socket = await session.ws_connect(f"{base}/ws")
            await socket.send_str(json.dumps({"type": "join", "room": "Metrics", "author": "A"}))
            await socket.send_str(json.dumps({"type": "paragraph", "text": "A red kite."}))

            async def done() -> None:
                while True:
                    message = await socket.receive_json()
                    if message["type"] == "progress" and message.get("stage") == "done":
                        return

            await asyncio.wait_for(done(), 30)
            await inkwell.idle()
            async with session.get(f"{base}/metrics") as response:
                assert response.status == 200
                assert response.content_type == "text/plain"
                text = await response.text()
    finally:
        await inkwell.stop()
        await storage.close()
    depth = re.search(r'inkwell_queue_depth\{channel="([^"]*Metrics[^"]*)"\} (\S+)', text)
    assert depth is not None and float(depth.group(2)) == 0.0
    assert re.search(r'inkwell_job_seconds_count\{kind="illustrate",outcome="done"\} [1-9]', text)
    assert "inkwell_errors_total" in text and "inkwell_engine_batch_size" in text
