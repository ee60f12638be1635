"""Load: many rooms post paragraphs over the web room's websocket while the bot is killed once.

`python -m bench.load --rooms 100 --paragraphs 20` starts a real `python -m bot --profile tiny`
child on 127.0.0.1, opens one websocket per room and posts each room's paragraphs one after the
other, every room at once. Once half of all paragraphs are acknowledged the bot is SIGKILLed and
restarted on the same data directory; rooms reconnect and resend what was not acknowledged with
the same client id, and every tenth acknowledged post is resent on purpose too. Each room then
watches its stream until it has seen every one of its paragraphs drawn. Everything waits
a bounded time. At the end the SQLite database, the bot's log and the websocket streams are
counted, and the last line is

    load: rooms=R paragraphs=P lost=L duplicated=D ack_p99_ms=A max_wait_ratio=W

lost: paragraphs sent but never stored, or stored but never illustrated and posted.
duplicated: extra stored copies of one post plus extra posts of one paragraph's pictures that a
page shows. A post whose pictures reached the websocket just before the SIGKILL, but were not yet
recorded as posted, is sent again on recovery (never lost: core/story/posting.py) with the same
delivery id, which the page shows once (adapters/web/static/room.js); such resends are counted
apart ("resent on the wire"), and a second post under a new delivery id counts as duplicated.
ack_p99_ms: the 99th percentile of send -> "accepted" on the websocket (bot up; resends too).
max_wait_ratio: the room whose paragraphs waited longest (stored -> pictures, mean per room)
over the median room: how evenly the engine's turns were shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp

from storage.base import UNFINISHED_STATUSES

REPO = Path(__file__).resolve().parents[1]
ACK_TIMEOUT_S = 30.0  # one post's wait for its "accepted" while the bot is up
RECONNECT_TIMEOUT_S = 240.0  # how long a room tries to reach a restarted bot
PLACES = ("harbour", "forest", "village", "castle", "meadow", "island", "bridge", "market")


def config_text(paragraphs: int) -> str:
    """The bench's config: one candidate per sentence, no refusals for a room's whole load."""
    return f"""
