"""The style branch on tiny models: zero branch = base pipeline bit for bit, styles in batches."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import ControlNetModel, StableDiffusionPipeline
from PIL import Image

from core.engine import GenerationRequest, StyleRef
from engine.profiles import ModelProfile, resolve_profile
from engine.runner import ModelRunner
from engine.style_branch import (
    BranchSource,
    StyledUNet,
    branch_source,
    build_style_branch,
    default_branch_dir,
    ensure_tiny_style_branch,
)
from engine.style_features import VGGStyle
from engine.style_unit import StyleUnit
from engine.tiny import ensure_tiny_models


def style_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def pipe(models_dir: Path) -> StableDiffusionPipeline:
    source = ensure_tiny_models(models_dir).generator
    loaded = StableDiffusionPipeline.from_pretrained(source, local_files_only=True)
    loaded.set_progress_bar_config(disable=True)
    return loaded


def test_zero_branch_output_equals_the_base_pipeline_bit_for_bit(
    pipe: StableDiffusionPipeline,
) -> None:
    styled = StyledUNet(pipe.unet, build_style_branch(pipe.unet).eval())
    components = {**pipe.components, "unet": styled}
    styled_pipe = StableDiffusionPipeline(**components, requires_safety_checker=False)
    styled_pipe.set_progress_bar_config(disable=True)
    vgg = VGGStyle(None, 64, torch.device("cpu"))
    maps = vgg.style_maps([Image.open(io.BytesIO(style_png(s))) for s in (1, 2)])
    assert maps.abs().sum() > 0, "a real, non-zero style map goes in"

    def draw(pipeline: StableDiffusionPipeline, output_type: str) -> np.ndarray:
        generators = [torch.Generator().manual_seed(seed) for seed in (3, 4)]
        with torch.inference_mode():
            return pipeline(
                ["a lighthouse", "a fox"],
                num_inference_steps=2,
                guidance_scale=2.0,  # classifier-free guidance doubles the UNet batch
                width=64,
                height=64,
                generator=generators,
                output_type=output_type,
            ).images

    base_latents, base_images = draw(pipe, "latent"), draw(pipe, "np")
    with styled.styles(maps, torch.tensor([1.0, 2.0])):
        styled_latents, styled_images = draw(styled_pipe, "latent"), draw(styled_pipe, "np")
    assert torch.equal(base_latents, styled_latents)
    assert np.array_equal(base_images, styled_images)


def test_runner_with_an_untrained_branch_draws_the_unstyled_pngs(
    models_dir: Path, tiny_profile: ModelProfile, caplog: pytest.LogCaptureFixture
) -> None:
    runner = ModelRunner.load(tiny_profile, models_dir, device="cpu")
    untrained = BranchSource("untrained", None, models_dir / "nowhere")
    runner._style_loader = lambda: StyleUnit.load(tiny_profile, untrained, models_dir, runner._pipe)
    plain = GenerationRequest("a red kite", (5, 6))
    styled = GenerationRequest("a red kite", (5, 6), style=StyleRef("s1", style_png(1)))
    [[a, b]] = runner.generate([plain])
    assert runner._style is None, "unstyled work never loads the branch"
    with caplog.at_level(logging.WARNING, logger="inkwell.models"):
        [[c, d]] = runner.generate([styled])
    assert (a.png, b.png) == (c.png, d.png)
    assert (c.provenance.style_ref, a.provenance.style_ref) == ("s1", None)
    assert any("UNTRAINED (zero) style branch" in r.getMessage() for r in caplog.records)
    runner.close()


def test_styles_reach_the_pictures_through_the_batched_path(runner: ModelRunner) -> None:
    assert runner.style_branch == "random"  # tiny: random, non-zero branch outputs
    one, two = StyleRef("one", style_png(1)), StyleRef("two", style_png(2), strength=0.5)
    off = StyleRef("one", style_png(1), strength=0.0)
    plain_request = GenerationRequest("a castle", (1,))
    styled = [GenerationRequest("a castle", (1,), style=style) for style in (one, two)]
    assert runner.sampling_key(plain_request) != runner.sampling_key(styled[0])
    assert runner.sampling_key(styled[0]) == runner.sampling_key(styled[1])
    [[plain]] = runner.generate([plain_request])
    [[first], [second]] = runner.generate(styled)
    assert not np.array_equal(pixels(plain.png), pixels(first.png))
    assert not np.array_equal(pixels(first.png), pixels(second.png))
    # Strength scales the branch's residuals: 0 adds exact zeros (same batch size as plain).
    [[zero]] = runner.generate([GenerationRequest("a castle", (1,), style=off)])
    assert zero.png == plain.png
    assert (second.provenance.style_ref, second.provenance.style_strength) == ("two", 0.5)
    assert plain.provenance.style_ref is None and plain.provenance.style_strength is None
    # Each sample has its own S: two styles in one call draw what each draws alone (CPU
    # kernels round differently per batch size, by at most one level after 8-bit output).
    [[alone]] = runner.generate([GenerationRequest("a castle", (1,), style=two)])
    assert np.abs(pixels(alone.png) - pixels(second.png)).max() <= 1


def test_tiny_branch_is_saved_and_loaded_with_from_pretrained(
    models_dir: Path, pipe: StableDiffusionPipeline
) -> None:
    path = ensure_tiny_style_branch(models_dir, pipe.unet)
    assert (path / "config.json").is_file()
    built_at = (path / "config.json").stat().st_mtime_ns
    assert ensure_tiny_style_branch(models_dir, pipe.unet) == path
    assert (path / "config.json").stat().st_mtime_ns == built_at, "built once"
    loaded = ControlNetModel.from_pretrained(path, local_files_only=True)
    assert loaded.config.conditioning_channels == 1
    assert loaded.controlnet_mid_block.weight.abs().sum() > 0  # random, not zero, outputs
    fresh = build_style_branch(pipe.unet)
    outputs = [fresh.controlnet_mid_block, *fresh.controlnet_down_blocks]
    assert all(not block.weight.detach().any() for block in outputs), "zero-initialised"


def test_branch_source_prefers_a_trained_branch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tiny = resolve_profile("tiny")
    assert branch_source(tiny, tmp_path).state == "random"
    sd15 = resolve_profile("sd15")
    with caplog.at_level(logging.WARNING, logger="inkwell.models"):
        untrained = branch_source(sd15, tmp_path)
    assert (untrained.state, untrained.path) == ("untrained", None)
    assert "no trained style branch" in caplog.text and "train-style" in caplog.text
    assert "through IP-Adapter h94/IP-Adapter" in caplog.text  # sd15 draws styles with it
    trained_dir = default_branch_dir(tmp_path, "sd15")
    trained_dir.mkdir(parents=True)
    (trained_dir / "config.json").write_text("{}")
    assert branch_source(sd15, tmp_path) == BranchSource("trained", trained_dir, trained_dir)
    elsewhere = resolve_profile("tiny", {"style_branch": str(trained_dir)})
    assert branch_source(elsewhere, tmp_path / "other").state == "trained"
