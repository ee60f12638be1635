"""One restorer training the training room drives: stages on a worker thread, shown samples.

[0301]-[0353]: controls start each stage, the current prediction is shown beside its input,
text typed for the shown prediction is bound to it and becomes the target of stage 3 ([0314]),
and loss values are shown as they come. Torch work happens on this session's thread only:
predictions for display are made between training steps, or directly while no stage runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from core.engine import StageResult, StepReport
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


class TrainingBusy(RuntimeError):
    """A stage is already running; stop it first."""


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
        rendered = {p.sample_id: tensor_to_png(trainer.predict(p)) for p in trainer.pairs[:12]}
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
