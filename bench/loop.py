"""The story loop on a 10-sentence story vs the bare diffusers + open_clip calls it needs.

Run: .venv/bin/python -m bench.loop [--channels 16] [--candidates 4]
Prints, in one run on the tiny profile: one story's time through Inkwell (screening, drawing,
choosing with the library, storing, posting) divided by the bare generation + scoring time of
the same prompts and seeds; then the same with N stories posted at once (Inkwell's engine
batches across them) against N bare runs one after another. The engine may put as many
candidates in one call as the bare side does (--max-batch 64); with the config default of 16
a story's 40 candidates take three pipeline calls, which the ratio then shows.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from bench.paragraph import bare_paragraph, load_bare_models
from core.events import PostIllustrations
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from engine.local_engine import LocalEngine
from engine.profiles import resolve_profile
from storage.sqlite import SQLiteStorage

# Ten sentences the screening model rates drawable, so every one of them is drawn.
STORY = (
    "A lighthouse stands on a black cliff above a stormy sea. "
    "A small boat with a red sail fights the waves below. "
    "A fox sleeps under an old oak. The fox wakes at dawn. "
    "A red kite flies over the harbor. A castle stands on a green hill. "
    "An old stone bridge crosses a wide river. "
    "A small wooden cabin stands in a snowy forest. "
    "A ship sails under a stormy sky. A lantern glows in the window."
)


async def run(root: Path, channels: int, k: int, rounds: int, max_batch: int) -> dict[str, float]:
    profile = resolve_profile("tiny")
    bare_models = load_bare_models(root / "models")
    bare_thread = ThreadPoolExecutor(max_workers=1)  # as the engine's model worker
    loop = asyncio.get_running_loop()

    def bare(story_id: str) -> float:
        started = time.perf_counter()
        bare_paragraph(*bare_models, profile, story_id, k, STORY)
        return time.perf_counter() - started

    engine = LocalEngine.for_profile(profile, root / "models", "cpu", max_batch)
    await engine.start()
    storage = await SQLiteStorage.open(root / "bench.sqlite3", root / "images")
    inkwell = Inkwell(engine, storage, StorySettings(candidates=k, progress_interval_s=0.25))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()

    async def ours(stories: int, round_: int) -> float:
        before = len(chat.of_type(PostIllustrations))
        started = time.perf_counter()
        await asyncio.gather(
            *(chat.post(STORY, channel=f"story-{round_}-{n}") for n in range(stories))
        )
        await chat.wait_for(PostIllustrations, count=before + stories, timeout=600)
        return time.perf_counter() - started

    await loop.run_in_executor(bare_thread, bare, "warm-up")
    await ours(1, -1)  # warm-up: screening heads, first pipeline call
    one_bare, one_ours, many_bare, many_ours = [], [], [], []
    for round_ in range(rounds):
        one_bare.append(await loop.run_in_executor(bare_thread, bare, f"one-{round_}"))
        one_ours.append(await ours(1, round_))
    for round_ in range(rounds):
        total = 0.0
        for n in range(channels):
            total += await loop.run_in_executor(bare_thread, bare, f"many-{round_}-{n}")
        many_bare.append(total)
        many_ours.append(await ours(channels, 1000 + round_))
    await inkwell.stop()
    await engine.close()
    await storage.close()
    bare_thread.shutdown()
    return {
        "one_bare": statistics.median(one_bare),
        "one_ours": statistics.median(one_ours),
        "many_bare": statistics.median(many_bare),
        "many_ours": statistics.median(many_ours),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--max-batch",
        type=int,
        default=64,
        help="most candidates in one pipeline call (config batching.max_batch, 16 by default for "
        "GPU memory); 64 lets a story's 40 candidates share one call, as the bare side's do",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        result = asyncio.run(
            run(Path(scratch), args.channels, args.candidates, args.rounds, args.max_batch)
        )
    print(
        f"tiny profile, 10 sentences x {args.candidates} candidates, "
        f"engine max_batch {args.max_batch}, torch threads {torch.get_num_threads()}, "
        f"median of {args.rounds}"
    )
    print(
        f"1 story:   Inkwell {result['one_ours']:.3f}s  bare {result['one_bare']:.3f}s  "
        f"ratio {result['one_ours'] / result['one_bare']:.2f}"
    )
    print(
        f"{args.channels} stories at once: Inkwell {result['many_ours']:.3f}s  "
        f"bare one after another {result['many_bare']:.3f}s  "
        f"ratio {result['many_ours'] / result['many_bare']:.2f}"
    )


if __name__ == "__main__":
    main()
