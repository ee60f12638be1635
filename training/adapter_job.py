"""Adapter and edit-model training as engine-side work: LocalEngine runs it in-process, a Ray
replica on its node, so the result lands in the adapters folder that engine loads from."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from core.engine import (
    EDIT_MODEL,
    AdapterStep,
    AdapterTrainingRequest,
    AdapterTrainingResult,
    CancelToken,
    GenerationCancelled,
)
from engine.lora import adapter_dir, with_phrase
from engine.profiles import ModelProfile
from training.style_branch import TrainingExample

logger = logging.getLogger("inkwell.training")

StepCallback = Callable[[AdapterStep], None]


def run_adapter_training(
    request: AdapterTrainingRequest,
    profile: ModelProfile,
    models_dir: Path,
    adapters: Path,
    device: str,
    should_stop: Callable[[], bool] = lambda: False,
    on_step: StepCallback | None = None,
) -> AdapterTrainingResult:
    """Train the request's adapter or edit model on the calling thread into `adapters`."""
    out = adapter_dir(adapters, profile.name, request.kind, request.name)

    def report(step: int, loss: float) -> None:
        if on_step is not None:
            on_step(AdapterStep(step, request.steps, loss))

    if request.kind == EDIT_MODEL:
        from training.edit_model import EditModelOptions, EditPair, train_edit_model

        if not request.pairs:
            raise ValueError("an edit model needs edit pairs to train on")
        trained = train_edit_model(
            profile,
            models_dir,
            [EditPair(*pair) for pair in request.pairs],
            out,
            name=request.name,
            options=EditModelOptions(
                steps=request.steps,
                batch_size=request.batch_size,
                learning_rate=request.learning_rate,
                checkpoint_every=request.checkpoint_every,
                seed=request.seed,
                progress=False,
            ),
            device=device,
            fresh=request.fresh,
            on_step=report,
            should_stop=should_stop,
        )
    else:
        from training.lora import LoraOptions, train_adapter

        if not request.pictures:
            raise ValueError(f"a {request.kind} adapter needs pictures to train on")
        options = LoraOptions(
            steps=request.steps,
            batch_size=request.batch_size,
            learning_rate=request.learning_rate,
            rank=request.rank,
            train_text_encoder=request.text_encoder,
            convolutions=request.convolutions,
            checkpoint_every=request.checkpoint_every,
            seed=request.seed,
            progress=False,
        )
        # The trainer reads pictures from files: the request's go to a folder of their own.
        with tempfile.TemporaryDirectory(prefix="inkwell-lora-") as folder:
            examples = []
            for number, (data, caption) in enumerate(request.pictures):
                path = Path(folder) / f"{number:05d}.img"
                path.write_bytes(data)
                examples.append(TrainingExample(path, with_phrase(request.phrase, caption)))
            trained = train_adapter(
                profile,
                models_dir,
                examples,
                out,
                name=request.name,
                kind=request.kind,
                phrase=request.phrase,
                options=options,
                device=device,
                fresh=request.fresh,
                on_step=report,
                should_stop=should_stop,
            )
    return AdapterTrainingResult(
        trained.info, trained.first_loss, trained.final_loss, trained.seconds, str(out)
    )


class AdapterTrainingRunner:
    """One engine's adapter training: one run at a time, on a thread of its own, never on the
    model worker, so drawing goes on while an adapter learns."""

    def __init__(
        self, profile: ModelProfile, models_dir: Path, adapters: Path, device: str
    ) -> None:
        self.profile = profile
        self.models_dir = Path(models_dir)
        self.adapters = Path(adapters)
        self.device = device
        self._one_at_a_time = asyncio.Lock()

    async def train_adapter(
        self,
        request: AdapterTrainingRequest,
        on_step: StepCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> AdapterTrainingResult:
        """See `core.engine.Engine.train_adapter`; `on_step` runs on the training thread."""
        cancel = cancel or CancelToken()
        async with self._one_at_a_time:
            logger.info(
                "training the %s %r for %r into %s",
                *(request.kind, request.name, self.profile.name, self.adapters),
            )
            try:
                result = await asyncio.to_thread(
                    run_adapter_training,
                    request,
                    self.profile,
                    self.models_dir,
                    self.adapters,
                    self.device,
                    lambda: cancel.cancelled,
                    on_step,
                )
            except GenerationCancelled:
                logger.info("training of the %s %r stopped", request.kind, request.name)
                raise
        logger.info("%s %r saved to %s", request.kind, request.name, result.directory)
        return result
