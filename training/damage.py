"""Training pairs for the restorer: clean pictures degraded by blur, noise, scratches, holes.

Seed 002 [0112]-[0114]: a clean picture is blurred, given noise and scratches and has a part
cut out; the damaged copy is the input and the clean one the supervision. Each pair also
carries the words a writer would use for its damage, so the text stages have a target.
Also the quality measures the benchmark reports (PSNR, SSIM).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

# What a writer would say about each kind of damage (positive evaluations in seed terms).
DAMAGE_WORDS: dict[str, str] = {
    "blur": "too blurry",
    "noise": "there is noise",
    "scratches": "there are scratches",
    "missing": "there are missing patches",
}
DAMAGE_KINDS = tuple(DAMAGE_WORDS)


@dataclass(frozen=True)
class DamageSettings:
    """How hard the damage is; each kind is applied with probability `chance`."""

    blur_sigma: tuple[float, float] = (0.6, 1.6)
    noise_sigma: tuple[float, float] = (0.03, 0.10)
    scratches: tuple[int, int] = (1, 3)
    missing_fraction: float = 0.12  # side of a missing square, as a fraction of the picture
    chance: float = 0.75


def _uniform(low: float, high: float, generator: torch.Generator) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur a (C, H, W) or (B, C, H, W) picture with a separable Gaussian of `sigma` pixels."""
    radius = max(1, math.ceil(2.5 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=image.dtype, device=image.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    batch = image if image.dim() == 4 else image[None]
    channels = batch.shape[1]
    padded = F.pad(batch, (radius, radius, radius, radius), mode="replicate")
    horizontal = kernel.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    vertical = kernel.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    out = F.conv2d(F.conv2d(padded, horizontal, groups=channels), vertical, groups=channels)
    return out if image.dim() == 4 else out[0]


def _scratch(image: torch.Tensor, generator: torch.Generator) -> None:
    """Draw one thin bright or dark line across the picture, in place."""
    _, height, width = image.shape
    x0, x1 = (_uniform(0, width - 1, generator) for _ in range(2))
    y0, y1 = (_uniform(0, height - 1, generator) for _ in range(2))
    steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    t = torch.linspace(0, 1, steps)
    xs = (x0 + (x1 - x0) * t).round().long().clamp(0, width - 1)
    ys = (y0 + (y1 - y0) * t).round().long().clamp(0, height - 1)
    image[:, ys, xs] = 1.0 if torch.rand((), generator=generator) < 0.5 else 0.0


def degrade(
    clean: torch.Tensor, generator: torch.Generator, settings: DamageSettings | None = None
) -> tuple[torch.Tensor, tuple[str, ...]]:
    """A damaged copy of one (3, H, W) picture in 0..1 and the kinds of damage it got."""
    settings = settings or DamageSettings()
    image = clean.clone()
    chosen = [
        kind for kind in DAMAGE_KINDS if torch.rand((), generator=generator) < settings.chance
    ]
    if not chosen:  # every pair teaches something
        chosen = [DAMAGE_KINDS[int(torch.randint(len(DAMAGE_KINDS), (), generator=generator))]]
    _, height, width = image.shape
    if "blur" in chosen:
        image = gaussian_blur(image, _uniform(*settings.blur_sigma, generator))
    if "missing" in chosen:
        side = max(2, int(settings.missing_fraction * min(height, width)))
        top = int(torch.randint(0, height - side + 1, (), generator=generator))
        left = int(torch.randint(0, width - side + 1, (), generator=generator))
        image[:, top : top + side, left : left + side] = 0.5
    if "scratches" in chosen:
        low, high = settings.scratches
        for _ in range(int(torch.randint(low, high + 1, (), generator=generator))):
            _scratch(image, generator)
    if "noise" in chosen:
        sigma = _uniform(*settings.noise_sigma, generator)
        image = image + sigma * torch.randn(image.shape, generator=generator)
    return image.clamp(0, 1), tuple(chosen)


def damage_text(kinds: tuple[str, ...]) -> str:
    """The complaint a writer would write about a picture with these kinds of damage."""
    return " and ".join(DAMAGE_WORDS[kind] for kind in kinds)


def synthetic_scenes(count: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """Clean stand-in pictures (gradients, discs, boxes, stripes) with edges worth keeping.

    Used where no real pictures are at hand (tests, the offline benchmark).
    """
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    scenes = []
    for _ in range(count):
        top, bottom = torch.rand(3, generator=generator), torch.rand(3, generator=generator)
        image = top[:, None, None] * (1 - ys) + bottom[:, None, None] * ys
        for _ in range(int(torch.randint(2, 5, (), generator=generator))):
            colour = torch.rand(3, generator=generator)[:, None, None]
            cx, cy = torch.rand(2, generator=generator)
            radius = 0.08 + 0.25 * float(torch.rand((), generator=generator))
            if torch.rand((), generator=generator) < 0.5:
                mask = (xs - cx) ** 2 + (ys - cy) ** 2 < radius**2
            else:
                mask = ((xs - cx).abs() < radius) & ((ys - cy).abs() < radius * 0.6)
            image = torch.where(mask, colour, image)
        if torch.rand((), generator=generator) < 0.5:
            period = 4 + int(torch.randint(0, 6, (), generator=generator))
            stripes = ((torch.arange(size) // period) % 2).float()[None, :, None]
            image = image * (0.85 + 0.15 * stripes)
        scenes.append(image.clamp(0, 1))
    return torch.stack(scenes)


def psnr(prediction: torch.Tensor, truth: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of pictures in 0..1, over the whole batch."""
    mse = F.mse_loss(prediction.clamp(0, 1), truth).item()
    return float("inf") if mse == 0 else 10 * math.log10(1.0 / mse)


def ssim(prediction: torch.Tensor, truth: torch.Tensor) -> float:
    """Mean structural similarity (Gaussian window 11, sigma 1.5; Wang et al. 2004)."""
    c1, c2 = 0.01**2, 0.03**2
    x, y = prediction.clamp(0, 1), truth

    def blur(t: torch.Tensor) -> torch.Tensor:
        return gaussian_blur(t, 1.5)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    score = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / (
        (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    )
    return float(score.mean())
