"""Seed 004's statistics: Gram matrices, the style map S and StySim, on random VGG19 weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.style_features import (
    STYLE_MAP_SIZE,
    VGGStyle,
    gram,
    style_map,
    stysim_from_grams,
    vgg19_blocks,
)


@pytest.fixture(scope="module")
def vgg() -> VGGStyle:
    return VGGStyle(None, 64, torch.device("cpu"))


def noise_image(seed: int, size: int = 96) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def test_gram_is_f_ft_over_h_w() -> None:
    features = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 1.0], [0.0, 1.0]]]])  # 1x2x2x2
    flat = features.reshape(2, 4)
    assert torch.allclose(gram(features)[0], flat @ flat.T / 4)
    assert gram(features)[0, 0, 1].item() == pytest.approx((2 + 4) / 4)


def test_style_map_pools_the_larger_grams_down_to_g1() -> None:
    g1 = torch.zeros(1, 64, 64)
    g2 = torch.zeros(1, 128, 128)
    g3 = torch.zeros(1, 256, 256)
    g1[0, 0, 0] = 1.0
    g2[0, 3, 3] = 5.0  # max-pool 2: lands at (1, 1)
    g3[0, 9, 9] = 7.0  # max-pool 4: lands at (2, 2)
    s = style_map(g1, g2, g3)
    assert s.shape == (1, 1, STYLE_MAP_SIZE, STYLE_MAP_SIZE)
    assert (s[0, 0, 0, 0].item(), s[0, 0, 1, 1].item(), s[0, 0, 2, 2].item()) == (1, 5, 7)
    assert s.sum().item() == 13


def test_random_vgg_is_the_same_in_every_build() -> None:
    a, b = vgg19_blocks(None, blocks=2), vgg19_blocks(None, blocks=2)
    for left, right in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(left, right)
    with pytest.raises(ValueError, match="IMAGENET1K_V1"):
        vgg19_blocks("IMAGENET2K")


def test_block_grams_have_the_block_channel_counts(vgg: VGGStyle) -> None:
    grams = vgg.grams(vgg.pixels([noise_image(0)]), blocks=4)
    assert [tuple(g.shape) for g in grams] == [
        (1, 64, 64),
        (1, 128, 128),
        (1, 256, 256),
        (1, 512, 512),
    ]
    assert all(bool((g >= 0).all()) for g in grams[:1])  # post-ReLU features: G1 >= 0


def test_style_maps_tell_pictures_apart(vgg: VGGStyle) -> None:
    maps = vgg.style_maps([noise_image(1), noise_image(1), Image.new("RGB", (80, 80), "red")])
    assert maps.shape == (3, 1, 64, 64) and maps.dtype == torch.float32
    assert torch.equal(maps[0], maps[1])
    assert not torch.allclose(maps[0], maps[2])


def test_stysim_is_zero_for_the_same_picture_and_symmetric(vgg: VGGStyle) -> None:
    a, b = noise_image(2), Image.new("RGB", (100, 60), (30, 160, 90))
    same, ab = vgg.stysim([a, a], [a, b])
    [ba] = vgg.stysim([b], [a])
    assert same == 0.0
    assert ab > 0 and ab == pytest.approx(ba)
    grams_a = vgg.grams(vgg.pixels([a]), blocks=4)
    grams_b = vgg.grams(vgg.pixels([b]), blocks=4)
    pairs = zip(grams_a, grams_b, strict=True)
    by_hand = sum(float(((x - y) ** 2).sum()) / x[0].numel() for x, y in pairs)
    assert ab == pytest.approx(by_hand, rel=1e-5)
    assert float(stysim_from_grams(grams_a, grams_b)[0]) == pytest.approx(ab)
