"""Engine.restore on the tiny profile: untrained says so and changes nothing; trained restores."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import torch
from PIL import Image

from engine.local_engine import LocalEngine
from engine.profiles import ModelProfile
from engine.restorer import (
    LazyRestorer,
    RestorerNet,
    restorer_dir,
    save_restorer,
    tensor_to_png,
)
from engine.runner import ModelRunner
from training.damage import synthetic_scenes


@pytest.mark.asyncio
async def test_restore_runs_the_checkpoint_training_writes(
    models_dir: Path, tiny_profile: ModelProfile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def runner_with_own_restorer() -> ModelRunner:
        runner = ModelRunner.load(tiny_profile, models_dir, device="cpu")
        # The shared tiny models, but a restorer folder of this test's own.
        runner._restorer = LazyRestorer(tmp_path, torch.device("cpu"))
        return runner

    engine = LocalEngine(runner_with_own_restorer, tiny_profile.name)
    await engine.start()
    try:
        picture = tensor_to_png(synthetic_scenes(1, 24, torch.Generator().manual_seed(0))[0])
        assert engine.restorer_state == "untrained"
        assert "UNTRAINED" in caplog.text
        assert await engine.restore([picture, picture]) == [picture, picture]
        assert await engine.restore([]) == []

        trained = RestorerNet()
        torch.nn.init.normal_(trained.tail.weight, std=0.05)
        save_restorer(trained, restorer_dir(tmp_path), {"stage": "pixel"})
        assert engine.restorer_state == "trained"
        [restored] = await engine.restore([picture])
        assert restored != picture
        with Image.open(io.BytesIO(restored)) as image:
            assert image.size == (24, 24)
        with pytest.raises(ValueError, match="could not be decoded"):
            await engine.restore([b"not a picture"])
    finally:
        await engine.close()
