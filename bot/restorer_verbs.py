"""`train-restorer`: seed 002's staged training from the command line and from the nightly job.

    python -m bot train-restorer [--stages pixel,scorer,joint] [--images DIR] [--fresh]

Stages run in order; each stops at its loss threshold or step limit, and Ctrl-C stops
training by hand (the current stage's checkpoint is saved, later stages are skipped).
Training is the engine's work: with the local engine it runs here and checkpoints go to
<data_dir>/models/restorer; with a Ray engine it runs on a replica and they go to the replicas'
models folder. Either way "enhance" picks them up without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from core.engine import CancelToken, GenerationCancelled, RestorerTrainingRequest
from core.feedback.training_settings import STAGES, TrainingSettings
from storage import open_storage
from storage.base import Storage

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


def restorer_training(
    config: Config,
    feedback: list[tuple[str, bytes, str]],
    stages: tuple[str, ...] = STAGES,
    args: argparse.Namespace | None = None,
) -> RestorerTrainingRequest:
    """The engine's training request: `[restorer_training]` with the command line over it."""
    return RestorerTrainingRequest(
        settings=training_settings(config, args),
        stages=stages,  # type: ignore[arg-type]
        feedback=tuple(feedback),
        fresh=bool(getattr(args, "fresh", False)),
    )


async def training_engine(config: Config) -> Any:
    """What trains the restorer for the command line: with a Ray engine, the deployed app on
    the cluster (training runs on a replica, beside its models); otherwise a runner in this
    process that loads only the restorer and its scorer, not the drawing models."""
    if config.engine.mode == "ray":
        from bot.ray_worker import connect_engine

        return await connect_engine(config)
    from engine.profiles import resolve_profile
    from training.restorer_job import RestorerTrainingRunner

    profile = resolve_profile(config.models.profile, config.models.overrides)
    return RestorerTrainingRunner(profile, config.data_path / "models", config.models.device)


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
    where = "the engine's models folder" if config.engine.mode == "ray" else None
    print(f"checkpoints in {where or config.data_path / 'models' / 'restorer'}")
    return 0


async def _train_with_bars(
    args: argparse.Namespace, config: Config, stages: tuple[str, ...]
) -> list[Any]:
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    cancel = CancelToken()

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
        cancel.cancel()

    config.data_path.mkdir(parents=True, exist_ok=True)
    options = {
        "path": config.storage.path,
        "database": config.storage.database,
        "uri": config.storage.uri,
    }
    storage = await open_storage(config.storage.backend, config.data_path, options)
    previous = signal.signal(signal.SIGINT, stop_stage)
    trainer = None
    try:
        feedback = await stored_feedback(storage)
        log.info("restorer training: %d writers' feedback texts", len(feedback))
        request = restorer_training(config, feedback, stages, args)
        trainer = await training_engine(config)
        return await trainer.train_restorer(request, on_step, cancel)
    except GenerationCancelled:
        return []
    finally:
        signal.signal(signal.SIGINT, previous)
        for bar in bars.values():
            bar.close()
        if trainer is not None and hasattr(trainer, "close"):
            await trainer.close()
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


async def training_room_session(config: Config, storage: Storage, engine: Any) -> Any:
    """The web training room's session: the configured restorer training with writers'
    stored feedback, opened by the engine where its models live (this process with the
    local engine, an actor beside a replica with Ray); its models load on first use."""
    request = restorer_training(config, await stored_feedback(storage))
    return await engine.open_training_room(request)
