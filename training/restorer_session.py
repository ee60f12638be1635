"""One restorer training the training room drives: stages on a worker thread, shown samples.

[0301]-[0353]: controls start each stage, the current prediction is shown beside its input,
text typed for the shown prediction is bound to it and becomes the target of stage 3 ([0314]),
and loss values are shown as they come. Torch work happens on this session's thread only:
predictions for display are made between training steps, or directly while no stage runs.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from core.engine import RestorerTrainingRequest, StageResult, StepReport, TrainingBusy
from core.feedback.training_settings import STAGES
from engine.restorer import png_to_tensor, tensor_to_png
from training.restorer import (
    RestorerTrainer,
    ScorerExample,
    TrainingPair,
    labelled_texts,
)

logger = logging.getLogger("inkwell.training")

MAX_POINTS = 2000  # loss points kept for the curve
RENDER_EVERY = 5  # steps between refreshes of the shown prediction while training
SAMPLES_SHOWN = 12  # the samples the room shows (and renders predictions for)

__all__ = ["ThreadedControls", "TrainingBusy", "TrainingSession", "session_for"]


class TrainingSession:
    """Thread-safe front of a RestorerTrainer that is built on first use (it loads models)."""

    def __init__(self, make_trainer: Callable[[], RestorerTrainer]) -> None:
        self._make_trainer = make_trainer
        self._trainer: RestorerTrainer | None = None
        self._lock = threading.Lock()  # guards the fields below
        self._torch = threading.Lock()  # one thread at a time inside the models
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stage: str | None = None
        self.status = "idle"  # idle, preparing, running, stopping
        self.error = ""
        self.points: list[dict[str, Any]] = []
        self.max_steps = 0
        self._build = threading.Lock()  # the trainer is built once
        self.results: list[StageResult] = []
        self._predictions: dict[str, bytes] = {}
        self._examples: list[ScorerExample] = []  # from text typed in the room

    # ---------------------------------------------------------------- controls

    def start(self, stage: str) -> None:
        if stage not in STAGES:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                raise TrainingBusy(f"stage {self.stage} is running; stop it first")
            self._stop.clear()
            self.stage, self.status, self.error = stage, "preparing", ""
            self._thread = threading.Thread(
                target=self._run, args=(stage,), name="inkwell-training", daemon=True
            )
            self._thread.start()

    def stop(self) -> bool:
        """Ask the running stage to stop after its current step; False if none runs."""
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if running:
                self.status = "stopping"
        self._stop.set()
        return running

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, stage: str) -> None:
        try:
            trainer = self._ensure_trainer()
            with self._lock:
                self.status = "running"
            with self._torch:
                result = trainer.run_stage(
                    stage,  # type: ignore[arg-type]
                    self._stop.is_set,
                    self._on_step,
                )
            with self._lock:
                self.results.append(result)
        except Exception as error:
            logger.exception("training stage %s failed", stage)
            with self._lock:
                self.error = f"Stage {stage} failed: {error}"
        finally:
            with self._lock:
                self.status = "idle"

    def _ensure_trainer(self) -> RestorerTrainer:
        with self._build:
            if self._trainer is None:
                trainer = self._make_trainer()
                stored = trainer.extra_examples  # writers' feedback, then what is typed here
                trainer.extra_examples = lambda: stored() + self._typed_examples()
                self._trainer = trainer
            return self._trainer

    def _typed_examples(self) -> list[ScorerExample]:
        with self._lock:
            return list(self._examples)

    def _on_step(self, report: StepReport) -> None:
        with self._lock:
            self.points.append({k: v for k, v in asdict(report).items() if k != "max_steps"})
            del self.points[:-MAX_POINTS]
            self.max_steps = report.max_steps
        if report.step % RENDER_EVERY == 1 or report.step == report.max_steps:
            self._render_all()  # on the training thread, between steps

    # ---------------------------------------------------------------- samples

    def pairs(self) -> list[TrainingPair]:
        return list(self._ensure_trainer().pairs)

    def pair(self, sample_id: str) -> TrainingPair | None:
        return next((p for p in self.pairs() if p.sample_id == sample_id), None)

    def picture(self, sample_id: str, kind: str) -> bytes | None:
        """The sample's PNG: its "prediction", its damaged "input", or its "clean" original."""
        if kind == "prediction":
            return self.prediction(sample_id)
        pair = self.pair(sample_id)
        if pair is None:
            return None
        return tensor_to_png(pair.degraded if kind == "input" else pair.clean)

    def prediction(self, sample_id: str) -> bytes | None:
        """The restorer's latest output for the sample: fresh when no stage holds the models,
        else the one the training thread rendered last (never waits for a stage to end)."""
        self._ensure_trainer()
        if self._torch.acquire(blocking=False):
            try:
                self._render_all()
            finally:
                self._torch.release()
        with self._lock:
            return self._predictions.get(sample_id)

    def add_feedback(self, sample_id: str, text: str) -> tuple[TrainingPair, bytes] | None:
        """Bind `text` to the sample's shown prediction: stage 3 aims at its target text,
        stage 2 learns from (prediction, text, label) and the generated opposite."""
        pair = self.pair(sample_id)
        shown = self.prediction(sample_id)
        if pair is None or shown is None:
            return None
        with self._lock:
            pair.feedback.append(text)
            self._examples += labelled_texts(png_to_tensor(shown), text)
        return pair, shown

    def _render_all(self) -> None:
        trainer = self._trainer
        if trainer is None:
            return
        shown = trainer.pairs[:SAMPLES_SHOWN]
        rendered = {p.sample_id: tensor_to_png(trainer.predict(p)) for p in shown}
        with self._lock:
            self._predictions.update(rendered)

    def snapshot(self) -> dict[str, Any]:
        """What the page shows: status, the recent losses, finished stages."""
        with self._lock:
            return {
                "status": self.status,
                "stage": self.stage,
                "error": self.error,
                "points": list(self.points),
                "max_steps": self.max_steps,
                "results": [asdict(r) for r in self.results],
            }

    # ---------------------------------------------------------------- plain data

    def samples(self) -> list[dict[str, Any]]:
        """The samples the room shows, as plain data (see TrainingRoomControls.samples)."""
        return [
            {
                "id": pair.sample_id,
                "complaint": pair.complaint,
                "feedback": list(pair.feedback),
                "target": pair.target_text,
            }
            for pair in self.pairs()[:SAMPLES_SHOWN]
        ]

    def bind_feedback(self, sample_id: str, text: str) -> tuple[str, bytes] | None:
        """`add_feedback` as plain data: (the sample's target text, the PNG it was typed for)."""
        bound = self.add_feedback(sample_id, text)
        return None if bound is None else (bound[0].target_text, bound[1])


