"""LoRA verbs: `train-genre` and `train-attribute` train an adapter into the adapters folder.

`train-genre DIR --name NAME` is seed 000 claim 16's genre fine-tuning; `train-attribute DIR
--name NAME` trains one of seed 003's attribute generators.

    python -m bot train-genre pictures/wuxia --name wuxia --phrase "wuxia style"

Captions come from each picture's .txt sibling; `--phrase` is put in front of every caption
(and is the whole caption of pictures without one). Training resumes from the adapter's last
checkpoint unless `--fresh`; the engine lists the adapter once its files are complete.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path
from typing import Any

from bot.config import Config
from core.engine import ADAPTER_NAME

log = logging.getLogger("inkwell.bot")

LORA_VERBS = frozenset({"train-genre", "train-attribute"})


def add_lora_verbs(verbs: Any) -> None:
    """Add the LoRA training verbs to the CLI's subparsers."""
    helps = {
        "train-genre": "train a genre adapter (LoRA) on a folder of pictures of the story's genre",
        "train-attribute": "train an attribute generator (LoRA) on pictures with the attribute",
    }
    for verb, text in helps.items():
        train = verbs.add_parser(verb, help=text)
        train.add_argument("folder", type=Path, help="pictures (+ same-named .txt captions)")
        train.add_argument("--name", required=True, help="the adapter's name (a-z, 0-9, -)")
        train.add_argument(
            "--phrase",
            default=None,
            help="caption phrase put before every caption (default: '<name> style' for a genre, "
            "the name for an attribute)",
        )
        train.add_argument("--steps", type=int, default=400, help="optimiser steps")
        train.add_argument("--batch-size", type=int, default=4)
        train.add_argument("--lr", type=float, default=5e-4, help="learning rate (AdamW)")
        train.add_argument("--rank", type=int, default=4, help="LoRA rank")
        train.add_argument("--text-encoder", action="store_true", help="adapt the text encoder too")
        train.add_argument(
            "--convolutions", action="store_true", help="adapt the UNet's ResNet convolutions too"
        )
        train.add_argument("--checkpoint-every", type=int, default=100)
        train.add_argument("--seed", type=int, default=0)
        train.add_argument("--fresh", action="store_true", help="discard earlier checkpoints")


def run_lora_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in LORA_VERBS; returns the exit status."""
    from engine.lora import adapter_dir, adapters_root
    from engine.profiles import resolve_profile
    from training.lora import LoraOptions, captioned, train_adapter

    kind = "genre" if args.verb == "train-genre" else "attribute"
    name = args.name.strip().lower()
    if not re.fullmatch(ADAPTER_NAME, name):
        print(
            f"inkwell: --name {args.name!r}: use a-z, 0-9 and dashes (at most 40 characters)",
            file=sys.stderr,
        )
        return 2
    if min(args.steps, args.batch_size, args.rank, args.checkpoint_every) < 1 or args.lr <= 0:
        print(
            "inkwell: --steps, --batch-size, --rank, --checkpoint-every and --lr must be > 0",
            file=sys.stderr,
        )
        return 2
    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        print(f"inkwell: configuration error: 'models.profile': {error}", file=sys.stderr)
        return 2
    phrase = args.phrase if args.phrase is not None else default_phrase(kind, name)
    try:
        examples = captioned(args.folder, phrase)
    except (OSError, ValueError) as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    models_dir = config.data_path / "models"
    out = adapter_dir(
        adapters_root(config.models.adapters_dir, models_dir), profile.name, kind, name
    )
    options = LoraOptions(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        rank=args.rank,
        train_text_encoder=args.text_encoder,
        convolutions=args.convolutions,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        progress=sys.stderr.isatty(),
    )
    log.info("training the %s adapter %r on %d pictures into %s", kind, name, len(examples), out)
    trained = train_adapter(
        profile,
        models_dir,
        examples,
        out,
        name=name,
        kind=kind,
        phrase=phrase,
        options=options,
        device=config.models.device,
        fresh=args.fresh,
    )
    print(
        f"{kind} adapter {name!r} for profile {profile.name!r}: {trained.info.steps} steps on "
        f"{len(examples)} pictures in {trained.seconds:.1f} s; loss {trained.first_loss:.4f} -> "
        f"{trained.final_loss:.4f}; saved to {out}"
    )
    return 0


def default_phrase(kind: str, name: str) -> str:
    """The caption phrase an adapter is trained with unless the trainer names one."""
    words = name.replace("-", " ")
    return f"{words} style" if kind == "genre" else words
