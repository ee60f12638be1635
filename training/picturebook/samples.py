"""Sample grids: a few captions drawn side by side with their words, to look at while training."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from PIL import Image, ImageDraw

_CELL = 128  # each 64x64 sample is shown twice as large
_TEXT_HEIGHT = 40


@torch.no_grad()
def save_sample_grid(
    pipe: StableDiffusionPipeline,
    prompts: list[str],
    path: Path,
    steps: int,
    guidance_scale: float,
    seed: int = 0,
) -> Image.Image:
    """Draw each prompt once (seeds seed, seed+1, ...) and save them in a row with captions."""
    generators = [torch.Generator().manual_seed(seed + i) for i in range(len(prompts))]
    images = pipe(
        prompts,
        num_inference_steps=steps,
        guidance_scale=guidance_scale,
        generator=generators,
        height=64,
        width=64,
    ).images
    grid = Image.new("RGB", (_CELL * len(prompts), _CELL + _TEXT_HEIGHT), "white")
    draw = ImageDraw.Draw(grid)
    for i, (prompt, image) in enumerate(zip(prompts, images, strict=True)):
        grid.paste(image.resize((_CELL, _CELL), Image.Resampling.NEAREST), (i * _CELL, 0))
        lines = textwrap.wrap(prompt, 21)[:3]
        draw.multiline_text((i * _CELL + 2, _CELL + 1), "\n".join(lines), fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    return grid
