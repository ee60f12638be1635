"""What every resumable trainer shares: the step loop and its checkpoint folders."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
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


def run_steps(
    trainer: ResumableTrainer,
    out_dir: Path,
    desc: str,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[float]:
    """Train from `trainer.step` to `options.steps`, checkpointing every `checkpoint_every`
    steps into `out_dir`, with a tqdm bar; returns the step losses. `on_step(step, loss)`
    follows each step; once `should_stop()` is true the loop checkpoints and returns early."""
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
            if should_stop is not None and should_stop():
                trainer.save_checkpoint(out_dir)
                break
            losses.append(trainer.train_step())
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
            if on_step is not None:
                on_step(trainer.step, losses[-1])
            if trainer.step % trainer.options.checkpoint_every == 0:
                trainer.save_checkpoint(out_dir)
    return losses


def write_checkpoint(out_dir: Path, step: int, write: Callable[[Path], None], keep: int) -> Path:
    """`out_dir/checkpoints/step-NNNNNNN`, written by `write` into a staging folder renamed into
    place (a crash never leaves half a checkpoint); only the newest `keep` are kept."""
    root = Path(out_dir) / "checkpoints"
    target = root / f"step-{step:07d}"
    write_dir(target, write)
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def latest_checkpoint(out_dir: Path, marker: str) -> Path | None:
    """The newest complete checkpoint under `out_dir` (one holding `marker`), if any."""
    found = sorted((Path(out_dir) / "checkpoints").glob("step-*"))
    complete = [path for path in found if (path / marker).is_file()]
    return complete[-1] if complete else None


def write_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Write a directory under a temporary name, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        write(staging)
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