[story]
candidates = 1
progress_interval_s = 5.0
[inbox]
lease_s = 3.0
sweep_interval_s = 0.5
retry_backoff_s = 1.0
max_waiting_per_story = {paragraphs + 5}
max_waiting_per_writer = {paragraphs + 5}
"""


def paragraph_text(room: int, number: int) -> str:
    place = PLACES[(room + number) % len(PLACES)]
    return f"A red boat sails past the {place} at dawn. Room {room} part {number} ends here."


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Bot:
    """`python -m bot --profile tiny` as a child process, its output appended to `log_path`."""

    def __init__(self, data_dir: Path, config: Path, log_path: Path, port: int) -> None:
        self.data_dir, self.config, self.log_path, self.port = data_dir, config, log_path, port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 240) -> None:
        command = [sys.executable, "-m", "bot", "--config", str(self.config), "--profile"]
        command += ["tiny", "--data-dir", str(self.data_dir), "--port", str(self.port)]
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as response:
                    if json.load(response).get("profile") == "tiny":
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the bot did not come up in {timeout_s:.0f} s")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)


def prepare_models(cache: Path) -> Path:
    """The tiny models with trained screening heads, made once and copied into each run."""
    models = cache / "models"
    if (cache / "ready").exists():
        return models
    command = [sys.executable, "-m", "bot", "--profile", "tiny", "--data-dir", str(cache)]
    subprocess.run(
        [*command, "train-screening"],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        check=True,
        capture_output=True,
        timeout=900,
    )
    (cache / "ready").write_text("")
    return models


@dataclass
class Tally:
    """What the websocket streams showed across all rooms."""

    acks_ms: list[float] = field(default_factory=list)
    again: int = 0  # resends answered as the paragraph stored before
    refused: int = 0  # posts answered with an error (counted, never expected)
    illustrated_seen: set[str] = field(default_factory=set)
    shown: Counter[str] = field(default_factory=Counter)  # posts a page shows, per paragraph
    deliveries_seen: set[str] = field(default_factory=set)
    resent_on_wire: int = 0  # a delivery sent again that the page shows once

    def saw_illustrations(self, message: dict) -> None:
        """Count an "illustrations" message as the page does: a delivery id is shown once."""
        self.illustrated_seen.add(message["paragraph_id"])
        delivery = message.get("delivery_id") or ""
        if delivery and delivery in self.deliveries_seen:
            self.resent_on_wire += 1
            return
        self.deliveries_seen.add(delivery)
        self.shown[message["paragraph_id"]] += 1

    reconnects: int = 0
    accepted: int = 0
    sent: set[tuple[int, int]] = field(default_factory=set)  # (room, number) posted at least once


class Load:
    def __init__(self, args: argparse.Namespace, bot: Bot) -> None:
        self.args = args
        self.bot = bot
        self.tally = Tally()
        self.up = asyncio.Event()
        self.up.set()
        self.half = asyncio.Event()
        self.rng = random.Random(args.seed)  # reconnection jitter
        self.total = args.rooms * args.paragraphs

    async def room(self, session: aiohttp.ClientSession, room: int) -> None:
        """Post the room's paragraphs one after another, then watch until all are drawn."""
        number = 0
        ids: set[str] = set()
        posting_ends = time.monotonic() + self.args.time_limit
        watching_ends = posting_ends + self.args.drain_limit
        while time.monotonic() < watching_ends:
            await asyncio.wait_for(self.up.wait(), RECONNECT_TIMEOUT_S)
            try:
                async with session.ws_connect(f"{self.bot.base}/ws", heartbeat=20) as ws:
                    reader = _Reader(ws, self.tally)
                    await ws.send_json({"type": "join", "room": f"load-{room}", "author": "w"})
                    await reader.wait_for("story")  # what was drawn while we were away
                    while number < self.args.paragraphs and time.monotonic() < posting_ends:
                        ids.add(await self.post(reader, room, number))
                        if (room * self.args.paragraphs + number) % self.args.resend_every == 0:
                            ids.add(await self.post(reader, room, number))  # the same again
                        number += 1
                    await reader.watch(ids - {""}, watching_ends)
                    return
            except (aiohttp.ClientError, ConnectionError, TimeoutError):
                self.tally.reconnects += 1
                await asyncio.sleep(0.2 + self.rng.random())  # bounded by the deadline above

    async def post(self, reader: _Reader, room: int, number: int) -> str:
        """Post one paragraph and wait for its answer; its id ("" when refused)."""
        client_id = f"r{room}-p{number}"
        text = paragraph_text(room, number)
        self.tally.sent.add((room, number))
        started = time.perf_counter()
        await reader.ws.send_json({"type": "paragraph", "text": text, "client_id": client_id})
        reply = await reader.wait_for("accepted", "error", client_id=client_id)
        self.tally.acks_ms.append((time.perf_counter() - started) * 1000)
        if reply["type"] == "error":
            self.tally.refused += 1
            return ""
        if reply.get("again"):
            self.tally.again += 1
        else:
            self.tally.accepted += 1
        if self.tally.accepted >= self.total // 2:
            self.half.set()
        return reply["paragraph_id"]

    async def killer(self) -> None:
        await self.half.wait()
        self.up.clear()
        await asyncio.to_thread(self.bot.kill)
        print(f"killed the bot after {self.tally.accepted} acknowledged posts", flush=True)
        await asyncio.to_thread(self.bot.start)
        self.up.set()
        print("restarted the bot on the same data", flush=True)


