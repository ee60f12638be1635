"""Adapter training as the local engine's work: beside the model worker, into the folder the
engine lists and draws from; a cancelled run keeps its checkpoint and a rerun resumes."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.engine import (
    AdapterStep,
    AdapterTrainingRequest,
    CancelToken,
    GenerationCancelled,
    GenerationRequest,
)
from engine.local_engine import LocalEngine
from engine.profiles import ModelProfile

pytestmark = pytest.mark.asyncio


def pictures(count: int) -> tuple[tuple[bytes, str], ...]:
    found = []
    for index in range(count):
        pixels = np.full((64, 64, 3), (200, 40 + 30 * index, 40), np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        found.append((buffer.getvalue(), "a fox in a forest" if index == 0 else ""))
    return tuple(found)


def genre(steps: int, **options) -> AdapterTrainingRequest:
    return AdapterTrainingRequest(
        kind="genre",
        name="ember",
        phrase="ember style",
        pictures=pictures(3),
        steps=steps,
        batch_size=2,
        learning_rate=5e-2,
        checkpoint_every=2,
        **options,
    )


async def test_the_local_engine_trains_a_genre_it_then_lists_and_draws_with(
    models_dir: Path, tiny_profile: ModelProfile, tmp_path: Path
) -> None:
    engine = LocalEngine.for_profile(tiny_profile, models_dir, "cpu", adapters=tmp_path)
    await engine.start()
    try:
        steps: list[AdapterStep] = []
        result = await engine.train_adapter(genre(3), steps.append)
        assert [(s.step, s.max_steps) for s in steps] == [(1, 3), (2, 3), (3, 3)]
        assert (result.info.kind, result.info.name, result.info.steps) == ("genre", "ember", 3)
        assert result.info.pictures == 3 and result.info.phrase == "ember style"
        assert Path(result.directory) == tmp_path / "tiny" / "genre" / "ember"
        assert [(a.kind, a.name) for a in await engine.adapters()] == [("genre", "ember")]
        [[drawn]] = await engine.generate([GenerationRequest("a fox", (1,), genre="ember")])
        assert drawn.provenance.genre == "ember"
    finally:
        await engine.close()


async def test_a_cancelled_training_keeps_its_checkpoint_and_a_rerun_resumes(
    models_dir: Path, tiny_profile: ModelProfile, tmp_path: Path
) -> None:
    engine = LocalEngine.for_profile(tiny_profile, models_dir, "cpu", adapters=tmp_path)
    cancel = CancelToken()
    seen: list[int] = []

    def stop_after_two(report: AdapterStep) -> None:
        seen.append(report.step)
        if report.step == 2:
            cancel.cancel()

    with pytest.raises(GenerationCancelled):
        await engine.train_adapter(genre(50), stop_after_two, cancel)
    assert seen == [1, 2]
    assert await engine.adapters() == [], "an unfinished adapter is not listed"
    work = tmp_path / "tiny" / "genre" / "ember" / ".training" / "checkpoints"
    assert [p.name for p in sorted(work.iterdir())] == ["step-0000002"]
    resumed: list[int] = []
    result = await engine.train_adapter(genre(4), lambda s: resumed.append(s.step))
    assert resumed == [3, 4] and result.info.steps == 4
    with pytest.raises(ValueError, match="needs pictures"):
        await engine.train_adapter(AdapterTrainingRequest(kind="attribute", name="blue"))
