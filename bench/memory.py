"""The bot's memory with a remote engine: RSS with 1,000 stories loaded (target < 300 MB).

Run: .venv/bin/python -m bench.memory [--channels 1000] [--profile tiny]
This process starts a local Ray instance and deploys the engine (a replica process), then
starts a bot process that joins the cluster, connects a RayEngine, and has one paragraph
posted and illustrated in each of N stories. The bot reports its RSS after start-up and at
the end, its peak, and whether torch was ever imported; the replica reports its own peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 300.0


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident memory; "VmHWM" is its peak (ru_maxrss would count the
    parent's memory from before this process was forked)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def bot_process(address: str, app: str, channels: int, root: Path) -> dict:
    """The light side: no torch, the engine reached through Ray."""
    import ray

    from core.events import PostIllustrations
    from core.inkwell import Inkwell
    from core.story.settings import StorySettings
    from core.testing import FakeAdapter
    from engine.ray_engine import RayEngine
    from storage.sqlite import SQLiteStorage

    ray.init(address=address, log_to_driver=False)
    engine = await RayEngine.connect(app)
    storage = await SQLiteStorage.open(root / "bot.sqlite3", root / "images")
    inkwell = Inkwell(engine, storage, StorySettings(candidates=1, progress_interval_s=1.0))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    started_mb = rss_mb()
    began = time.perf_counter()
    for n in range(channels):
        await chat.post(f"A lantern glows on quay number {n}.", channel=f"story-{n}")
    await chat.wait_for(PostIllustrations, count=channels, timeout=3600)
    elapsed = time.perf_counter() - began
    loaded_mb = rss_mb()
    await inkwell.stop()
    await storage.close()
    return {
        "started_mb": started_mb,
        "loaded_mb": loaded_mb,
        "peak_mb": rss_mb("VmHWM"),
        "torch_imported": "torch" in sys.modules,
        "seconds": elapsed,
    }


async def engine_side(args: argparse.Namespace, models_dir: Path, scratch: Path) -> None:
    import ray

    from bench.engines import ray_engine

    # The bot's memory does not depend on picture size: small, quick pictures on tiny.
    small = {"width": 32, "height": 32, "steps": 1} if args.profile == "tiny" else {}
    async with ray_engine(args, models_dir, overrides=small) as remote:
        address = ray.get_runtime_context().gcs_address
        from bench.engines import BENCH_APP

        child = await asyncio.to_thread(
            subprocess.run,
            [
                sys.executable,
                "-m",
                "bench.memory",
                "--bot",
                address,
                BENCH_APP,
                str(args.channels),
                str(scratch),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"bot process failed:\n{child.stderr[-3000:]}")
        bot = json.loads(child.stdout.strip().splitlines()[-1])
        replica = await remote._handle.describe.remote()
    print(
        f"profile {args.profile}; {args.channels} stories, one illustrated paragraph each "
        f"({bot['seconds']:.0f} s)"
    )
    print(f"bot RSS after start-up:       {bot['started_mb']:7.1f} MB")
    print(f"bot RSS with stories loaded:  {bot['loaded_mb']:7.1f} MB")
    print(
        f"bot peak RSS:                 {bot['peak_mb']:7.1f} MB "
        f"(ratio to the {TARGET_MB:.0f} MB target: {bot['peak_mb'] / TARGET_MB:.2f})"
    )
    print(f"torch imported by the bot:    {bot['torch_imported']}")
    cuda = f", CUDA {replica['cuda_peak_mb']:.0f} MB" if replica["cuda_peak_mb"] else ""
    print(f"engine replica peak RSS ({args.profile}): {replica['peak_rss_mb']:.0f} MB{cuda}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bot":
        address, app, channels, root = sys.argv[2:6]
        result = asyncio.run(bot_process(address, app, int(channels), Path(root)))
        print(json.dumps(result))
        return
    from bench.engines import models_dir_for, parser

    parse = parser(__doc__)
    parse.add_argument("--channels", type=int, default=1000)
    args = parse.parse_args()
    with tempfile.TemporaryDirectory(prefix="inkwell-bench-") as scratch:
        asyncio.run(engine_side(args, models_dir_for(args, scratch), Path(scratch)))


if __name__ == "__main__":
    main()
