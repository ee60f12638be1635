"""Engine overhead: LocalEngine and RayEngine vs bare diffusers + open_clip for the same work.

Run: .venv/bin/python -m bench.engine_overhead [--rounds 8] [--profile tiny]
One unit of work is what one paragraph needs from the models: draw K candidates for each of
S sentences in one batch, embed the candidates and the sentences. The three sides alternate
round by round in one run (Ray's replica is another process on the same machine), so noise
hits them alike; the ratios are each engine's median over the bare median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.engines import (
    Bare,
    cuda_peak_mb,
    models_dir_for,
    parser,
    peak_rss_mb,
    ray_engine,
    requests_for,
    scratch_dir,
    start_local,
)
from core.engine import Engine
from engine.profiles import resolve_profile

SENTENCES = [
    "A lighthouse stands on a black cliff above a stormy sea.",
    "A small boat with a red sail fights the waves below.",
    "On the shore, a girl in a yellow coat waves a lantern.",
    "A fox sleeps under an old oak.",
]


def work(k: int, round_: int) -> tuple[list[str], list[int]]:
    prompts = [s for s in SENTENCES for _ in range(k)]
    return prompts, [1000 * round_ + n for n in range(len(prompts))]


async def through(engine: Engine, k: int, round_: int) -> None:
    prompts, seeds = work(k, round_)
    results = await engine.generate(requests_for(prompts, seeds))
    await engine.embed_images([r[0].png for r in results])
    await engine.embed_texts(SENTENCES)


async def timed(call: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await call()
    return time.perf_counter() - started


async def run(args, models_dir: Path) -> None:
    bare = Bare(resolve_profile(args.profile), models_dir, args.device)
    local = await start_local(args, models_dir)

    async def bare_round(round_: int) -> None:
        prompts, seeds = work(args.candidates, round_)

        def both() -> None:
            bare.embed(bare.generate(prompts, seeds), SENTENCES)
            bare.synchronize()

        await asyncio.to_thread(both)  # on a worker thread, as the local engine's models are

    times: dict[str, list[float]] = {"bare": [], "local": [], "ray": []}
    async with ray_engine(args, models_dir) as remote:
        sides = {
            "bare": bare_round,
            "local": lambda n: through(local, args.candidates, n),
            "ray": lambda n: through(remote, args.candidates, n),
        }
        for round_ in range(-1, args.rounds):  # round -1 warms every side up
            for name, side in sides.items():
                elapsed = await timed(lambda side=side, r=round_: side(r))
                if round_ >= 0:
                    times[name].append(elapsed)
        replica = await remote._handle.describe.remote()
    await local.close()

    medians = {name: statistics.median(values) for name, values in times.items()}
    images = len(SENTENCES) * args.candidates
    print(
        f"profile {args.profile} on {bare.device}, {len(SENTENCES)} sentences x "
        f"{args.candidates} candidates ({images} images + embeddings) per round, "
        f"{args.rounds} rounds"
    )
    for name, label in (("bare", "bare diffusers + open_clip"), ("local", "LocalEngine")):
        print(f"{label:28s} median {medians[name] * 1000:8.1f} ms")
    print(f"{'RayEngine (local Ray)':28s} median {medians['ray'] * 1000:8.1f} ms")
    print(f"ratio LocalEngine / bare: {medians['local'] / medians['bare']:.2f}")
    print(f"ratio RayEngine / bare:   {medians['ray'] / medians['bare']:.2f}")
    cuda = cuda_peak_mb()
    print(
        f"engine peak memory ({args.profile}): Ray replica RSS {replica['peak_rss_mb']:.0f} MiB"
        + (f", CUDA {replica['cuda_peak_mb']:.0f} MiB" if replica["cuda_peak_mb"] else "")
        + f"; this process (bare + LocalEngine) RSS {peak_rss_mb():.0f} MiB"
        + (f", CUDA {cuda:.0f} MiB" if cuda else "")
    )


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--rounds", type=int, default=8)
    parse.add_argument("--candidates", type=int, default=4)
    args = parse.parse_args()
    with scratch_dir() as scratch:
        asyncio.run(run(args, models_dir_for(args, scratch)))


if __name__ == "__main__":
    main()
