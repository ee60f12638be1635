"""Style verbs: `train-style DIR` trains the style branch, `stysim A B` compares two pictures."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

from bot.config import Config

log = logging.getLogger("inkwell.bot")

STYLE_VERBS = frozenset({"train-style", "stysim"})


def add_style_verbs(verbs: Any) -> None:
    """Add the style verbs to the CLI's subparsers."""
    train = verbs.add_parser(
        "train-style",
        help="train the style branch (seed 004) on a folder of images with optional .txt captions",
    )
    train.add_argument("folder", type=Path, help="images (+ same-named .txt captions)")
    train.add_argument("--steps", type=int, default=1000, help="total optimiser steps")
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--lr", type=float, default=1e-5, help="learning rate (AdamW)")
    train.add_argument("--checkpoint-every", type=int, default=250, help="steps between saves")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--out",
        type=Path,
        help="where the branch goes (default: <data_dir>/models/style-branch/<profile>, "
        "where the bot looks for it)",
    )
    train.add_argument(
        "--fresh", action="store_true", help="discard checkpoints in --out instead of resuming"
    )
    stysim = verbs.add_parser("stysim", help="StySim of two pictures (lower is closer in style)")
    stysim.add_argument("a", type=Path)
    stysim.add_argument("b", type=Path)


def run_style_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in STYLE_VERBS; returns the exit status."""
    from engine.profiles import resolve_profile

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        print(f"inkwell: configuration error: 'models.profile': {error}", file=sys.stderr)
        return 2
    models_dir = config.data_path / "models"
    if args.verb == "stysim":
        return _stysim(args, profile, config.models.device)
    return _train(args, profile, models_dir, config.models.device)


def _stysim(args: argparse.Namespace, profile: Any, device: str) -> int:
    from core.style.reference import StyleImageRefused, StyleLimits, normalise_style_image
    from engine.device import resolve_device
    from engine.style_features import VGGStyle, open_rgb

    # Generated pictures can be smaller than a style upload may be; the rest still applies.
    limits = StyleLimits(min_side=1, max_stored_side=1 << 16)
    images = []
    for path in (args.a, args.b):
        try:
            images.append(open_rgb(normalise_style_image(path.read_bytes(), limits).png))
        except (OSError, StyleImageRefused) as error:
            print(f"inkwell: {path}: {error}", file=sys.stderr)
            return 2
    vgg = VGGStyle(profile.vgg_weights, profile.style_image_size, resolve_device(device))
    [value] = vgg.stysim([images[0]], [images[1]])
    if profile.vgg_weights is None:
        print(
            f"note: profile {profile.name!r} uses random VGG19 weights; this StySim only "
            "checks the plumbing, not style.",
            file=sys.stderr,
        )
    print(f"{value:.6g}")
    return 0


def _train(args: argparse.Namespace, profile: Any, models_dir: Path, device: str) -> int:
    from engine.style_branch import default_branch_dir
    from training.style_branch import StyleTrainer, TrainingOptions, training_examples

    if min(args.steps, args.batch_size, args.checkpoint_every) < 1:
        print("inkwell: --steps, --batch-size and --checkpoint-every must be >= 1", file=sys.stderr)
        return 2
    try:
        examples = training_examples(args.folder)
    except (OSError, ValueError) as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    default_out = Path(profile.style_branch or default_branch_dir(models_dir, profile.name))
    out = args.out or default_out
    options = TrainingOptions(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        progress=sys.stderr.isatty(),
    )
    log.info("training the %r style branch on %d images into %s", profile.name, len(examples), out)
    trainer = StyleTrainer.for_profile(profile, models_dir, examples, options, device)
    if args.fresh:
        shutil.rmtree(out / "checkpoints", ignore_errors=True)
    elif not trainer.resume(out):
        log.info("no checkpoint in %s: starting from the zero-initialised branch", out)
    start = trainer.step
    losses = trainer.run(out)
    if trainer.step % options.checkpoint_every:
        trainer.save_checkpoint(out)
    trainer.save_final(out)
    if losses:
        log.info(
            "steps %d-%d: loss %.4f at the first, %.4f at the last",
            *(start + 1, trainer.step, losses[0], losses[-1]),
        )
    if out.resolve() != default_out.resolve():
        log.info("to use it, set [models.overrides] style_branch = %r in config.toml", str(out))
    return 0
