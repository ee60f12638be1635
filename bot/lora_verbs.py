"""Training verbs for the adapters folder: `train-genre` and `train-attribute` (LoRA adapters),
`train-edit-model` (seed 003's edit model, InstructPix2Pix, from exported edit pairs).

`train-genre DIR --name NAME` is seed 000 claim 16's genre fine-tuning; `train-attribute DIR
--name NAME` trains one of seed 003's attribute generators; `train-edit-model PAIRS --name
NAME` trains its image attribute editing model ([0123]-[0131]) from `export-edit-pairs PAIRS`.

    python -m bot train-genre pictures/wuxia --name wuxia --phrase "wuxia style"
    python -m bot export-edit-pairs pairs/ && python -m bot train-edit-model pairs/ --name edits

Captions come from each picture's .txt sibling; `--phrase` is put in front of every caption
(and is the whole caption of pictures without one). Training is the engine's work: with the
local engine it runs here, with a Ray engine on a replica's node (this process reads the
pictures and sends them), and either way the result lands in the adapters folder the engine
loads from, which lists it once its files are complete. A rerun resumes from the last
checkpoint unless `--fresh`; Ctrl-C stops after the current step and keeps the checkpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path
from typing import Any

from bot.config import Config
from core.engine import (
    ADAPTER_NAME,
    EDIT_MODEL,
    AdapterTrainingRequest,
    AdapterTrainingResult,
    CancelToken,
    GenerationCancelled,
)

log = logging.getLogger("inkwell.bot")

KINDS = {"train-genre": "genre", "train-attribute": "attribute", "train-edit-model": EDIT_MODEL}
LORA_VERBS = frozenset(KINDS)
_HELP = {
    "train-genre": "train a genre adapter (LoRA) on a folder of pictures of the story's genre",
    "train-attribute": "train an attribute generator (LoRA) on pictures with the attribute",
    "train-edit-model": "train an edit model (InstructPix2Pix) on exported edit pairs",
}


def add_lora_verbs(verbs: Any) -> None:
    """Add the adapter training verbs to the CLI's subparsers."""
    for verb, text in _HELP.items():
        train = verbs.add_parser(verb, help=text)
        edits = verb == "train-edit-model"
        if edits:
            train.add_argument(
                "folder", type=Path, help="edit pairs as `export-edit-pairs` wrote them"
            )
        else:
            train.add_argument("folder", type=Path, help="pictures (+ same-named .txt captions)")
        train.add_argument("--name", required=True, help="its name (a-z, 0-9, -)")
        if not edits:
            train.add_argument(
                "--phrase",
                default=None,
                help="caption phrase put before every caption (default: '<name> style' for a "
                "genre, the name for an attribute)",
            )
        train.add_argument("--steps", type=int, default=400, help="optimiser steps")
        train.add_argument("--batch-size", type=int, default=4)
        train.add_argument(
            "--lr", type=float, default=1e-4 if edits else 5e-4, help="learning rate (AdamW)"
        )
        if not edits:
            train.add_argument("--rank", type=int, default=4, help="LoRA rank")
            train.add_argument(
                "--text-encoder", action="store_true", help="adapt the text encoder too"
            )
            train.add_argument(
                "--convolutions",
                action="store_true",
                help="adapt the UNet's ResNet convolutions too",
            )
        train.add_argument("--checkpoint-every", type=int, default=100)
        train.add_argument("--seed", type=int, default=0)
        train.add_argument("--fresh", action="store_true", help="discard earlier checkpoints")


def run_lora_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in LORA_VERBS; returns the exit status."""
    from training.folders import captioned_pictures, edit_pairs

    kind = KINDS[args.verb]
    name = args.name.strip().lower()
    if not re.fullmatch(ADAPTER_NAME, name):
        print(
            f"inkwell: --name {args.name!r}: use a-z, 0-9 and dashes (at most 40 characters)",
            file=sys.stderr,
        )
        return 2
    rank = getattr(args, "rank", 1)
    if min(args.steps, args.batch_size, rank, args.checkpoint_every) < 1 or args.lr <= 0:
        print(
            "inkwell: --steps, --batch-size, --rank, --checkpoint-every and --lr must be > 0",
            file=sys.stderr,
        )
        return 2
    phrase = ""
    try:
        if kind == EDIT_MODEL:
            pairs, pictures = tuple(edit_pairs(args.folder)), ()
        else:
            phrase = args.phrase if args.phrase is not None else default_phrase(kind, name)
            pairs, pictures = (), tuple(captioned_pictures(args.folder))
    except (OSError, ValueError) as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    request = AdapterTrainingRequest(
        kind=kind,
        name=name,
        phrase=phrase,
        pictures=pictures,
        pairs=pairs,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        rank=rank,
        text_encoder=getattr(args, "text_encoder", False),
        convolutions=getattr(args, "convolutions", False),
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        fresh=args.fresh,
    )
    try:
        trained = asyncio.run(_train_with_bar(request, config))
    except ValueError as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    if trained is None:
        print("stopped: the checkpoint is kept; run the same command again to continue")
        return 1
    info = trained.info
    what = "edit model" if kind == EDIT_MODEL else f"{kind} adapter"
    examples = f"{len(pairs)} edit pairs" if kind == EDIT_MODEL else f"{len(pictures)} pictures"
    print(
        f"{what} {name!r} for profile {info.profile!r}: {info.steps} steps on {examples} in "
        f"{trained.seconds:.1f} s; loss {trained.first_loss:.4f} -> {trained.final_loss:.4f}; "
        f"saved to {trained.directory}"
    )
    return 0


async def training_engine(config: Config) -> Any:
    """What trains adapters for the command line: with a Ray engine, the deployed app (the
    training runs on a replica's node, into the replicas' adapters folder); otherwise a
    runner in this process that loads only what the training needs."""
    if config.engine.mode == "ray":
        from bot.ray_worker import connect_engine

        return await connect_engine(config)
    from engine.lora import adapters_root
    from engine.profiles import resolve_profile
    from training.adapter_job import AdapterTrainingRunner

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        raise ValueError(f"configuration error: 'models.profile': {error}") from None
    models_dir = config.data_path / "models"
    root = adapters_root(config.models.adapters_dir, models_dir)
    return AdapterTrainingRunner(profile, models_dir, root, config.models.device)


async def _train_with_bar(
    request: AdapterTrainingRequest, config: Config
) -> AdapterTrainingResult | None:
    """Train through the engine with a progress bar; None when stopped with Ctrl-C."""
    from tqdm import tqdm

    cancel = CancelToken()
    bar = tqdm(total=request.steps, desc=request.name, unit="step", disable=not sys.stderr.isatty())

    def on_step(report: Any) -> None:
        bar.n = report.step
        bar.set_postfix(loss=f"{report.loss:.4f}")
        bar.refresh()

    def stop(*_: Any) -> None:
        print("\nstopping after this step: the checkpoint is kept", file=sys.stderr)
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, stop)
    trainer = None
    try:
        trainer = await training_engine(config)
        log.info(
            "training the %s %r on %d examples",
            *(request.kind, request.name, len(request.pairs or request.pictures)),
        )
        return await trainer.train_adapter(request, on_step, cancel)
    except GenerationCancelled:
        return None
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
        if trainer is not None and hasattr(trainer, "close"):
            await trainer.close()


def default_phrase(kind: str, name: str) -> str:
    """The caption phrase an adapter is trained with unless the trainer names one."""
    words = name.replace("-", " ")
    return f"{words} style" if kind == "genre" else words
