"""Restorer training as engine-side work: LocalEngine runs it in-process, a Ray replica on the
worker, so checkpoints land in the models folder that engine's `restore` loads from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from core.engine import (
    CancelToken,
    GenerationCancelled,
    RestorerTrainingRequest,
    StageResult,
    StepReport,
)
from engine.device import resolve_device
from engine.profiles import ModelProfile
from training.restorer_data import clean_pictures, feedback_examples, prepare_trainer

logger = logging.getLogger("inkwell.training")

StepCallback = Callable[[StepReport], None]


def clean_folder(request: RestorerTrainingRequest, models_dir: Path) -> Path:
    """Where the clean pictures are on this machine: the request's folder, else
    `restorer-images` beside the models folder (the data directory's)."""
    if request.settings.clean_images:
        return Path(request.settings.clean_images).expanduser()
    return models_dir.parent / "restorer-images"


def run_restorer_training(
    request: RestorerTrainingRequest,
    profile: ModelProfile,
    models_dir: Path,
    device: str,
    should_stop: Callable[[], bool] = lambda: False,
    on_step: StepCallback | None = None,
) -> list[StageResult]:
    """The request's stages in order, on the calling thread; stops between steps when asked."""
    settings = request.settings
    examples = feedback_examples(request.feedback, settings.image_size)
    logger.info("restorer training: %d labelled texts from writers' feedback", len(examples))
    clean = clean_pictures(clean_folder(request, models_dir), settings.image_size, settings.pairs)
    trainer = prepare_trainer(
        profile,
        models_dir,
        clean,
        settings,
        resolve_device(device),
        examples,
        request.fresh,
    )
    results = []
    for stage in request.stages:
        if should_stop():
            break
        results.append(trainer.run_stage(stage, should_stop, on_step))
    return results


class RestorerTrainingRunner:
    """One engine's restorer training: one run at a time, on a thread of its own, never on
    the model worker, so drawing goes on while the restorer learns."""

    def __init__(self, profile: ModelProfile, models_dir: Path, device: str) -> None:
        self.profile = profile
        self.models_dir = Path(models_dir)
        self.device = device
        self._one_at_a_time = asyncio.Lock()

    async def train_restorer(
        self,
        request: RestorerTrainingRequest,
        on_step: StepCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[StageResult]:
        """See `core.engine.Engine.train_restorer`; `on_step` runs on the training thread."""
        cancel = cancel or CancelToken()
        async with self._one_at_a_time:
            results = await asyncio.to_thread(
                run_restorer_training,
                request,
                self.profile,
                self.models_dir,
                self.device,
                lambda: cancel.cancelled,
                on_step,
            )
        if cancel.cancelled:
            raise GenerationCancelled()
        logger.info(
            "restorer training done in %s: %s",
            self.models_dir,
            "; ".join(f"{r.stage} {r.steps} steps ({r.reason})" for r in results),
        )
        return results
