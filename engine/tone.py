"""Tone shifts of a global style preference ("I prefer darker"), pure numpy on PIL images."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.engine import ToneShift

# Rec. 601 luma weights: what "brighter" and "darker" mean for a picture's mean.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# A warmth of +1 moves red up and blue down by this many levels (of 255).
WARMTH_LEVELS = 24.0
# Scaling is repeated because clipping at 255 eats part of a brightening step.
_MATCH_ROUNDS = 6


def mean_luminance(image: Image.Image) -> float:
    """The picture's mean luma in 0..255."""
    return float((np.asarray(image.convert("RGB"), dtype=np.float32) @ _LUMA).mean())


def apply_tone(image: Image.Image, reference: Image.Image, tone: ToneShift) -> Image.Image:
    """`image` with `tone` applied; its mean luminance becomes brightness x the reference's.

    Saturation scales each pixel's distance from its grey, warmth moves red against blue, then
    all channels are scaled together until the mean luminance matches (as far as 0..255 allows).
    This holds for any picture, so "darker" is darker even from random tiny weights.
    """
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32).copy()
    if tone.saturation != 1.0:
        grey = (pixels @ _LUMA)[..., None]
        pixels = grey + (pixels - grey) * max(0.0, tone.saturation)
    if tone.warmth:
        pixels[..., 0] += WARMTH_LEVELS * tone.warmth
        pixels[..., 2] -= WARMTH_LEVELS * tone.warmth
    pixels = np.clip(pixels, 0.0, 255.0)
    target = float(np.clip(max(0.0, tone.brightness) * mean_luminance(reference), 0.0, 255.0))
    for _ in range(_MATCH_ROUNDS):
        current = float((pixels @ _LUMA).mean())
        if abs(current - target) < 0.25:
            break
        # A black picture cannot be scaled: lift it evenly instead.
        lifted = current < 1e-3
        pixels = pixels + (target - current) if lifted else pixels * (target / current)
        pixels = np.clip(pixels, 0.0, 255.0)
    return Image.fromarray(np.rint(pixels).astype(np.uint8), "RGB")
