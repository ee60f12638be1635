"""Seeded (picture, caption, scene) pairs for training and benchmarks."""

from __future__ import annotations

import random

from PIL import Image

from picturebook.captions import caption
from picturebook.render import render
from picturebook.world import Scene, sample_scene


def scenes(n: int, seed: int) -> list[Scene]:
    """n random scenes; the same seed gives the same scenes."""
    rng = random.Random(seed)
    return [sample_scene(rng) for _ in range(n)]


def pairs(n: int, seed: int, size: int = 64) -> list[tuple[Image.Image, str, Scene]]:
    """n rendered scenes with a caption each; the same seed gives the same pairs."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        scene = sample_scene(rng)
        out.append((render(scene, size), caption(scene, rng), scene))
    return out
