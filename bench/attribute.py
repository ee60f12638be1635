"""Attribute generators (seed 003): does a trained "blue" adapter on the feature branch make
"make the fox blue" succeed more often than the prompt-only feature branch?

Run: .venv/bin/python -m bench.attribute [--pictures 150] [--steps 300] [--parents 24]
An attribute adapter `blue` is trained (training/lora.py, one thread) on renders of scenes with
a blue fox. Parents are drawn from held-out captions with a fox of another colour; each gets the
same attribute edit (attribute "blue" on the word "fox", ModelRunner.edit, the engine's path)
once with the prompt-only feature branch and once with the adapter on the feature branch. The
oracle reads the fox's colour: success is a fox read blue after an edit of a parent whose fox
was not read blue. Meaningful only on `picturebook`. The last line is the summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import logging
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from PIL import Image

from bench.engines import data_dir_for
from core.engine import EditRequest, GenerationRequest
from engine.lora import adapter_dir
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from picturebook import oracle
from picturebook.captions import compose
from picturebook.render import render
from picturebook.world import COLOURS, Scene, sample_scene
from training.lora import LoraOptions, train_adapter
from training.style_branch import TrainingExample

KIND, COLOUR = "fox", "blue"


def with_fox(rng: random.Random, colour: str | None) -> Scene:
    """A random scene holding a fox, of `colour` (None: any colour but blue)."""
    while True:
        scene = sample_scene(rng)
        fox = scene.thing(KIND)
        if fox is None:
            continue
        wanted = colour or rng.choice([c for c in COLOURS if c != COLOUR])
        things = tuple(
            dataclasses.replace(t, colour=wanted) if t is fox else t for t in scene.things
        )
        return dataclasses.replace(scene, things=things)


def blue_prompt(prompt: str) -> str:
    """The parent's prompt with the fox said blue (its colour word replaced, or added)."""
    colours = "|".join(COLOURS)
    if re.search(rf"\b(?:{colours}) {KIND}\b", prompt):
        return re.sub(rf"\b(?:{colours}) {KIND}\b", f"{COLOUR} {KIND}", prompt)
    return re.sub(rf"\b{KIND}\b", f"{COLOUR} {KIND}", prompt, count=1)


def pictures(drawn: list[bytes]) -> list[Image.Image]:
    return [Image.open(io.BytesIO(png)).convert("RGB") for png in drawn]


def fox_colours(images: list[Image.Image]) -> list[str | None]:
    readings = oracle.read_many(images)
    return [(r.thing(KIND).colour if r.thing(KIND) is not None else None) for r in readings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="picturebook")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--pictures", type=int, default=150)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--parents", type=int, default=24)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    profile = resolve_profile(args.profile)
    data, scratch = data_dir_for(args.profile, args.data_dir)
    models = data / "models"
    work = Path(tempfile.mkdtemp(prefix="bench-attribute-"))

    rng = random.Random(5)
    folder = work / "pictures"
    folder.mkdir()
    examples = []
    for index in range(args.pictures):
        scene = with_fox(rng, COLOUR)
        path = folder / f"{index:04d}.png"
        render(scene, profile.width).save(path)
        examples.append(TrainingExample(path, f"{COLOUR}, {compose(scene, rng).text}"))
    root = work / "adapters"
    trained = train_adapter(
        profile,
        models,
        examples,
        adapter_dir(root, profile.name, "attribute", COLOUR),
        name=COLOUR,
        kind="attribute",
        phrase=COLOUR,
        options=LoraOptions(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            rank=args.rank,
            checkpoint_every=args.steps,
            progress=sys.stderr.isatty(),
        ),
        device=args.device,
    )
    print(
        f"trained attribute generator {COLOUR!r} on {len(examples)} renders with a blue fox: "
        f"{trained.info.steps} steps, batch {args.batch_size}, rank {args.rank}, lr {args.lr:g}, "
        f"{args.threads} thread(s): {trained.seconds:.1f} s; held loss "
        f"{trained.first_loss:.4f} -> {trained.final_loss:.4f}"
    )

    runner = ModelRunner.load(profile, models, args.device, adapters=root)
    held = random.Random(99)
    prompts = [compose(with_fox(held, None), held).text for _ in range(args.parents)]
    parents = [
        row[0]
        for row in runner.generate(
            [GenerationRequest(p, (500 + i,)) for i, p in enumerate(prompts)]
        )
    ]
    before = fox_colours(pictures([p.png for p in parents]))
    results: dict[str, list[str | None]] = {}
    seconds: dict[str, float] = {}
    for label, adapter in (("prompt", None), ("generator", COLOUR)):
        requests = [
            EditRequest(
                kind="attribute",
                image=parent.png,
                provenance=parent.provenance,
                prompt=blue_prompt(parent.provenance.prompt),
                attribute=COLOUR,
                attribute_word=KIND,
                attribute_adapter=adapter,
            )
            for parent in parents
        ]
        started = time.perf_counter()
        edited = runner.edit(requests)
        seconds[label] = time.perf_counter() - started
        results[label] = fox_colours(pictures([e.png for e in edited]))
    runner.close()

    fair = [i for i, colour in enumerate(before) if colour is not None and colour != COLOUR]
    rate = {
        label: sum(colours[i] == COLOUR for i in fair) / len(fair) if fair else float("nan")
        for label, colours in results.items()
    }
    print(f"parents: {len(parents)}; with a fox read, not blue: {len(fair)}")
    print(
        f"edit time: prompt-only {seconds['prompt']:.1f} s, generator {seconds['generator']:.1f} s"
    )
    print(
        f"fox read blue after 'make the fox blue': prompt-only {rate['prompt']:.3f}, "
        f"attribute generator {rate['generator']:.3f}"
    )
    if profile.name != "picturebook":
        print(f"note: profile {profile.name!r} is not trained on the world: numbers are noise")
    if scratch is not None:
        scratch.cleanup()
    print(
        f"attribute_success_generator={rate['generator']:.3f} "
        f"attribute_success_prompt={rate['prompt']:.3f} fair_parents={len(fair)} "
        f"train_s={trained.seconds:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