def session_for(
    request: RestorerTrainingRequest, profile: Any, models_dir: Path, device: str
) -> TrainingSession:
    """The session that trains `request`'s restorer in `models_dir` (where `restore` loads
    it), with writers' feedback in `request.feedback`; its models load on first use."""
    from engine.device import resolve_device
    from training.restorer_data import clean_pictures, feedback_examples, prepare_trainer
    from training.restorer_job import clean_folder

    settings = request.settings

    def make_trainer() -> RestorerTrainer:
        examples = feedback_examples(request.feedback, settings.image_size)
        folder = clean_folder(request, models_dir)
        clean = clean_pictures(folder, settings.image_size, settings.pairs)
        return prepare_trainer(
            profile, models_dir, clean, settings, resolve_device(device), examples, request.fresh
        )

    return TrainingSession(make_trainer)


class ThreadedControls:
    """A TrainingSession as TrainingRoomControls in this process: slow calls (building the
    trainer loads models; pictures run the restorer) go to a thread."""

    def __init__(self, session: TrainingSession) -> None:
        self.session = session

    async def snapshot(self) -> dict[str, Any]:
        return self.session.snapshot()

    async def start(self, stage: str) -> None:
        self.session.start(stage)

    async def stop(self) -> bool:
        return self.session.stop()

    async def samples(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self.session.samples)

    async def picture(self, sample_id: str, kind: str) -> bytes | None:
        return await asyncio.to_thread(self.session.picture, sample_id, kind)

    async def add_feedback(self, sample_id: str, text: str) -> tuple[str, bytes] | None:
        return await asyncio.to_thread(self.session.bind_feedback, sample_id, text)

    async def close(self) -> None:
        self.session.stop()
        await asyncio.to_thread(self.session.join)
