"""Screening verbs: `train-screening` trains seed 000's heads, `label-screening` labels texts."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from bot.config import Config

log = logging.getLogger("inkwell.bot")

SCREENING_VERBS = frozenset({"train-screening", "label-screening"})


def add_screening_verbs(verbs: Any) -> None:
    """Add the screening verbs to the CLI's subparsers."""
    train = verbs.add_parser(
        "train-screening", help="train the screening heads (seed 000) on a labelled TSV"
    )
    train.add_argument("--data", type=Path, help="labelled TSV (default: the shipped dataset)")
    train.add_argument("--epochs", type=int, default=60, help="passes over the data (seed: 60)")
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=0.05, help="SGD learning rate")
    train.add_argument(
        "--out", type=Path, help="where the heads go (default: <data_dir>/models/screening)"
    )
    label = verbs.add_parser(
        "label-screening",
        help="label sentences by drawing 10 images each and checking their elements with CLIP",
    )
    label.add_argument("sentences", type=Path, help="a text file, one sentence or clause a line")
    label.add_argument("--out", type=Path, help="TSV to write (default: SENTENCES.tsv)")
    label.add_argument("--genre", default="", help="genre written into every row")


def run_screening_verb(args: argparse.Namespace, config: Config) -> int:
    """Run a verb in SCREENING_VERBS; returns the exit status."""
    from engine.profiles import resolve_profile

    try:
        profile = resolve_profile(config.models.profile, config.models.overrides)
    except ValueError as error:
        print(f"inkwell: configuration error: 'models.profile': {error}", file=sys.stderr)
        return 2
    if args.verb == "train-screening":
        return _train(args, profile, config)
    return _label(args, profile, config)


def _train(args: argparse.Namespace, profile: Any, config: Config) -> int:
    from core.story.screening import ScreeningDataError, read_examples
    from engine.device import resolve_device
    from engine.screening import default_heads_dir
    from engine.screening_heads import TrainingSettings, save_heads
    from engine.sentence_encoder import SentenceEncoder
    from training.screening import fit_examples, shipped_dataset

    if min(args.epochs, args.batch_size) < 1 or args.lr <= 0:
        print("inkwell: --epochs, --batch-size and --lr must be positive", file=sys.stderr)
        return 2
    data = args.data or shipped_dataset()
    try:
        examples = read_examples(data)
    except (OSError, ScreeningDataError) as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    encoder = SentenceEncoder(profile.screening_encoder, resolve_device(config.models.device))
    settings = TrainingSettings(args.epochs, args.batch_size, args.lr)

    def on_epoch(epoch: int, loss: float) -> None:
        print(f"epoch {epoch}/{settings.epochs}: loss {loss:.4f}", flush=True)

    report = fit_examples(encoder, examples, settings, on_epoch)
    out = args.out or default_heads_dir(config.data_path / "models")
    save_heads(report.heads, report.info, out)
    print(f"trained on {report.train_size} examples of {data}, held out {report.test_size}")
    print(
        f"held-out accuracy: generability {report.generability_accuracy:.3f} "
        f"(majority class {report.generability_baseline:.3f}), description type "
        f"{report.type_accuracy:.3f} (majority class {report.type_baseline:.3f})"
    )
    print(f"saved the screening heads to {out}")
    return 0


def _label(args: argparse.Namespace, profile: Any, config: Config) -> int:
    from core.story.screening import write_examples

    try:
        lines = args.sentences.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    texts = [line.strip() for line in lines if line.strip()]
    if not texts:
        print(f"inkwell: {args.sentences} has no sentences", file=sys.stderr)
        return 2
    labelled = asyncio.run(_label_with_engine(texts, profile, config))
    out = args.out or args.sentences.with_suffix(".tsv")
    write_examples(out, [item.example(args.genre) for item in labelled])
    counts = [sum(item.generability == index for item in labelled) for index in range(3)]
    print(
        f"labelled {len(labelled)} texts into {out}: index 0/1/2 = {counts[0]}/{counts[1]}/"
        f"{counts[2]}; verb_included is -1 everywhere, for a person to fill in"
    )
    return 0


async def _label_with_engine(texts: list[str], profile: Any, config: Config) -> list[Any]:
    from core.story.screening_labels import label_texts
    from engine.local_engine import LocalEngine

    engine = LocalEngine.for_profile(
        profile, config.data_path / "models", config.models.device, config.batching.max_batch
    )
    await engine.start()
    try:

        def progress(item: Any) -> None:
            print(f"{item.generability}\t{item.conforming}/10\t{item.text}", flush=True)

        return await label_texts(engine, texts, config.story.presence_threshold, on_text=progress)
    finally:
        await engine.close()
