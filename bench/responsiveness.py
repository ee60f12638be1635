"""Responsiveness while the engine is saturated: chat-side ack latency and event-loop stalls.

Run: .venv/bin/python -m bench.responsiveness [--busy 8] [--posts 60] [--profile tiny]
`--busy` stories keep the engine full (each posts a new paragraph as soon as its last one is
drawn); meanwhile writers in other stories post paragraphs and we time each post until the
core's acknowledgement (what a chat adapter answers the platform with), and a ticker measures
the event loop's longest stall. Run once with LocalEngine (models on a thread of this process)
and once with RayEngine (models in a replica process). Targets: ack p99 < 200 ms, stall < 50 ms.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from bench.engines import models_dir_for, parser, ray_engine, scratch_dir, start_local
from core.engine import Engine
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage

PARAGRAPH = (
    "A lighthouse stands on a black cliff above a stormy sea. "
    "A small boat with a red sail fights the waves below."
)


class StallMeter:
    """Sleeps `tick_s` over and over; the longest overshoot is the loop's longest stall."""

    def __init__(self, tick_s: float = 0.005) -> None:
        self.tick_s = tick_s
        self.longest = 0.0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self.tick_s)
            self.longest = max(self.longest, time.perf_counter() - started - self.tick_s)

    def __enter__(self) -> StallMeter:
        self._task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def saturated(engine: Engine, root: Path, busy: int, posts: int) -> tuple[list[float], float]:
    storage = await SQLiteStorage.open(root / "bench.sqlite3", root / "images")
    settings = StorySettings(candidates=4, progress_interval_s=0.25)
    inkwell = Inkwell(engine, storage, settings)
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    for n in range(busy):  # every busy story has one paragraph queued behind another
        await chat.post(PARAGRAPH, channel=f"busy-{n}")
        await chat.post(PARAGRAPH, channel=f"busy-{n}")
    await asyncio.sleep(1.0)  # the engine is working now
    acks: list[float] = []
    with StallMeter() as meter:
        for n in range(posts):
            started = time.perf_counter()
            replies = await chat.post(PARAGRAPH, channel=f"writer-{n % 10}")
            acks.append(time.perf_counter() - started)
            assert replies, "the core answered nothing"
            await asyncio.sleep(0.05)
        stall = meter.longest
    await inkwell.stop()  # stops what is still queued; the paragraphs stay stored
    await storage.close()
    return acks, stall


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(args, models_dir: Path, scratch: Path) -> None:
    results: dict[str, tuple[list[float], float]] = {}
    local = await start_local(args, models_dir)
    results["LocalEngine"] = await saturated(local, scratch / "local", args.busy, args.posts)
    await local.close()
    async with ray_engine(args, models_dir) as remote:
        results["RayEngine"] = await saturated(remote, scratch / "ray", args.busy, args.posts)

    print(
        f"profile {args.profile}, {args.busy} busy stories keep the engine full, "
        f"{args.posts} posts timed to their acknowledgement"
    )
    print(f"{'engine':12s} {'ack p50':>9s} {'ack p99':>9s} {'longest stall':>14s}")
    for name, (acks, stall) in results.items():
        print(
            f"{name:12s} {statistics.median(acks) * 1000:7.1f}ms "
            f"{percentile(acks, 0.99) * 1000:7.1f}ms {stall * 1000:12.1f}ms"
        )
    ray_acks, ray_stall = results["RayEngine"]
    local_acks, local_stall = results["LocalEngine"]
    p99_ratio = percentile(ray_acks, 0.99) / percentile(local_acks, 0.99)
    print(
        f"ratio Ray / Local: ack p99 {p99_ratio:.2f}, longest stall {ray_stall / local_stall:.2f}"
    )
    print("targets: ack p99 < 200 ms, longest stall < 50 ms")


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--busy", type=int, default=8)
    parse.add_argument("--posts", type=int, default=60)
    args = parse.parse_args()
    with scratch_dir() as scratch:
        root = Path(scratch)
        for side in ("local", "ray"):
            (root / side).mkdir()
        asyncio.run(run(args, models_dir_for(args, scratch), root))


if __name__ == "__main__":
    main()
