"""Training the style branch on tiny models: loss falls, only the branch learns, exact resume."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from engine.profiles import ModelProfile
from engine.style_branch import branch_source, build_style_branch
from engine.style_features import VGGStyle
from engine.tiny import ensure_tiny_models
from training.style_branch import (
    StyleTrainer,
    TrainingExample,
    TrainingOptions,
    training_examples,
)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> list[TrainingExample]:
    folder = tmp_path_factory.mktemp("style-data")
    rng = np.random.default_rng(0)
    for index in range(2):
        pixels = rng.integers(0, 255, (80, 96, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"page{index}.png")
    (folder / "page0.txt").write_text("a lighthouse in a storm\n", encoding="utf-8")
    (folder / "notes.md").write_text("not an image", encoding="utf-8")
    return training_examples(folder)


@pytest.fixture(scope="module")
def parts(models_dir: Path) -> tuple[StableDiffusionPipeline, VGGStyle]:
    source = ensure_tiny_models(models_dir).generator
    pipe = StableDiffusionPipeline.from_pretrained(source, local_files_only=True)
    return pipe, VGGStyle(None, 64, torch.device("cpu"))


def trainer(
    parts: tuple[StableDiffusionPipeline, VGGStyle],
    examples: list[TrainingExample],
    **options: int,
) -> StyleTrainer:
    pipe, vgg = parts
    settings = TrainingOptions(batch_size=2, learning_rate=1e-2, progress=False, **options)
    return StyleTrainer(pipe, build_style_branch(pipe.unet), vgg, examples, settings, (64, 64))


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


def test_examples_pair_images_with_their_captions(examples: list[TrainingExample]) -> None:
    assert [(e.image.name, e.caption) for e in examples] == [
        ("page0.png", "a lighthouse in a storm"),
        ("page1.png", ""),
    ]


def test_a_few_steps_lower_the_loss_and_change_only_the_branch(
    parts: tuple[StableDiffusionPipeline, VGGStyle],
    examples: list[TrainingExample],
    tmp_path: Path,
    tiny_profile: ModelProfile,
) -> None:
    pipe = parts[0]
    run = trainer(parts, examples, steps=6, checkpoint_every=3)
    frozen_before = [state(m) for m in (pipe.unet, pipe.vae, pipe.text_encoder)]
    branch_before = state(run.branch)
    before = run.evaluate()
    losses = run.run(tmp_path)
    after = run.evaluate()
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert after < before, f"held-out loss {before:.4f} -> {after:.4f}"
    for module, saved in zip((pipe.unet, pipe.vae, pipe.text_encoder), frozen_before, strict=True):
        assert all(torch.equal(saved[k], v) for k, v in module.state_dict().items())
    changed = [
        k for k, v in run.branch.state_dict().items() if not torch.equal(branch_before[k], v)
    ]
    assert "controlnet_mid_block.weight" in changed
    assert any(k.startswith("controlnet_cond_embedding") for k in changed)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "step-0000003",
        "step-0000006",
    ]
    run.save_final(tmp_path)
    configured = dataclasses.replace(tiny_profile, style_branch=str(tmp_path))
    assert branch_source(configured, tmp_path).state == "trained"


def test_resuming_from_a_checkpoint_continues_exactly(
    parts: tuple[StableDiffusionPipeline, VGGStyle],
    examples: list[TrainingExample],
    tmp_path: Path,
) -> None:
    straight = trainer(parts, examples, steps=2, checkpoint_every=100)
    straight.run(tmp_path / "straight")

    first = trainer(parts, examples, steps=1, checkpoint_every=1, keep_checkpoints=1)
    first.run(tmp_path / "split")
    second = trainer(parts, examples, steps=2, checkpoint_every=1)
    assert second.resume(tmp_path / "split") and second.step == 1
    second.run(tmp_path / "split")

    expected = straight.branch.state_dict()
    assert all(torch.equal(expected[k], v) for k, v in second.branch.state_dict().items())
    assert not trainer(parts, examples, steps=1).resume(tmp_path / "nothing-here")
