"""Tone shifts: the luminance match that makes "I prefer darker" hold on any model."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from core.engine import ToneShift
from engine.tone import apply_tone, mean_luminance


def noise(seed: int, low: int = 0, high: int = 256) -> Image.Image:
    values = np.random.default_rng(seed).integers(low, high, (16, 16, 3), dtype=np.uint8)
    return Image.fromarray(values, "RGB")


@pytest.mark.parametrize("brightness", [0.3, 0.7, 1.0, 1.2])
def test_mean_luminance_becomes_brightness_times_the_references(brightness: float) -> None:
    reference, drawn = noise(1, 40, 200), noise(2)
    toned = apply_tone(drawn, reference, ToneShift(brightness=brightness))
    assert mean_luminance(toned) == pytest.approx(brightness * mean_luminance(reference), abs=0.6)


def test_brightening_stops_at_white_and_black_can_be_lifted() -> None:
    white = Image.new("RGB", (4, 4), (250, 250, 250))
    assert mean_luminance(apply_tone(white, white, ToneShift(brightness=2.0))) == 255
    black = Image.new("RGB", (4, 4), (0, 0, 0))
    grey = Image.new("RGB", (4, 4), (100, 100, 100))
    assert mean_luminance(apply_tone(black, grey, ToneShift())) == pytest.approx(100, abs=0.6)


def test_saturation_and_warmth() -> None:
    picture = noise(3, 30, 220)
    grey = np.asarray(apply_tone(picture, picture, ToneShift(saturation=0.0)), dtype=np.int16)
    assert np.abs(grey[..., 0] - grey[..., 2]).max() <= 1
    warm = np.asarray(apply_tone(picture, picture, ToneShift(warmth=1.0)), dtype=np.float32)
    cool = np.asarray(apply_tone(picture, picture, ToneShift(warmth=-1.0)), dtype=np.float32)
    assert (warm[..., 0] - warm[..., 2]).mean() > (cool[..., 0] - cool[..., 2]).mean() + 30


def test_tone_and_edit_settings_import_no_torch() -> None:
    """The scripted engine and the bot's config wiring use them without the model stack."""
    code = (
        "import sys, engine.tone, engine.edit_settings\n"
        "print(','.join(m for m in ('torch', 'diffusers') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