class _Reader:
    """One room's websocket: waits for a reply, noting the pictures that stream past."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, tally: Tally) -> None:
        self.ws = ws
        self.tally = tally

    async def wait_for(self, *types: str, client_id: str | None = None) -> dict:
        deadline = time.monotonic() + ACK_TIMEOUT_S
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {types} within {ACK_TIMEOUT_S:.0f} s")
            message = await self.ws.receive(timeout=left)
            if message.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f"the websocket ended ({message.type.name})")
            data = json.loads(message.data)
            if data["type"] == "illustrations":
                self.tally.saw_illustrations(data)
            if data["type"] == "story":
                drawn = (e for e in data["entries"] if e["status"] == "done" and e["illustrations"])
                self.tally.illustrated_seen.update(entry["paragraph_id"] for entry in drawn)
            if data["type"] in types and (client_id is None or data.get("client_id") == client_id):
                return data

    async def watch(self, ids: set[str], until: float) -> None:
        """Read the room's stream until every one of `ids` was seen drawn (or `until`)."""
        while not ids <= self.tally.illustrated_seen and time.monotonic() < until:
            try:
                await self.wait_for("illustrations")
            except TimeoutError:
                continue  # quiet for a while; the loop's deadline bounds it
        await self.ws.close()


async def post_everything(args: argparse.Namespace, bot: Bot) -> Tally:
    load = Load(args, bot)
    killer = asyncio.create_task(load.killer())
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        rooms = [load.room(session, room) for room in range(args.rooms)]
        await asyncio.wait_for(asyncio.gather(*rooms), args.time_limit + RECONNECT_TIMEOUT_S)
    if not killer.done():
        # Fewer acknowledged posts than half (e.g. everything refused): kill now all the same.
        load.half.set()
    await asyncio.wait_for(killer, RECONNECT_TIMEOUT_S)
    return load.tally


