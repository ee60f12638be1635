"""GPU benchmark: the sd-turbo architecture (random fp16 weights), Inkwell vs bare diffusers.

Run on a machine with an NVIDIA GPU: `python -m bench.gpu` (about 3 minutes, offline: the
architecture is built here with random weights; timing does not depend on the weights).
`--dry-run` runs the same code on the tiny profile on the CPU at tiny sizes (CI checks it).

Prints, in this order: a 4-sentence paragraph with K = 4 from its post to its first and its
last picture (Inkwell posts a paragraph's pictures together, so both are the post of the
illustrations); images/s at
batch 1, 16 and 64 through the engine against bare `StableDiffusionPipeline` calls in this
process; peak GPU memory; the same batches through the Ray engine (`--ray`, default on a GPU).
Ends with one line `gpu_bench: key=value ...`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from bench.engines import Bare, cuda_peak_mb, peak_rss_mb, ray_engine, requests_for
from core.events import PostIllustrations
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from engine.local_engine import LocalEngine
from engine.profiles import resolve_profile
from storage.sqlite import SQLiteStorage

PARAGRAPH = (
    "A lighthouse stands on a black cliff above a stormy sea. "
    "A small boat with a red sail fights the waves below. "
    "On the shore, a girl in a yellow coat waves a lantern. "
    "An old dog sleeps by the lighthouse door."
)
FULL = {"profile": "sd-turbo-arch", "size": 512, "batches": (1, 16, 64), "repeats": 3}
DRY = {"profile": "tiny", "size": 64, "batches": (1, 4), "repeats": 1}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny profile, CPU, tiny sizes")
    parser.add_argument("--device", default=None, help="default: cuda (cpu for --dry-run)")
    parser.add_argument("--models-dir", type=Path, help="default: a scratch folder")
    ray = parser.add_mutually_exclusive_group()
    ray.add_argument("--ray", dest="ray", action="store_true", default=None)
    ray.add_argument("--no-ray", dest="ray", action="store_false")
    args = parser.parse_args()
    plan = DRY if args.dry_run else FULL
    args.profile, args.size = plan["profile"], plan["size"]
    args.batches, args.repeats = plan["batches"], plan["repeats"]
    args.device = args.device or ("cpu" if args.dry_run else "cuda")
    args.max_batch = max(args.batches)
    if args.ray is None:
        args.ray = not args.dry_run
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here: run with --dry-run, or on a machine with a GPU")
    return args


def overrides(args: argparse.Namespace) -> dict[str, object]:
    return {"width": args.size, "height": args.size}


def timed(call, synchronize) -> float:
    started = time.perf_counter()
    call()
    synchronize()
    return time.perf_counter() - started


async def paragraph_times(engine: LocalEngine, root: Path) -> tuple[float, float, int]:
    """Post -> first picture and post -> last picture (one post carries them all)."""
    storage = await SQLiteStorage.open(root / "bench.sqlite3", root / "images")
    inkwell = Inkwell(engine, storage, StorySettings(candidates=4, progress_interval_s=0.05))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    try:
        for round_ in range(2):  # the first round warms up
            started = time.perf_counter()
            await chat.post(PARAGRAPH)
            posts = await chat.wait_for(PostIllustrations, count=round_ + 1, timeout=240)
            elapsed = time.perf_counter() - started
        return elapsed, elapsed, len(posts[-1].images)
    finally:
        await inkwell.stop()
        await storage.close()


async def engine_rate(engine, batch: int, repeats: int, synchronize) -> float:
    prompts = [f"a lighthouse, picture {i}" for i in range(batch)]
    await engine.generate(requests_for(prompts, list(range(batch))))  # warm-up at this size
    times = []
    for repeat in range(repeats):
        seeds = [1000 * (repeat + 1) + i for i in range(batch)]
        started = time.perf_counter()
        await engine.generate(requests_for(prompts, seeds))
        synchronize()
        times.append(time.perf_counter() - started)
    return batch / statistics.median(times)


def bare_rate(bare: Bare, batch: int, repeats: int) -> float:
    prompts = [f"a lighthouse, picture {i}" for i in range(batch)]
    bare.generate(prompts, list(range(batch)))
    times = [
        timed(
            lambda r=r: bare.generate(prompts, [1000 * (r + 1) + i for i in range(batch)]),
            bare.synchronize,
        )
        for r in range(repeats)
    ]
    return batch / statistics.median(times)


async def run(args: argparse.Namespace, models_dir: Path, root: Path) -> dict[str, float]:
    profile = resolve_profile(args.profile, overrides(args))
    began = time.perf_counter()
    engine = LocalEngine.for_profile(profile, models_dir, args.device, args.max_batch)
    await engine.start()  # builds the architecture on first use
    print(
        f"{profile.name} at {args.size}px on {args.device}: loaded in "
        f"{time.perf_counter() - began:.0f} s"
    )
    bare = Bare(profile, models_dir, args.device)
    if torch.cuda.is_available() and args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    numbers: dict[str, float] = {}
    try:
        first, last, pictures = await paragraph_times(engine, root)
        print(
            f"paragraph of 4 sentences, K = 4: post -> first picture {first:.2f} s, "
            f"-> last picture {last:.2f} s ({pictures:.0f} pictures posted together)"
        )
        numbers |= {"first_picture_s": first, "last_picture_s": last}
        for batch in args.batches:
            ours = await engine_rate(engine, batch, args.repeats, bare.synchronize)
            theirs = bare_rate(bare, batch, args.repeats)
            print(
                f"batch {batch:>3}: Inkwell {ours:7.2f} images/s, bare diffusers "
                f"{theirs:7.2f} images/s, ratio {ours / theirs:.2f}"
            )
            numbers |= {f"images_per_s_b{batch}": ours, f"ratio_b{batch}": ours / theirs}
    finally:
        await engine.close()
    peak = cuda_peak_mb()
    if peak is not None and args.device.startswith("cuda"):
        name = torch.cuda.get_device_name()
        print(f"peak GPU memory {peak:.0f} MiB on {name}")
        numbers["peak_gpu_mb"] = peak
    print(f"peak resident memory of this process {peak_rss_mb():.0f} MiB")
    del bare
    if args.ray:
        ray_args = argparse.Namespace(
            profile=args.profile, device=args.device, max_batch=args.max_batch
        )
        async with ray_engine(ray_args, models_dir, overrides(args)) as ray:
            for batch in args.batches:
                rate = await engine_rate(ray, batch, args.repeats, lambda: None)
                print(f"batch {batch:>3} through Ray: {rate:7.2f} images/s")
                numbers[f"ray_images_per_s_b{batch}"] = rate
    return numbers


def main() -> None:
    args = parse()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory(prefix="inkwell-gpu-bench-") as scratch:
        models_dir = args.models_dir or Path(scratch) / "models"
        numbers = asyncio.run(run(args, models_dir, Path(scratch)))
    line = " ".join(f"{key}={value:.3f}" for key, value in numbers.items())
    print(f"gpu_bench: dry_run={int(args.dry_run)} {line}")


if __name__ == "__main__":
    main()
