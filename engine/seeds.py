"""What "the same seed gives the same picture" means, in one place.

- **Latents are exact.** A candidate's starting latent is drawn from its own generator seeded
  with its seed alone, so it is bit-identical whatever batch, position or batch size it is drawn
  in, on any machine with the same torch build (`seed_latents`).
- **Pixels are close, not equal.** Denoising and decoding run batched float kernels that round
  differently per batch row and per batch size on some CPUs (seen on AMD EPYC: two rows of one
  batch with the same seed decoded a level apart here and there). A picture drawn again from its
  seed matches the first drawing within `PIXEL_TOLERANCE` 8-bit levels per channel, and on
  average within `MEAN_PIXEL_TOLERANCE`; nothing in Inkwell compares redrawn pictures' bytes.

Redrawing features rely only on this: "show candidates" draws each recorded seed again (the
chosen one is marked by its index, never found by comparing pictures), and edits start from
the parent's recorded seed's latent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from diffusers.utils.torch_utils import randn_tensor

PIXEL_TOLERANCE = 2
MEAN_PIXEL_TOLERANCE = 0.1


def seed_latent(
    seed: int, shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """The (1, C, H, W) starting noise of one seed, as the pipeline draws it for one image."""
    generator = torch.Generator(device).manual_seed(seed)
    return randn_tensor((1, *shape), generator=generator, device=device, dtype=dtype)


def seed_latents(
    seeds: Sequence[int], shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """The (len(seeds), C, H, W) starting noise of a batch: each row depends on its seed alone."""
    return torch.cat([seed_latent(seed, shape, device, dtype) for seed in seeds])


def pictures_match(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two 8-bit pictures are the same drawing within the stated tolerance."""
    if a.shape != b.shape:
        return False
    difference = np.abs(a.astype(np.int16) - b.astype(np.int16))
    return int(difference.max()) <= PIXEL_TOLERANCE and difference.mean() <= MEAN_PIXEL_TOLERANCE
