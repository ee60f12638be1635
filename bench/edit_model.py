"""Seed 003's edit model ([0123]-[0131]): does an InstructPix2Pix UNet trained from edit pairs
make "make the fox blue" succeed more often than the fusion of two branches?

Run: .venv/bin/python -m bench.edit_model [--pairs 200] [--steps 600] [--parents 48]
Pairs are renders of the picture-book world: a scene with a fox of another colour, and the same
scene (same random details) with the fox blue, under a few phrasings of the request. An edit
model is trained on them (training/edit_model.py, the profile's UNet widened, one thread).
Two sets of pictures are edited: pictures the generator drew from held-out captions naming a
fox of another colour (as bench.attribute), and held-out renders of such scenes. Each gets
the attribute edit "make the fox blue" (ModelRunner.edit, the engine's path) once by seed
003's fusion (prompt-only feature branch) and once by the edit model. The oracle reads the
fox: success is a fox read blue after the edit of a picture whose fox was read in another
colour; "kept" is the share of those whose place the oracle still reads as before. Meaningful
only on `picturebook`. The last line is the summary.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from PIL import Image

import picturebook.render as drawing
from bench.attribute import COLOUR, KIND, blue_prompt, fox_colours, pictures, with_fox
from bench.engines import data_dir_for
from core.engine import EditRequest, GeneratedImage, GenerationRequest, Provenance
from engine.lora import adapter_dir
from engine.profiles import resolve_profile
from engine.runner import ModelRunner
from picturebook import oracle
from picturebook.captions import compose
from picturebook.world import Scene
from training.edit_model import EditModelOptions, EditPair, train_edit_model

NAME = "blue-fox"
PHRASINGS = ("make the fox blue", "the fox should be blue", "turn the fox blue", "a blue fox")
_SEED_OF = drawing.scene_seed


@contextmanager
def details_of(scene: Scene) -> Iterator[None]:
    """Renders inside draw every scene with `scene`'s random details (rain, texture), so a
    pair differs in the changed attribute alone."""
    with mock.patch.object(drawing, "scene_seed", lambda _: _SEED_OF(scene)):
        yield


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blue_pair(rng: random.Random, size: int) -> tuple[Scene, bytes, bytes]:
    """A scene with a fox of another colour, its render, and its render with the fox blue."""
    scene = with_fox(rng, None)
    fox = scene.thing(KIND)
    assert fox is not None
    blue = with_fox_coloured(scene, COLOUR)
    with details_of(scene):
        return scene, png(drawing.render(scene, size)), png(drawing.render(blue, size))


def with_fox_coloured(scene: Scene, colour: str) -> Scene:
    import dataclasses

    things = tuple(
        dataclasses.replace(t, colour=colour) if t.kind == KIND else t for t in scene.things
    )
    return dataclasses.replace(scene, things=things)


def places(images: list[Image.Image]) -> list[str | None]:
    return [reading.place for reading in oracle.read_many(images)]


def edit_all(
    runner: ModelRunner, parents: list[GeneratedImage], model: str | None
) -> tuple[list[Image.Image], float]:
    requests = [
        EditRequest(
            kind="attribute",
            image=parent.png,
            provenance=parent.provenance,
            prompt=blue_prompt(parent.provenance.prompt),
            attribute=COLOUR,
            attribute_word=KIND,
            edit_model=model,
            instruction=f"make the {KIND} {COLOUR}",
        )
        for parent in parents
    ]
    started = time.perf_counter()
    edited = runner.edit(requests)
    return pictures([e.png for e in edited]), time.perf_counter() - started


def scores(before: list[Image.Image], after: list[Image.Image]) -> tuple[float, float, int]:
    """(share of fair pictures whose fox is read blue after, share whose place is kept, fair)."""
    colours, edited = fox_colours(before), fox_colours(after)
    fair = [i for i, colour in enumerate(colours) if colour is not None and colour != COLOUR]
    if not fair:
        return float("nan"), float("nan"), 0
    old, new = places(before), places(after)
    success = sum(edited[i] == COLOUR for i in fair) / len(fair)
    kept = sum(old[i] == new[i] for i in fair) / len(fair)
    return success, kept, len(fair)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="picturebook")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--parents", type=int, default=48)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    profile = resolve_profile(args.profile)
    data, scratch = data_dir_for(args.profile, args.data_dir)
    models = data / "models"
    root = Path(tempfile.mkdtemp(prefix="bench-edit-model-")) / "adapters"

    rng = random.Random(7)
    pairs = []
    for index in range(args.pairs):
        _, original, edited = blue_pair(rng, profile.width)
        pairs.append(EditPair(original, edited, PHRASINGS[index % len(PHRASINGS)]))
    trained = train_edit_model(
        profile,
        models,
        pairs,
        adapter_dir(root, profile.name, "edit-model", NAME),
        name=NAME,
        options=EditModelOptions(
            steps=args.steps,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            checkpoint_every=args.steps,
            progress=sys.stderr.isatty(),
        ),
        device=args.device,
    )
    print(
        f"trained edit model {NAME!r} on {len(pairs)} render pairs (a fox made blue): "
        f"{trained.info.steps} steps, batch {args.batch_size}, lr {args.lr:g}, "
        f"{args.threads} thread(s): {trained.seconds:.1f} s; held loss "
        f"{trained.first_loss:.4f} -> {trained.final_loss:.4f}"
    )

    runner = ModelRunner.load(profile, models, args.device, adapters=root)
    held = random.Random(99)
    prompts = [compose(with_fox(held, None), held).text for _ in range(args.parents)]
    drawn = [
        row[0]
        for row in runner.generate(
            [GenerationRequest(p, (500 + i,)) for i, p in enumerate(prompts)]
        )
    ]
    # Held-out renders as parents too: what the model was trained on, pictures it never saw.
    unseen = random.Random(1234)
    rendered = []
    for number in range(args.parents):
        scene, original, _ = blue_pair(unseen, profile.width)
        caption = compose(scene, unseen).text
        provenance = Provenance(
            profile.name,
            caption,
            "",
            700 + number,
            profile.steps,
            profile.width,
            profile.height,
            profile.guidance_scale,
        )
        rendered.append(GeneratedImage(original, provenance))

    rows = {}
    for label, parents in (("drawn", drawn), ("renders", rendered)):
        before = pictures([p.png for p in parents])
        for method, model in (("fusion", None), ("edit model", NAME)):
            after, seconds = edit_all(runner, parents, model)
            rows[(label, method)] = (*scores(before, after), seconds)
    runner.close()

    for (label, method), (success, kept, fair, seconds) in rows.items():
        print(
            f"{label:8s} {method:10s}: fox read blue {success:.3f}, place kept {kept:.3f} "
            f"(of {fair} with a fox read, not blue; edits took {seconds:.1f} s)"
        )
    if profile.name != "picturebook":
        print(f"note: profile {profile.name!r} is not trained on the world: numbers are noise")
    if scratch is not None:
        scratch.cleanup()
    d_f, d_m = rows[("drawn", "fusion")], rows[("drawn", "edit model")]
    r_f, r_m = rows[("renders", "fusion")], rows[("renders", "edit model")]
    print(
        f"edit_model_drawn={d_m[0]:.3f} fusion_drawn={d_f[0]:.3f} fair_drawn={d_f[2]} "
        f"edit_model_renders={r_m[0]:.3f} fusion_renders={r_f[0]:.3f} fair_renders={r_f[2]} "
        f"train_s={trained.seconds:.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
