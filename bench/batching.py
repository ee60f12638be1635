"""Batching across channels: images/s with 1, 4 and 16 channels vs one bare batched call.

Run: .venv/bin/python -m bench.batching [--rounds 9] [--candidates 1] [--profile tiny]
N channels each ask the engine for K candidates at the same moment; the engine should merge
them into one model call. The baseline is one bare diffusers call drawing all N x K images
(PNG-encoded like the engine's). Printed per engine and N: images/s and the ratio to the
baseline: the median over rounds of each round's ratio (a round runs every side, one after
the other). The last line is `min_ratio=R`, the lowest of those ratios (target >= 0.95).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

from bench.engines import Bare, models_dir_for, parser, ray_engine, scratch_dir, start_local
from core.engine import Engine, GenerationRequest
from engine.profiles import resolve_profile

CHANNELS = (1, 4, 16)
ENGINES = ("LocalEngine", "RayEngine")
TARGET = 0.95


async def channels_at_once(engine: Engine, channels: int, k: int, round_: int) -> float:
    """Wall time for `channels` concurrent generate calls of `k` candidates each."""
    calls = [
        engine.generate(
            [GenerationRequest(f"story {c}: a lantern on a quay", tuple(range(round_, round_ + k)))]
        )
        for c in range(channels)
    ]
    started = time.perf_counter()
    await asyncio.gather(*calls)
    return time.perf_counter() - started


async def run(args, models_dir: Path) -> None:
    bare = Bare(resolve_profile(args.profile), models_dir, args.device)
    local = await start_local(args, models_dir)

    def bare_call(total: int, round_: int) -> float:
        prompts = [f"story {n}: a lantern on a quay" for n in range(total)]
        started = time.perf_counter()
        bare.generate(prompts, [round_ + n for n in range(total)])
        bare.synchronize()
        return time.perf_counter() - started

    k = args.candidates
    rates: dict[tuple[str, int], list[float]] = {}
    async with ray_engine(args, models_dir) as remote:
        engines = dict(zip(ENGINES, (local, remote), strict=True))
        for round_ in range(-1, args.rounds):  # round -1 warms every side up
            for n in CHANNELS:
                sides = {"bare": lambda n=n, r=round_: asyncio.to_thread(bare_call, n * k, r)}
                for name, engine in engines.items():
                    sides[name] = lambda e=engine, n=n, r=round_: channels_at_once(e, n, k, r)
                for name, side in sides.items():
                    elapsed = await side()
                    if round_ >= 0:
                        rates.setdefault((name, n), []).append(n * k / elapsed)
    await local.close()

    print(
        f"profile {args.profile} on {bare.device}, {k} candidate(s) per channel, "
        f"median of {args.rounds} rounds, max_batch {args.max_batch}"
    )
    print(f"{'engine':<12} {'channels':>8} {'bare img/s':>11} {'engine img/s':>13} {'ratio':>6}")
    ratios = []
    for name in ENGINES:
        for n in CHANNELS:
            base, ours = rates[("bare", n)], rates[(name, n)]
            # Each round's ratio pairs runs made seconds apart: steadier on a shared CPU.
            ratio = statistics.median(e / b for e, b in zip(ours, base, strict=True))
            ratios.append(ratio)
            print(
                f"{name:<12} {n:>8} {statistics.median(base):>11.1f} "
                f"{statistics.median(ours):>13.1f} {ratio:>6.2f}"
            )
    print(f"target: every ratio >= {TARGET} (batching loses at most 5% to one bare call)")
    print(f"min_ratio={min(ratios):.2f}", flush=True)


def main() -> None:
    parse = parser(__doc__)
    parse.add_argument("--rounds", type=int, default=9)
    parse.add_argument("--candidates", type=int, default=1)
    args = parse.parse_args()
    with scratch_dir() as scratch:
        asyncio.run(run(args, models_dir_for(args, scratch)))


if __name__ == "__main__":
    main()
