"""Style references (seed 004): StySim of styled vs unstyled pictures, and the branch's time cost.

Run: .venv/bin/python -m bench.style [--profile tiny] [--style PICTURE] [--repeats 3]
Both sides draw the same prompts with the same seeds through ModelRunner, the engine's batched
path; StySim compares each picture with the style picture (lower is closer).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from PIL import Image

from bench.engines import data_dir_for
from core.engine import GenerationRequest, StyleRef
from core.style.reference import normalise_style_image
from engine.device import resolve_device
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from engine.style_features import VGGStyle, open_rgb

PROMPTS = (
    "A lighthouse stands on a black cliff above a stormy sea.",
    "A small boat with a red sail fights the waves below.",
    "On the shore, a girl in a yellow coat waves a lantern.",
    "An old fox watches from the dunes.",
)
NOTES = {
    "random": "tiny profile: random UNet, VAE, VGG19 and branch weights. The StySim gap only "
    "shows the style reaches the pictures (the plumbing); it says nothing about style quality.",
    "untrained": "no trained style branch: the zero branch adds exact zeros, so styled and "
    "unstyled pictures are identical and the gap is 0 by construction; the time is still real.",
    "trained": "trained branch: a lower styled StySim means pictures moved toward the style.",
}


def default_style_picture() -> bytes:
    """Bold diagonal stripes in two colours: a texture any VGG, even a random one, notices."""
    y, x = np.mgrid[0:512, 0:512]
    stripes = ((x + y) // 32) % 2 == 0
    pixels = np.where(stripes[..., None], [230, 90, 30], [20, 40, 120]).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def timed(runner: ModelRunner, requests: list[GenerationRequest], repeats: int) -> tuple:
    times, images = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        images = runner.generate(requests)
        times.append(time.perf_counter() - started)
    return statistics.median(times), [open_rgb(image.png) for row in images for image in row]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--data-dir", help="default: a temporary dir (tiny) or ./data")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--style", type=Path, help="style picture (default: generated stripes)")
    parser.add_argument("--seeds", type=int, default=2, help="candidates per prompt")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side (median)")
    parser.add_argument("--strength", type=float, default=1.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    profile = resolve_profile(args.profile)
    data, temporary = data_dir_for(args.profile, args.data_dir)
    runner = ModelRunner.load(profile, data / "models", args.device)
    raw = args.style.read_bytes() if args.style else default_style_picture()
    style_png = normalise_style_image(raw).png
    style = StyleRef("bench-style", style_png, args.strength)

    seeds = tuple(range(1, args.seeds + 1))
    plain = [GenerationRequest(prompt, seeds) for prompt in PROMPTS]
    styled = [GenerationRequest(prompt, seeds, style=style) for prompt in PROMPTS]
    runner.generate(plain[:1])  # warm-up: first calls allocate; the first styled one also
    started = time.perf_counter()  # loads the branch and VGG19, reported on its own
    runner.generate(styled[:1])
    first_styled = time.perf_counter() - started

    base_s, base_images = timed(runner, plain, args.repeats)
    styled_s, styled_images = timed(runner, styled, args.repeats)

    vgg = VGGStyle(profile.vgg_weights, profile.style_image_size, resolve_device(args.device))
    started = time.perf_counter()
    vgg.style_maps([open_rgb(style_png)])
    map_s = time.perf_counter() - started
    target = [open_rgb(style_png)]
    sim_plain = [vgg.stysim([image], target)[0] for image in base_images]
    sim_styled = [vgg.stysim([image], target)[0] for image in styled_images]
    mean_plain, mean_styled = statistics.fmean(sim_plain), statistics.fmean(sim_styled)
    identical = all(
        np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(base_images, styled_images, strict=True)
    )

    count = len(PROMPTS) * len(seeds)
    print(f"profile {profile.name} on {runner.device}, style branch: {runner.style_branch}")
    print(
        f"{len(PROMPTS)} prompts x {len(seeds)} seeds = {count} pictures per side, "
        f"{profile.width}x{profile.height}, {profile.steps} steps, median of {args.repeats}"
    )
    print(
        f"StySim(unstyled, style) mean {mean_plain:.6g}  (per picture min {min(sim_plain):.4g}"
        f" max {max(sim_plain):.4g})"
    )
    print(
        f"StySim(styled,   style) mean {mean_styled:.6g}  (per picture min {min(sim_styled):.4g}"
        f" max {max(sim_styled):.4g})"
    )
    gap = (mean_plain - mean_styled) / mean_plain * 100 if mean_plain else 0.0
    print(f"styled is {gap:+.1f}% closer (lower StySim); pictures identical: {identical}")
    print(
        f"time: base {base_s:.3f}s, styled {styled_s:.3f}s, overhead x{styled_s / base_s:.2f}"
        f" (branch per step; style map {map_s * 1000:.0f} ms once per style picture, cached;"
        f" first styled call incl. loading {first_styled:.2f}s)"
    )
    print(f"threads: {torch.get_num_threads()}; note: {NOTES[runner.style_branch]}")
    runner.close()
    if temporary is not None:
        temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
