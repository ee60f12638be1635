"""Edits by reply (seeds 001 and 003): each edit kind's time against drawing the parent anew.

Run: .venv/bin/python -m bench.edit [--profile tiny] [--repeats 5]
Baseline: ModelRunner.generate of the parent's prompt and seed; each edit kind runs through
ModelRunner.edit on that parent, in the same process. Medians of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from PIL import Image

from bench.engines import data_dir_for
from core.engine import EditRequest, GenerationRequest, ToneShift
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from engine.tone import mean_luminance

PROMPT = "a girl with long hair stands on a bridge over a river"


def luminance(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return mean_luminance(image)


def median_s(call: Callable[[], object], repeats: int) -> float:
    call()  # warm-up: first calls build pipelines and allocate
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--data-dir", help="default: a temporary dir (tiny) or ./data")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    profile = resolve_profile(args.profile)
    data, temporary = data_dir_for(args.profile, args.data_dir)
    runner = ModelRunner.load(profile, data / "models", args.device)
    drawing = GenerationRequest(PROMPT, (7,))
    [[parent]] = runner.generate([drawing])
    p = parent.provenance
    edits = {
        "global (darker)": EditRequest(
            "global", parent.png, p, f"{PROMPT}, dark", tone=ToneShift(0.7)
        ),
        "add (inpaint)": EditRequest(
            "add", parent.png, p, f"{PROMPT}, a dragon", region=(0.0, 0.3, 0.5, 1.0)
        ),
        "remove (inpaint)": EditRequest(
            "remove", parent.png, p, PROMPT, region=(0.5, 0.0, 1.0, 0.5), element="river"
        ),
        "attribute (2 branches, 2 passes)": EditRequest(
            "attribute",
            parent.png,
            p,
            PROMPT.replace("long hair", "long red hair"),
            attribute="red hair",
            attribute_word="hair",
        ),
    }
    base_s = median_s(lambda: runner.generate([drawing]), args.repeats)
    print(f"profile {profile.name} on {runner.device}, {p.width}x{p.height}, {p.steps} steps")
    print(f"baseline: generate the parent (1 picture) {base_s * 1000:.1f} ms")
    for name, request in edits.items():
        seconds = median_s(lambda request=request: runner.edit([request]), args.repeats)
        print(f"{name:34s} {seconds * 1000:8.1f} ms  x{seconds / base_s:.2f} of the baseline")
    [darker] = runner.edit([edits["global (darker)"]])
    before, after = luminance(parent.png), luminance(darker.png)
    print(
        f"'darker' mean luminance {before:.1f} -> {after:.1f} (x{after / before:.2f}, asked 0.70)"
    )
    print(f"threads: {torch.get_num_threads()}; median of {args.repeats} after one warm-up each")
    runner.close()
    if temporary is not None:
        temporary.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