def wait_until_drawn(database: Path, expected: int, timeout_s: float) -> bool:
    """Wait (bounded) until no stored paragraph is waiting, drawn or posted: a paragraph is
    marked done before its pictures are posted, its inbox item once they are."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as db:
            rows = db.execute("SELECT status, COUNT(*) FROM paragraphs GROUP BY 1").fetchall()
            [(pending,)] = db.execute("SELECT COUNT(*) FROM inbox WHERE status = 'pending'")
        counts = dict(rows)
        unfinished = sum(n for status, n in counts.items() if status in UNFINISHED_STATUSES)
        if sum(counts.values()) >= expected and unfinished == 0 and pending == 0:
            return True
        time.sleep(1.0)
    return False


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def count(args: argparse.Namespace, data_dir: Path, log_path: Path, tally: Tally) -> dict:
    with sqlite3.connect(data_dir / "inkwell.sqlite3") as db:
        rows = db.execute(
            "SELECT p.id, p.channel_key, p.text, p.status, p.posted_at, MAX(i.created_at) "
            "FROM paragraphs p LEFT JOIN illustrations i ON i.paragraph_id = p.id "
            "WHERE p.channel_key LIKE 'web:load-%' GROUP BY p.id"
        ).fetchall()
        delivered = {
            delivery_id.removeprefix("illustrations:")
            for (delivery_id,) in db.execute(
                "SELECT id FROM deliveries WHERE status = 'posted' AND id LIKE 'illustrations:%'"
            )
        }
    # Every post is logged once made (a SIGKILL can swallow the last line, never add one) and
    # seen by the room's readers while connected: the larger count of the two, per paragraph.
    logged = Counter(re.findall(r"posted illustrations of paragraph (\w+)", log_path.read_text()))
    posts = {pid: max(logged[pid], tally.shown[pid]) for pid in logged.keys() | tally.shown.keys()}
    copies: dict[tuple[str, str], int] = {}
    waits: dict[str, list[float]] = {}
    illustrated = 0
    for _id, key, text, status, stored_at, drawn_at in rows:
        copies[(key, text)] = copies.get((key, text), 0) + 1
        if status == "done" and drawn_at is not None:
            illustrated += 1
            waits.setdefault(key, []).append((_when(drawn_at) - _when(stored_at)).total_seconds())
    sent = {(f"web:load-{room}", paragraph_text(room, number)) for room, number in tally.sent}
    stored_ids = {row[0] for row in rows}
    done_and_posted = {row[0] for row in rows if row[3] == "done" and row[0] in delivered}
    lost = len(sent - copies.keys()) + (len(stored_ids) - len(done_and_posted))
    stored_twice = sum(n - 1 for n in copies.values())
    posted_again = sum(n - 1 for pid, n in posts.items() if pid in stored_ids)
    room_waits = [statistics.fmean(w) for w in waits.values() if w]
    median = statistics.median(room_waits) if room_waits else 0.0
    ratio = max(room_waits) / median if median > 0 else 0.0
    acks = sorted(tally.acks_ms)
    p99 = acks[min(len(acks) - 1, int(0.99 * len(acks)))] if acks else 0.0
    return {
        "stored": len(rows),
        "illustrated": illustrated,
        "posted": len(done_and_posted),
        "seen_on_websockets": len(tally.illustrated_seen & stored_ids),
        "lost": lost,
        "duplicated": stored_twice + posted_again,
        "stored_twice": stored_twice,
        "posted_again": posted_again,
        "ack_p99_ms": p99,
        "ack_median_ms": statistics.median(acks) if acks else 0.0,
        "max_wait_ratio": ratio,
        "median_room_wait_s": median,
        "longest_room_wait_s": max(room_waits, default=0.0),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--paragraphs", type=int, default=20, help="per room")
    parser.add_argument("--resend-every", type=int, default=10, help="every Nth post resent")
    parser.add_argument("--time-limit", type=float, default=900, help="posting, seconds")
    parser.add_argument("--drain-limit", type=float, default=900, help="drawing, seconds")
    parser.add_argument("--models-cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--data-dir", type=Path, help="a new directory to keep (default: temp)")
    args = parser.parse_args(argv)
    cache = args.models_cache / "inkwell-load-models"
    cache.mkdir(parents=True, exist_ok=True)
    print("preparing the tiny models and screening heads (once)...", flush=True)
    models = prepare_models(cache)
    with tempfile.TemporaryDirectory(prefix="inkwell-load-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        if args.data_dir:
            data_dir.mkdir(parents=True)
        subprocess.run(["cp", "-r", str(models), str(data_dir / "models")], check=True)
        config = data_dir / "config.toml"
        config.write_text(config_text(args.paragraphs))
        log_path = data_dir / "bot.log"
        bot = Bot(data_dir, config, log_path, free_port())
        started = time.monotonic()
        bot.start()
        try:
            tally = asyncio.run(post_everything(args, bot))
            posted_s = time.monotonic() - started
            drawn = wait_until_drawn(
                data_dir / "inkwell.sqlite3", len(tally.sent), args.drain_limit
            )
        finally:
            bot.stop()
        result = count(args, data_dir, log_path, tally)
        took = time.monotonic() - started
    print(
        f"posted in {posted_s:.0f} s, all drawn: {drawn}, total {took:.0f} s; sent "
        f"{len(tally.sent)} of {args.rooms * args.paragraphs} within the time limit; "
        f"acks {len(tally.acks_ms)} (accepted {tally.accepted}, resends answered as stored "
        f"{tally.again}, refused {tally.refused}), reconnects {tally.reconnects}; stored "
        f"{result['stored']}, illustrated {result['illustrated']}, posted {result['posted']}, "
        f"pictures seen on the websockets {result['seen_on_websockets']}; ack median "
        f"{result['ack_median_ms']:.0f} ms; room wait median "
        f"{result['median_room_wait_s']:.1f} s, longest {result['longest_room_wait_s']:.1f} s; "
        f"duplicated: {result['stored_twice']} stored twice, {result['posted_again']} pictures "
        f"posted again; {tally.resent_on_wire} posts resent on the wire under the same delivery "
        "id (sent before the SIGKILL, not yet recorded as posted; each page shows them once)"
    )
    print(
        f"load: rooms={args.rooms} paragraphs={args.rooms * args.paragraphs} "
        f"lost={result['lost']} duplicated={result['duplicated']} "
        f"ack_p99_ms={result['ack_p99_ms']:.0f} max_wait_ratio={result['max_wait_ratio']:.2f}"
    )
    return 0 if result["lost"] == 0 and result["duplicated"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
