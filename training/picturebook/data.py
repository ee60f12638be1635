"""The training set: world renders as tensors, their scenes, and fresh captions for each batch."""

from __future__ import annotations

import logging
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from picturebook.captions import caption
from picturebook.dataset import pairs

logger = logging.getLogger("inkwell.training")

_CACHE_VERSION = 1


@dataclass
class Renders:
    """Rendered scenes: `images` uint8 [N, 3, H, W], one Scene and one first caption per row."""

    images: torch.Tensor
    scenes: list[Any]
    captions: list[str]

    def __len__(self) -> int:
        return len(self.scenes)

    def pixels(self, rows: torch.Tensor) -> torch.Tensor:
        """Rows as floats in [-1, 1], the range the autoencoder and diffusers use."""
        return self.images[rows].float() / 127.5 - 1.0

    def fresh_captions(self, rows: torch.Tensor, rng: random.Random) -> list[str]:
        """A newly written caption per row: the grammar varies wording and unsaid attributes."""
        return [caption(self.scenes[int(row)], rng) for row in rows]


def render_set(count: int, seed: int) -> Renders:
    """`count` scenes of the world drawn from `seed`, as tensors."""
    images, captions, scenes = [], [], []
    for image, text, scene in pairs(count, seed):
        images.append(np.asarray(image.convert("RGB"), dtype=np.uint8))
        captions.append(text)
        scenes.append(scene)
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return Renders(stacked, scenes, captions)


def cached_render_set(path: Path, count: int, seed: int) -> Renders:
    """The render set stored at `path`, drawn and stored there first when missing or different."""
    key = {"version": _CACHE_VERSION, "count": count, "seed": seed}
    if path.exists():
        with path.open("rb") as file:
            stored = pickle.load(file)
        if stored.get("key") == key:
            return stored["renders"]
    logger.info("rendering %d training scenes (seed %d)", count, seed)
    renders = render_set(count, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as file:
        pickle.dump({"key": key, "renders": renders}, file, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)
    return renders


def step_rng(seed: int, stage: str, step: int) -> tuple[random.Random, torch.Generator]:
    """Python and torch generators for one step: a resumed run draws what an unbroken one did."""
    mixed = random.Random(f"{seed}/{stage}/{step}").getrandbits(63)
    return random.Random(mixed), torch.Generator().manual_seed(mixed)
