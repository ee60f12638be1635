"""VGG19 style statistics (seed 004): Gram matrices, the style map S and the StySim metric."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torchvision.models import VGG19_Weights, vgg19
from torchvision.models.vgg import cfgs, make_layers

# S is a 64x64 map: G1 is 64x64 (VGG19's first block has 64 channels), which is also the SD
# latent size at 512x512. The runner resizes it to other latent sizes.
STYLE_MAP_SIZE = 64

# Ends (exclusive) of VGG19's down-sampling blocks in `features`, each block including its
# max pool: the pools sit at 4, 9, 18 and 27.
_BLOCK_ENDS = (5, 10, 19, 28)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg19_blocks(weights: str | None, blocks: int = 4) -> nn.ModuleList:
    """VGG19's first `blocks` down-sampling blocks; `weights` names a VGG19_Weights entry.

    None gives seeded random weights (the tiny profile): the same in every process, so
    offline StySim numbers are reproducible, and with VGG's own He initialisation so random
    activations neither vanish nor explode through sixteen convolutions.
    """
    if weights is None:
        # make_layers builds only the convolutional part; vgg19() would also allocate and
        # initialise the 120M-parameter classifier that style statistics never use.
        features = make_layers(cfgs["E"])
        generator = torch.Generator().manual_seed(0)
        for module in features.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(
                    module.weight, mode="fan_out", nonlinearity="relu", generator=generator
                )
                nn.init.zeros_(module.bias)
    else:
        try:
            entry = VGG19_Weights[weights]
        except KeyError:
            known = ", ".join(w.name for w in VGG19_Weights)
            raise ValueError(f"unknown VGG19 weights {weights!r}; known: {known}") from None
        features = vgg19(weights=entry).features
    starts = (0, *_BLOCK_ENDS)
    return nn.ModuleList(features[starts[i] : _BLOCK_ENDS[i]] for i in range(blocks))


def gram(features: torch.Tensor) -> torch.Tensor:
    """G = F F^T / (H W) per image: (B, C, H, W) -> (B, C, C), as the seed defines it."""
    batch, channels, height, width = features.shape
    flat = features.reshape(batch, channels, height * width)
    return flat @ flat.transpose(1, 2) / (height * width)


def style_map(g1: torch.Tensor, g2: torch.Tensor, g3: torch.Tensor) -> torch.Tensor:
    """The style map S (B, 1, 64, 64) from the first three blocks' Grams.

    Decision (SPEC, seed 004): the seed says "max-pool the first two Grams and add the third",
    which cannot be added up: G1 is 64x64, G2 128x128 and G3 256x256, so pooling G1 and G2
    makes them smaller than G3. We pool toward the smallest instead:
    S = G1 + maxpool_2(G2) + maxpool_4(G3), all 64x64, the SD latent size at 512x512.
    """
    pooled2 = F.max_pool2d(g2.unsqueeze(1), kernel_size=g2.shape[-1] // g1.shape[-1])
    pooled3 = F.max_pool2d(g3.unsqueeze(1), kernel_size=g3.shape[-1] // g1.shape[-1])
    return g1.unsqueeze(1) + pooled2 + pooled3


def stysim_from_grams(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    """StySim per image pair: the sum over blocks of sum((Ga - Gb)^2) / (Gram element count).

    The seed divides each block's squared error by the Gram's element count, which is the
    mean squared error; lower is closer, 0 for identical statistics.
    """
    return sum(((ga - gb) ** 2).mean(dim=(1, 2)) for ga, gb in zip(a, b, strict=True))


def open_rgb(data: bytes) -> Image.Image:
    """An encoded image as RGB; callers validate untrusted uploads first (core.style)."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


class VGGStyle:
    """VGG19 blocks on one device, fp32 everywhere so statistics do not shift with the device."""

    def __init__(self, weights: str | None, image_size: int, device: torch.device) -> None:
        self._blocks = vgg19_blocks(weights).to(device).eval().requires_grad_(False)
        self._size = image_size
        self._device = device
        self._mean = torch.tensor(_IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(_IMAGENET_STD, device=device).view(1, 3, 1, 1)

    @property
    def image_size(self) -> int:
        return self._size

    def pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """Images resized to image_size squared (the seed's 512x512), ImageNet-normalised."""
        size = (self._size, self._size)
        resized = [np.asarray(image.convert("RGB").resize(size, Image.BICUBIC)) for image in images]
        batch = torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2)
        batch = batch.to(self._device, torch.float32) / 255
        return (batch - self._mean) / self._std

    def grams(self, pixels: torch.Tensor, blocks: int) -> list[torch.Tensor]:
        """The Gram matrix after each of the first `blocks` blocks."""
        grams = []
        features = pixels
        with torch.inference_mode():
            for block in self._blocks[:blocks]:
                features = block(features)
                grams.append(gram(features))
        return grams

    def style_maps(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """S for each image, (B, 1, 64, 64) float32, from VGG19's first three blocks."""
        return style_map(*self.grams(self.pixels(images), blocks=3))

    def stysim(self, a: Sequence[Image.Image], b: Sequence[Image.Image]) -> list[float]:
        """StySim of each pair (a[i], b[i]) over VGG19's first four blocks."""
        grams_a = self.grams(self.pixels(a), blocks=4)
        grams_b = self.grams(self.pixels(b), blocks=4)
        return [float(v) for v in stysim_from_grams(grams_a, grams_b)]
