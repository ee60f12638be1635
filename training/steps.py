"""The step loop every resumable trainer shares: train to the planned step, checkpointing."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from tqdm import tqdm


class StepOptions(Protocol):
    steps: int
    checkpoint_every: int
    progress: bool


class ResumableTrainer(Protocol):
    step: int

    @property
    def options(self) -> StepOptions: ...

    def train_step(self) -> float: ...

    def save_checkpoint(self, out_dir: Path) -> None: ...


def run_steps(trainer: ResumableTrainer, out_dir: Path, desc: str) -> list[float]:
    """Train from `trainer.step` to `options.steps`, checkpointing every `checkpoint_every`
    steps into `out_dir`, with a tqdm bar; returns the step losses."""
    losses: list[float] = []
    bar = tqdm(
        total=trainer.options.steps,
        initial=trainer.step,
        desc=desc,
        unit="step",
        disable=not trainer.options.progress,
    )
    with bar:
        while trainer.step < trainer.options.steps:
            losses.append(trainer.train_step())
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if trainer.step % trainer.options.checkpoint_every == 0:
                trainer.save_checkpoint(out_dir)
    return losses
