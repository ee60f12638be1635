"""`train-look-adapter`: trains the image-prompt adapter the cast's looks go through."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import Config

log = logging.getLogger("inkwell.bot")

LOOK_VERBS = frozenset({"train-look-adapter"})
# Profiles whose pictures are the picture-book world's, the only training data this verb has.
WORLD_PROFILES = ("picturebook", "tiny")


def add_look_verbs(verbs: Any) -> None:
    """Add the look-adapter verb to the CLI's subparsers."""
    from training.ip_adapter import LookAdapterOptions

    defaults = LookAdapterOptions()
    train = verbs.add_parser(
        "train-look-adapter",
        help="train the picture-book profile's look adapter (an IP-Adapter; UNet frozen) on "
        "renders and crops of their own figures; a rerun resumes unless --fresh",
    )
    train.add_argument(
        "--out",
        type=Path,
        help="where the adapter goes (default: <data_dir>/models/look-adapter/<profile>, "
        "where the engine looks; elsewhere, set [models.overrides] look_adapter)",
    )
    train.add_argument("--steps", type=int, default=defaults.steps)
    train.add_argument("--scenes", type=int, default=defaults.scenes, help="rendered scenes")
    train.add_argument("--batch-size", type=int, default=defaults.batch_size)
    train.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    train.add_argument("--seed", type=int, default=defaults.seed)
    train.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (0: torch's own; on a shared CPU two busy threads ran 30x slower)",
    )
    train.add_argument("--fresh", action="store_true", help="start over instead of resuming")


def run_look_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in LOOK_VERBS; returns the exit status."""
    import torch

    from engine.looks import default_look_dir
    from engine.profiles import resolve_profile
    from training.ip_adapter import LookAdapterOptions, train_look_adapter, trainer_for_profile

    profile = resolve_profile(config.models.profile, config.models.overrides)
    if profile.name not in WORLD_PROFILES:
        print(
            f"inkwell: train-look-adapter trains on the picture-book world, so it is for the "
            f"{' and '.join(WORLD_PROFILES)} profiles, not {profile.name!r} "
            "(sd15 uses h94/IP-Adapter; no IP-Adapter is published for SD 2.x)",
            file=sys.stderr,
        )
        return 2
    if min(args.steps, args.scenes, args.batch_size) < 1 or args.learning_rate <= 0:
        print(
            "inkwell: --steps, --scenes, --batch-size and --learning-rate must be > 0",
            file=sys.stderr,
        )
        return 2
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    models_dir = config.data_path / "models"
    out: Path = args.out or default_look_dir(models_dir, profile.name)
    options = replace(
        LookAdapterOptions(),
        steps=args.steps,
        scenes=args.scenes,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    log.info("training the %s look adapter into %s", profile.name, out)
    trainer = trainer_for_profile(profile, models_dir, options, config.models.device)
    done = train_look_adapter(trainer, out, profile.name, fresh=args.fresh)
    log.info(
        "look adapter for %r: %d steps in %.0f s; loss with its own crop %.4f -> %.4f, with "
        "another scene's crop %.4f -> %.4f; saved in %s",
        *(profile.name, done.steps, done.seconds, done.loss_before[0], done.loss_after[0]),
        *(done.loss_before[1], done.loss_after[1], done.directory),
    )
    if args.out is not None:
        log.info("to use it, set [models.overrides] look_adapter = %r in config.toml", str(out))
    return 0
