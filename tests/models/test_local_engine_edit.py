"""LocalEngine.edit end to end on the tiny profile: draw, then edit by reply."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.engine import (
    CancelToken,
    EditRequest,
    GenerationCancelled,
    GenerationRequest,
    StepProgress,
    ToneShift,
)
from engine.edit_settings import EditSettings
from engine.local_engine import LocalEngine
from engine.profiles import ModelProfile
from engine.seeds import pictures_match
from engine.tone import mean_luminance

PROMPT = "a girl with short hair on a bridge"


def luminance(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return mean_luminance(image)


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


@pytest.mark.asyncio
async def test_edit_by_reply_end_to_end(models_dir: Path, tiny_profile: ModelProfile) -> None:
    settings = EditSettings(mask_combine="intersection", fusion_alpha=0.1)
    engine = LocalEngine.for_profile(tiny_profile, models_dir, "cpu", 4, edit_settings=settings)
    await engine.start()
    try:
        [[parent]] = await engine.generate([GenerationRequest(PROMPT, (3,))])
        darker = EditRequest(
            "global", parent.png, parent.provenance, f"{PROMPT}, gloomy", tone=ToneShift(0.6)
        )
        curly = EditRequest(
            "attribute",
            parent.png,
            parent.provenance,
            "a girl with short curly hair on a bridge",
            attribute="curly hair",
            attribute_word="hair",
        )
        seen: list[StepProgress] = []
        first, second = await asyncio.gather(
            engine.edit([darker], progress=seen.append), engine.edit([curly])
        )
        [dark], [fused] = first, second
        assert luminance(dark.png) < luminance(parent.png)
        assert dark.provenance.edit["kind"] == "global"
        assert fused.provenance.edit["mask_combine"] == "intersection"
        assert fused.provenance.edit["alpha"] == 0.1
        assert seen and seen[-1].fraction == 1.0
        assert await engine.edit([]) == []

        cancel = CancelToken()
        cancel.cancel()
        with pytest.raises(GenerationCancelled):
            await engine.edit([darker], cancel=cancel)
        with pytest.raises(ValueError, match="needs the region"):
            await engine.edit([EditRequest("remove", parent.png, parent.provenance, PROMPT)])
        # The worker survives a bad request.
        [again] = await engine.edit([darker])
        assert pictures_match(pixels(again.png), pixels(dark.png))
    finally:
        await engine.close()
