"""`train-restorer`: seed 002's staged training from the command line and from the nightly job.

    python -m bot train-restorer [--stages pixel,scorer,joint] [--images DIR] [--fresh]

Stages run in order; each stops at its loss threshold or step limit, and Ctrl-C stops
training by hand (the current stage's checkpoint is saved, later stages are skipped).
Checkpoints go to <data_dir>/models/restorer, where "enhance" picks them up without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from storage import open_storage
from storage.base import Storage
from training.restorer_settings import STAGES, TrainingSettings

log = logging.getLogger("inkwell.bot")

RESTORER_VERBS = frozenset({"train-restorer"})


def add_restorer_verbs(verbs: Any) -> None:
    train = verbs.add_parser(
        "train-restorer",
        help="train the 'enhance' restorer and its feedback scorer (seed 002), stage by stage",
    )
    train.add_argument(
        "--stages", default="pixel,scorer,joint", help="comma-separated, in order (default: all)"
    )
    train.add_argument("--images", type=Path, help="folder of clean pictures to damage")
    train.add_argument("--size", type=int, help="training crop size in pixels")
    train.add_argument("--pairs", type=int, help="clean pictures to use")
    for stage in STAGES:
        train.add_argument(f"--{stage}-steps", type=int, help=f"most steps of the {stage} stage")
        train.add_argument(
            f"--{stage}-threshold", type=float, help=f"stop the {stage} stage below this loss"
        )
    train.add_argument("--text-weight", type=float, help="weight of the text term (stage 3)")
    train.add_argument("--loss", choices=("l1", "mse"), help="pixel loss")
    train.add_argument("--fresh", action="store_true", help="start from random weights")


def training_settings(config: Config, args: argparse.Namespace | None = None) -> TrainingSettings:
    """`[restorer_training]`, with what the command line gave instead where it gave it."""
    settings = config.restorer_training
    if args is None:
        return settings

    def given(name: str, configured: Any) -> Any:
        value = getattr(args, name, None)
        return configured if value is None else value

    stages = {
        name: replace(
            settings.stage(name),
            max_steps=given(f"{name}_steps", settings.stage(name).max_steps),
            loss_threshold=given(f"{name}_threshold", settings.stage(name).loss_threshold),
        )
        for name in STAGES
    }
    return replace(
        settings,
        **stages,
        image_size=given("size", settings.image_size),
        pairs=given("pairs", settings.pairs),
        clean_images=str(given("images", settings.clean_images)),
        text_weight=given("text_weight", settings.text_weight),
        pixel_loss=given("loss", settings.pixel_loss),
    )


def clean_images_folder(config: Config, settings: TrainingSettings) -> Path:
    configured = settings.clean_images
    return Path(configured).expanduser() if configured else config.data_path / "restorer-images"


async def train_restorer(
    config: Config,
    storage: Storage,
    stages: tuple[str, ...],
    settings: TrainingSettings,
    should_stop: Callable[[], bool] = lambda: False,
    on_step: Callable[[Any], None] | None = None,
    fresh: bool = False,
) -> list[Any]:
    """Run `stages` on a worker thread; writers' stored feedback joins the scorer's data."""
    from engine.device import resolve_device
    from engine.profiles import resolve_profile
    from training.restorer_data import clean_pictures, feedback_examples, prepare_trainer

    profile = resolve_profile(config.models.profile, config.models.overrides)
    examples = feedback_examples(await stored_feedback(storage), settings.image_size)
    log.info("restorer training: %d labelled texts from writers' feedback", len(examples))

    def work() -> list[Any]:
        device = resolve_device(config.models.device)
        folder = clean_images_folder(config, settings)
        clean = clean_pictures(folder, settings.image_size, settings.pairs)
        trainer = prepare_trainer(
            profile, config.data_path / "models", clean, settings, device, examples, fresh
        )
        return [trainer.run_stage(stage, should_stop, on_step) for stage in stages]

    return await asyncio.to_thread(work)


def run_restorer_verb(args: argparse.Namespace, config: Config) -> int:
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        print(f"inkwell: --stages takes {', '.join(STAGES)}; got {args.stages!r}", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(_train_with_bars(args, config, stages))
    except ValueError as error:
        print(f"inkwell: {error}", file=sys.stderr)
        return 2
    for result in results:
        print(
            f"stage {result.stage}: {result.steps} steps, loss {result.final_loss:.4f} "
            f"({result.reason.replace('_', ' ')})"
        )
    print(f"checkpoints in {config.data_path / 'models' / 'restorer'}")
    return 0


async def _train_with_bars(
    args: argparse.Namespace, config: Config, stages: tuple[str, ...]
) -> list[Any]:
    from tqdm import tqdm

    settings = training_settings(config, args)
    stop = threading.Event()
    bars: dict[str, Any] = {}

    def on_step(report: Any) -> None:
        bar = bars.get(report.stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[report.stage] = tqdm(total=report.max_steps, desc=report.stage, unit="step")
        bar.update(1)
        bar.set_postfix(loss=f"{report.loss:.4f}", smoothed=f"{report.running:.4f}")

    def stop_stage(*_: Any) -> None:
        print("\nstopping: the checkpoint is saved, later stages are skipped", file=sys.stderr)
        stop.set()

    config.data_path.mkdir(parents=True, exist_ok=True)
    options = {
        "path": config.storage.path,
        "database": config.storage.database,
        "uri": config.storage.uri,
    }
    storage = await open_storage(config.storage.backend, config.data_path, options)
    previous = signal.signal(signal.SIGINT, stop_stage)
    try:
        results = []
        for stage in stages:
            if stop.is_set():
                break
            results += await train_restorer(
                config,
                storage,
                (stage,),
                settings,
                stop.is_set,
                on_step,
                args.fresh and not results,
            )
        return results
    finally:
        signal.signal(signal.SIGINT, previous)
        for bar in bars.values():
            bar.close()
        await storage.close()


async def stored_feedback(
    storage: Storage, since: datetime | None = None, limit: int = 5000
) -> list[tuple[str, bytes, str]]:
    """Writers' stored feedback as (id, picture, text); feedback whose picture was removed to
    save space is left out (the text alone teaches the scorer nothing)."""
    feedback = []
    for record in await storage.feedback.list(since=since, limit=limit):
        data = await storage.images.get(record.image_id) if record.image_id else None
        if data is not None:
            feedback.append((record.id, data, record.text))
    return feedback


async def new_feedback_since_last_training(storage: Storage) -> int:
    """How many feedback texts arrived since the last finished training run started."""
    runs = [job for job in await storage.jobs.list("train-restorer") if job.status == "done"]
    since = runs[0].created_at if runs else None
    return len(await storage.feedback.list(since=since, limit=100_000))


async def training_room_session(config: Config, storage: Storage) -> Any:
    """The web training room's session: the configured restorer training, models loaded on
    its first use on a worker thread; writers' stored feedback joins the scorer's data."""
    from training.restorer_data import feedback_examples

    settings = training_settings(config)
    examples = feedback_examples(await stored_feedback(storage), settings.image_size)

    def build() -> Any:
        from engine.device import resolve_device
        from engine.profiles import resolve_profile
        from training.restorer_data import clean_pictures, prepare_trainer
        from training.restorer_session import TrainingSession

        profile = resolve_profile(config.models.profile, config.models.overrides)

        def make_trainer() -> Any:
            folder = clean_images_folder(config, settings)
            clean = clean_pictures(folder, settings.image_size, settings.pairs)
            device = resolve_device(config.models.device)
            models = config.data_path / "models"
            return prepare_trainer(profile, models, clean, settings, device, examples)

        return TrainingSession(make_trainer)

    return await asyncio.to_thread(build)
