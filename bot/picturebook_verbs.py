"""`train-picturebook`: trains the picture-book world's models (autoencoder, UNet, CLIP)."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import Config

log = logging.getLogger("inkwell.bot")

PICTUREBOOK_VERBS = frozenset({"train-picturebook"})


def add_picturebook_verbs(verbs: Any) -> None:
    """Add the picture-book verbs to the CLI's subparsers."""
    from training.picturebook.options import TrainingPlan

    plan = TrainingPlan()
    train = verbs.add_parser(
        "train-picturebook",
        help="train the picture-book world's generator and scoring CLIP (about 80 min on a CPU)",
    )
    train.add_argument(
        "--out",
        type=Path,
        help="work folder for renders, checkpoints and samples "
        "(default: <data_dir>/models/picturebook-train)",
    )
    train.add_argument(
        "--export",
        type=Path,
        help="where the finished weights go (default: <out>/picturebook-v1); point the "
        "picturebook profile's overrides there, or copy them to engine/weights/",
    )
    train.add_argument("--steps", type=int, default=plan.diffusion_steps, help="UNet steps")
    train.add_argument("--autoencoder-steps", type=int, default=plan.autoencoder_steps)
    train.add_argument("--clip-steps", type=int, default=plan.clip_steps)
    train.add_argument("--scenes", type=int, default=plan.scenes, help="rendered scenes")
    train.add_argument("--seed", type=int, default=plan.seed)
    train.add_argument(
        "--snr-gamma",
        type=float,
        default=plan.snr_gamma,
        help="min-SNR weighting of the UNet loss (0: plain MSE, as v1; 5 is the usual value)",
    )
    train.add_argument("--threads", type=int, default=plan.threads, help="torch CPU threads")
    train.add_argument("--resume", action="store_true", help="continue the run already in --out")


def run_picturebook_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in PICTUREBOOK_VERBS; returns the exit status."""
    from training.picturebook.options import TrainingPlan
    from training.picturebook.session import train_picturebook

    counts = (args.steps, args.autoencoder_steps, args.clip_steps, args.scenes, args.threads)
    if min(counts) < 1:
        print("inkwell: step counts, --scenes and --threads must be >= 1", file=sys.stderr)
        return 2
    if args.snr_gamma < 0:
        print("inkwell: --snr-gamma must be >= 0 (0 turns the weighting off)", file=sys.stderr)
        return 2
    out: Path = args.out or config.data_path / "models" / "picturebook-train"
    if out.exists() and any(out.iterdir()) and not args.resume:
        print(
            f"inkwell: {out} already holds a training run; pass --resume to continue it, "
            "or choose another --out",
            file=sys.stderr,
        )
        return 2
    plan = replace(
        TrainingPlan(),
        seed=args.seed,
        scenes=args.scenes,
        autoencoder_steps=args.autoencoder_steps,
        diffusion_steps=args.steps,
        clip_steps=args.clip_steps,
        snr_gamma=args.snr_gamma,
        threads=args.threads,
        progress=True,
    )
    export: Path = args.export or out / "picturebook-v1"
    log.info("training the picture-book models in %s (export to %s)", out, export)
    report = train_picturebook(plan, out, export)
    stages = ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in report.seconds.items())
    log.info("done: %s; weights in %s", stages, report.exported_to)
    return 0
