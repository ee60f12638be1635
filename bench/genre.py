"""Genre adapters (seed 000 claim 16): does a LoRA trained on a genre move drawings toward it?

Run: .venv/bin/python -m bench.genre [--profile picturebook] [--style flat]
     [--pictures 150] [--steps 300] [--prompts 48]
The genre is one of the picture-book world's drawing styles: `--pictures` scenes rendered in
it, captioned without naming any style, train a genre adapter (training/lora.py, one thread).
Held-out captions that name no style are then drawn through ModelRunner, the engine's path,
with the same seeds with and without the adapter. Two measures: the oracle's share of pictures
read as the genre's style, and the colour-histogram distance (total variation over 8x8x8 RGB
bins, 0 = same colours, 1 = disjoint) from the drawn set to held-out renders of the genre; the
distance of held-out renders in the other styles is printed as the scale. Meaningful only on
`picturebook`; on `tiny` the path runs on noise. The last line is the summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from PIL import Image

from bench.engines import data_dir_for
from core.engine import GenerationRequest
from engine.lora import adapter_dir
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from picturebook import oracle
from picturebook.captions import compose
from picturebook.render import render
from picturebook.world import STYLES, Scene, sample_scene
from training.lora import LoraOptions, train_adapter
from training.style_branch import TrainingExample

BINS = 8
# A sepia toning matrix (rows: output R, G, B): `--palette sepia` gives the genre a palette of
# its own on top of its drawing style, which the colour histogram then measures.
SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])


def toned(image: Image.Image, palette: str) -> Image.Image:
    if palette == "none":
        return image
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64) @ SEPIA.T
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def unstyled_caption(scene: Scene, rng: random.Random) -> str:
    """A caption of the scene that names no drawing style (the adapter must carry it)."""
    while True:
        made = compose(scene, rng)
        if made.facts.style is None:
            return made.text


def genre_scenes(count: int, style: str, seed: int) -> list[Scene]:
    rng = random.Random(seed)
    return [dataclasses.replace(sample_scene(rng), style=style) for _ in range(count)]


def colour_histogram(images: list[Image.Image]) -> np.ndarray:
    """The set's joint RGB histogram, BINS per channel, normalised to sum 1."""
    counts = np.zeros(BINS**3, np.float64)
    for image in images:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3) // (256 // BINS)
        index = (pixels[:, 0] * BINS + pixels[:, 1]) * BINS + pixels[:, 2]
        counts += np.bincount(index, minlength=BINS**3)
    return counts / counts.sum()


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation between two histograms: 0 same colours, 1 disjoint."""
    return float(0.5 * np.abs(a - b).sum())


def draw(runner: ModelRunner, prompts: list[str], genre: str | None) -> list[Image.Image]:
    requests = [GenerationRequest(p, (1000 + i,), genre=genre) for i, p in enumerate(prompts)]
    drawn = runner.generate(requests)
    return [Image.open(io.BytesIO(row[0].png)).convert("RGB") for row in drawn]


def style_share(images: list[Image.Image], style: str) -> float:
    readings = oracle.read_many(images)
    return sum(r.style == style for r in readings) / len(readings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="picturebook")
    parser.add_argument("--data-dir", default=None)
    # flat: the style the base model draws least from captions naming none (4 of 24 here).
    parser.add_argument("--style", default="flat", choices=STYLES)
    parser.add_argument("--palette", default="none", choices=("none", "sepia"))
    parser.add_argument("--pictures", type=int, default=150)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--convolutions", action="store_true", help="adapt ResNet convs too")
    parser.add_argument("--prompts", type=int, default=48)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    profile = resolve_profile(args.profile)
    data, scratch = data_dir_for(args.profile, args.data_dir)
    models = data / "models"
    work = Path(tempfile.mkdtemp(prefix="bench-genre-"))
    name, phrase = f"{args.style}-book", f"{args.style} book"

    rng = random.Random(7)
    folder = work / "pictures"
    folder.mkdir()
    for index, scene in enumerate(genre_scenes(args.pictures, args.style, seed=1)):
        toned(render(scene, profile.width), args.palette).save(folder / f"{index:04d}.png")
        (folder / f"{index:04d}.txt").write_text(unstyled_caption(scene, rng), encoding="utf-8")
    examples = [
        TrainingExample(path, f"{phrase}, {path.with_suffix('.txt').read_text(encoding='utf-8')}")
        for path in sorted(folder.glob("*.png"))
    ]
    root = work / "adapters"
    options = LoraOptions(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        rank=args.rank,
        convolutions=args.convolutions,
        checkpoint_every=args.steps,
        progress=sys.stderr.isatty(),
    )
    trained = train_adapter(
        profile,
        models,
        examples,
        adapter_dir(root, profile.name, "genre", name),
        name=name,
        kind="genre",
        phrase=phrase,
        options=options,
        device=args.device,
    )
    print(
        f"trained genre {name!r} on {len(examples)} {args.style} renders: {trained.info.steps} "
        f"steps, batch {args.batch_size}, rank {args.rank}, lr {args.lr:g}, "
        f"{'attention + conv' if args.convolutions else 'attention'} layers, "
        f"{args.threads} thread(s): {trained.seconds:.1f} s; held loss "
        f"{trained.first_loss:.4f} -> {trained.final_loss:.4f}"
    )

    held = [sample_scene(random.Random(10_000 + i)) for i in range(args.prompts)]
    prompt_rng = random.Random(11)
    prompts = [unstyled_caption(scene, prompt_rng) for scene in held]
    runner = ModelRunner.load(profile, models, args.device, adapters=root)
    started = time.perf_counter()
    bare = draw(runner, prompts, None)
    bare_s = time.perf_counter() - started
    started = time.perf_counter()
    with_genre = draw(runner, prompts, name)
    genre_s = time.perf_counter() - started
    runner.close()

    genre_set = [
        toned(render(s, profile.width), args.palette)
        for s in genre_scenes(args.prompts, args.style, 2)
    ]
    others = [
        render(
            dataclasses.replace(
                s, style=random.Random(i).choice([x for x in STYLES if x != args.style])
            ),
            profile.width,
        )
        for i, s in enumerate(genre_scenes(args.prompts, args.style, 3))
    ]
    target = colour_histogram(genre_set)
    d_bare = distance(colour_histogram(bare), target)
    d_genre = distance(colour_histogram(with_genre), target)
    d_others = distance(colour_histogram(others), target)
    d_floor = distance(
        colour_histogram(
            [
                toned(render(s, profile.width), args.palette)
                for s in genre_scenes(args.prompts, args.style, 4)
            ]
        ),
        target,
    )
    share_bare = style_share(bare, args.style)
    share_genre = style_share(with_genre, args.style)
    share_real = style_share(genre_set, args.style)
    palette = f" in a {args.palette} palette" if args.palette != "none" else ""
    print(f"genre: {args.style} renders{palette}")
    print(f"prompts: {len(prompts)} held-out captions naming no style, one seed each")
    print(f"drawing: bare {bare_s:.1f} s, with the adapter {genre_s:.1f} s")
    print(
        f"oracle reads {args.style!r}: bare {share_bare:.3f}, genre {share_genre:.3f} "
        f"(the genre's own renders: {share_real:.3f})"
    )
    print(
        f"colour-histogram distance to {args.style} renders: bare {d_bare:.3f}, genre "
        f"{d_genre:.3f} (the world's renders in other styles {d_others:.3f}, more genre renders "
        f"{d_floor:.3f})"
    )
    if profile.name != "picturebook":
        print(f"note: profile {profile.name!r} is not trained on the world: numbers are noise")
    if scratch is not None:
        scratch.cleanup()
    ratio = d_genre / d_bare if d_bare else float("nan")
    print(
        f"genre_style_share={share_genre:.3f} bare_style_share={share_bare:.3f} "
        f"hist_distance_ratio={ratio:.3f} train_s={trained.seconds:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
