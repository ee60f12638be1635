"""Seed 003's fusion on the tiny UNet's real decoder blocks, and masks from cross-attention."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine import GenerationRequest
from engine.attribute_edit import BranchPair, attribute_masks, fusion_plan
from engine.attribute_fusion import (
    CrossAttentionRecorder,
    DecoderFusion,
    attribute_mask,
    combine_masks,
    fuse,
    recording_cross_attention,
    word_positions,
)
from engine.edit_settings import EditSettings
from engine.loading import load_pipeline
from engine.profiles import ModelProfile
from engine.seeds import pictures_match

PAIR = BranchPair(
    original_prompt="a knight with long hair in a forest",
    attribute_prompt="a knight with long red hair in a forest",
    negative_prompt="",
    seed=11,
    steps=2,
    width=64,
    height=64,
    guidance_scale=2.0,
)
SIZE = (32, 32)  # the tiny VAE downsamples once: its latent grid at 64 px
LAST = 1  # the tiny UNet's last decoder block: after it every batch row is computed alone


@pytest.fixture(scope="module")
def pipe(models_dir: Path, tiny_profile: ModelProfile):  # -> StableDiffusionPipeline
    loaded, _ = load_pipeline(tiny_profile, models_dir, torch.device("cpu"), torch.float32)
    return loaded


def latents(pipe, fusion: DecoderFusion | None = None) -> torch.Tensor:
    with torch.inference_mode():
        return PAIR.run(pipe, output_type="latent", fusion=fusion).images


@contextmanager
def probe(block: torch.nn.Module, seen: list[torch.Tensor]) -> Iterator[None]:
    handle = block.register_forward_hook(lambda m, i, output: seen.append(output.clone()))
    try:
        yield
    finally:
        handle.remove()


def test_fuse_is_the_seed_formula() -> None:
    f_o, f_t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    mask = torch.rand(1, 4, 4)
    expected = f_o * (1 - mask) + (0.2 * f_o + 0.8 * f_t) * mask
    assert torch.allclose(fuse(f_o, f_t, mask, 0.2), expected)


def test_mask_zero_reproduces_the_original_exactly(pipe) -> None:
    baseline = latents(pipe)
    fusion = DecoderFusion(pipe.unet, [0, 1], torch.zeros(SIZE), 0.2, {0, 1})
    fused = latents(pipe, fusion)
    assert fusion.fused == 4  # two blocks at two steps: the hooks really ran
    assert torch.equal(fused, baseline)
    with torch.inference_mode():
        picture = PAIR.run(pipe, output_type="np").images[0]
        fused_picture = PAIR.run(pipe, output_type="np", fusion=fusion).images[0]
    assert np.array_equal(fused_picture, picture)


def test_outside_the_mask_the_fused_features_are_the_originals(pipe) -> None:
    mask = torch.zeros(SIZE)
    mask[:, : SIZE[1] // 2] = 1.0
    fusion = DecoderFusion(pipe.unet, [LAST], mask, 0.2, {0})
    raw: list[torch.Tensor] = []
    after: list[torch.Tensor] = []
    block = pipe.unet.up_blocks[LAST]
    with torch.inference_mode(), probe(block, raw), fusion.attached(), probe(block, after):
        fusion.step = 0
        PAIR.run(pipe, output_type="latent", fusion=fusion)
    before, fused = raw[0], after[0]  # step 0, rows (uncond o, uncond t, cond o, cond t)
    resized = fusion.mask_at(before.shape[-2], before.shape[-1], before)[0]
    outside, inside = resized == 0, resized == 1
    assert outside.any() and inside.any()
    for original in (0, 2):
        assert torch.equal(fused[original][:, outside], before[original][:, outside])
        expected = 0.2 * before[original] + 0.8 * before[original + 1]
        assert torch.allclose(fused[original][:, inside], expected[:, inside])
        assert torch.equal(fused[original + 1], before[original + 1])  # attribute rows untouched
    # The unconditional pair is one input twice; the conditional pair differs, so fusing shows.
    assert torch.equal(before[0], before[1])
    assert not torch.allclose(fused[2][:, inside], before[2][:, inside])
    assert torch.equal(raw[1], after[1])  # step 1 is not a fusion step


def test_full_mask_alpha_zero_gives_the_attribute_branch(pipe) -> None:
    baseline = latents(pipe)
    fusion = DecoderFusion(pipe.unet, [LAST], torch.ones(SIZE), 0.0, {0, 1})
    fused = latents(pipe, fusion)
    assert not torch.equal(baseline[0], baseline[1])
    assert torch.equal(fused[0], baseline[1])
    assert torch.equal(fused[1], baseline[1])


def test_full_mask_alpha_one_gives_the_original(pipe) -> None:
    baseline = latents(pipe)
    fusion = DecoderFusion(pipe.unet, [0, 1], torch.ones(SIZE), 1.0, {0, 1})
    assert torch.equal(latents(pipe, fusion), baseline)
    assert fusion.fused == 4


def test_the_recorder_sees_real_attention_probabilities(pipe) -> None:
    everything = [list(range(77)), list(range(77))]
    recorder = CrossAttentionRecorder(everything, SIZE)
    with torch.inference_mode(), recording_cross_attention(pipe.unet, recorder):
        recorded = PAIR.run(pipe, output_type="latent", recorder=recorder).images
    # Softmax rows sum to 1 over all tokens, so the map of every token is 1 everywhere.
    for heat in recorder.maps():
        assert heat is not None and heat.shape == SIZE
        assert torch.allclose(heat, torch.ones(SIZE), atol=1e-4)
    # Recording changes nothing the UNet computes (beyond the attention kernel's rounding).
    assert torch.allclose(recorded, latents(pipe), atol=1e-5)
    assert all(
        type(p).__name__ != "_RecordingProcessor" for p in pipe.unet.attn_processors.values()
    )


def test_masks_come_from_the_attribute_words_attention(pipe) -> None:
    union_settings = EditSettings(mask_combine="union", mask_threshold=0.5)
    with torch.inference_mode():
        union, masks = attribute_masks(pipe, PAIR, ["hair"], union_settings)
        intersection, again = attribute_masks(
            pipe, PAIR, ["hair"], EditSettings(mask_combine="intersection", mask_threshold=0.5)
        )
    assert len(masks) == 2 and union.shape == SIZE
    for mask in (union, intersection, *masks):
        assert set(mask.unique().tolist()) <= {0.0, 1.0}
        assert 0 < float(mask.sum()) < SIZE[0] * SIZE[1]  # neither empty nor everything
    assert torch.equal(union, torch.maximum(*masks))
    assert torch.equal(intersection, torch.minimum(*again))
    assert float(intersection.sum()) <= float(union.sum())


def test_a_word_only_one_branch_has_gives_that_branchs_mask(pipe) -> None:
    with torch.inference_mode():
        joint, masks = attribute_masks(pipe, PAIR, ["red"], EditSettings())
    assert len(masks) == 1 and torch.equal(joint, masks[0])
    with pytest.raises(ValueError, match="not in the picture's prompt"):
        attribute_masks(pipe, PAIR, ["beard"], EditSettings())


def test_word_positions_follow_the_tokenizer(pipe) -> None:
    ids = pipe.tokenizer(PAIR.attribute_prompt).input_ids
    positions = word_positions(pipe.tokenizer, PAIR.attribute_prompt, ["red hair"])
    assert [ids[p] for p in positions] == pipe.tokenizer(
        "red hair", add_special_tokens=False
    ).input_ids


def test_masks_threshold_and_combine() -> None:
    heat = torch.tensor([[0.0, 1.0], [2.0, 4.0]])
    assert attribute_mask(heat, 0.5).tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert attribute_mask(torch.ones(2, 2), 0.5).sum() == 0  # a flat map marks nothing
    a, b = torch.tensor([1.0, 0.0, 1.0]), torch.tensor([1.0, 1.0, 0.0])
    assert combine_masks([a, b], "union").tolist() == [1.0, 1.0, 1.0]
    assert combine_masks([a, b], "intersection").tolist() == [1.0, 0.0, 0.0]


def test_complex_edits_fuse_more_blocks_and_steps() -> None:
    settings = EditSettings(decoder_blocks=(1,), fusion_steps=(0.0, 0.5), complex_area=0.25)
    small = torch.zeros(8, 8)
    small[:2, :2] = 1.0
    assert fusion_plan(settings, small, 1, 4) == ((1,), {0, 1}, False)
    assert fusion_plan(settings, torch.ones(8, 8), 1, 4) == ((0, 1), {0, 1, 2, 3}, True)
    assert fusion_plan(settings, small, 2, 4) == ((0, 1), {0, 1, 2, 3}, True)


def test_mask_zero_redraws_the_parent_picture_from_its_provenance(pipe, runner) -> None:
    """The original branch starts from the parent's recorded latent: with M = 0 the edit gives
    back the picture the runner drew (within engine.seeds' tolerance: it runs in a batch of 2)."""
    [[parent]] = runner.generate([GenerationRequest(PAIR.original_prompt, (PAIR.seed,))])
    p = parent.provenance
    pair = replace(
        PAIR, steps=p.steps, width=p.width, height=p.height, guidance_scale=p.guidance_scale
    )
    fusion = DecoderFusion(pipe.unet, [0, 1], torch.zeros(SIZE), 0.2, set(range(p.steps)))
    with torch.inference_mode():
        redrawn = pair.run(pipe, fusion=fusion).images[0]
    assert fusion.fused > 0
    with Image.open(io.BytesIO(parent.png)) as drawn:
        assert pictures_match(np.asarray(redrawn), np.asarray(drawn.convert("RGB")))
