"""Seed 003's edit model on tiny models: an InstructPix2Pix UNet widened from the profile's,
trained from edit pairs (only the UNet moves, the loss falls, resume is exact), saved where the
engine lists it, loaded as a pipeline sharing the profile's VAE and text encoder, and used by
attribute edits that name it (others fuse the two branches as before)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from core.engine import EditRequest, Provenance
from engine.edit_model import EditModels
from engine.lora import EDIT_MODEL_FILE, adapter_dir, list_adapters
from engine.profiles import ModelProfile
from engine.tiny import ensure_tiny_models
from training.edit_model import (
    EditModelOptions,
    EditModelTrainer,
    EditPair,
    instruct_unet,
    train_edit_model,
)


def png(background: tuple[int, int, int], square: tuple[int, int, int]) -> bytes:
    pixels = np.zeros((64, 64, 3), np.uint8)
    pixels[...] = background
    pixels[20:44, 20:44] = square
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


PAIRS = [
    EditPair(png((30, 120, 30), (200, 40, 40)), png((30, 120, 30), (40, 40, 200)), "make it blue"),
    EditPair(png((90, 90, 90), (200, 200, 40)), png((90, 90, 90), (40, 40, 200)), "make it blue"),
    EditPair(png((30, 30, 120), (40, 40, 200)), png((30, 30, 120), (200, 40, 40)), "make it red"),
]


def fresh_pipe(models_dir: Path) -> StableDiffusionPipeline:
    source = ensure_tiny_models(models_dir).generator
    pipe = StableDiffusionPipeline.from_pretrained(source, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def trainer(models_dir: Path, **options) -> EditModelTrainer:
    settings = dict(batch_size=3, learning_rate=1e-2, progress=False)
    return EditModelTrainer(
        fresh_pipe(models_dir), PAIRS, EditModelOptions(**{**settings, **options}), (64, 64)
    )


def weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in module.state_dict().items()}


@pytest.fixture(scope="module")
def adapters(models_dir: Path, tiny_profile: ModelProfile, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("edit-adapters")
    options = EditModelOptions(steps=20, batch_size=3, learning_rate=1e-2, progress=False)
    train_edit_model(
        tiny_profile,
        models_dir,
        PAIRS,
        adapter_dir(root, "tiny", "edit-model", "colours"),
        name="colours",
        options=options,
        device="cpu",
    )
    return root


def test_the_widened_unet_first_predicts_as_the_base_unet(models_dir: Path) -> None:
    base = fresh_pipe(models_dir).unet
    widened = instruct_unet(fresh_pipe(models_dir).unet)
    assert (base.config.in_channels, widened.config.in_channels) == (4, 8)
    assert torch.count_nonzero(widened.conv_in.weight[:, 4:]) == 0
    generator = torch.Generator().manual_seed(0)
    noisy = torch.randn((1, 4, 8, 8), generator=generator)
    picture = torch.randn((1, 4, 8, 8), generator=generator)
    text = torch.randn((1, 77, base.config.cross_attention_dim), generator=generator)
    with torch.no_grad():
        plain = base(noisy, 10, text).sample
        conditioned = widened(torch.cat([noisy, picture], dim=1), 10, text).sample
    assert torch.allclose(plain, conditioned, atol=1e-5)


def test_training_lowers_the_loss_and_moves_only_the_unet(models_dir: Path, tmp_path) -> None:
    edits = trainer(models_dir, steps=20)
    pipe = edits.pipe
    frozen = {"vae": weights(pipe.vae), "text_encoder": weights(pipe.text_encoder)}
    unet_before = weights(edits.unet)
    before = edits.evaluate()
    losses = edits.run(tmp_path)
    assert len(losses) == 20
    assert edits.evaluate() < before
    unet_after = weights(edits.unet)
    assert any(not torch.equal(unet_before[n], unet_after[n]) for n in unet_before)
    assert torch.count_nonzero(edits.unet.conv_in.weight[:, 4:]) > 0, "picture channels learn"
    for name, state in frozen.items():
        now = weights(getattr(pipe, name))
        assert all(torch.equal(state[n], now[n]) for n in state), name
    assert not any(p.requires_grad for p in pipe.vae.parameters())
    assert not any(p.requires_grad for p in pipe.text_encoder.parameters())


def test_resume_takes_the_same_steps_as_an_uninterrupted_run(models_dir: Path, tmp_path) -> None:
    straight = trainer(models_dir, steps=4, checkpoint_every=2)
    straight.run(tmp_path / "straight")
    first = trainer(models_dir, steps=2, checkpoint_every=2)
    first.run(tmp_path / "split")
    second = trainer(models_dir, steps=4, checkpoint_every=2)
    assert second.resume(tmp_path / "split") and second.step == 2
    second.run(tmp_path / "split")
    a, b = weights(straight.unet), weights(second.unet)
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_a_saved_edit_model_is_listed_and_loads_sharing_the_profile_parts(
    models_dir: Path, adapters: Path
) -> None:
    [info] = list_adapters(adapters, "tiny")
    assert (info.kind, info.name, info.pictures, info.steps) == ("edit-model", "colours", 3, 20)
    assert info.loss_after < info.loss_before and info.trained_at
    assert (adapter_dir(adapters, "tiny", "edit-model", "colours") / EDIT_MODEL_FILE).is_file()
    base = fresh_pipe(models_dir)
    pipe = EditModels(base, adapters, "tiny").pipeline("colours")
    assert pipe.vae is base.vae and pipe.text_encoder is base.text_encoder
    assert pipe.unet.config.in_channels == 8
    with pytest.raises(ValueError, match="no trained edit model 'gone'"):
        EditModels(base, adapters, "tiny").pipeline("gone")


def test_an_attribute_edit_naming_the_model_is_drawn_by_it_and_says_so(
    models_dir: Path, tiny_profile: ModelProfile, adapters: Path
) -> None:
    from engine.runner import ModelRunner

    runner = ModelRunner.load(tiny_profile, models_dir, device="cpu", adapters=adapters)
    try:
        parent = Provenance("tiny", "a red box on grass", "", 5, 2, 64, 64, 2.0)
        request = EditRequest(
            kind="attribute",
            image=PAIRS[0].original,
            provenance=parent,
            prompt="a blue box on grass",
            attribute="blue",
            attribute_word="box",
            edit_model="colours",
            instruction="make it blue",
        )
        steps: list[tuple[int, int]] = []
        [drawn] = runner.edit([request], lambda done, total: steps.append((done, total)))
        edit = drawn.provenance.edit or {}
        assert edit["method"] == "edit model colours"
        assert edit["feature_branch"] == "edit model colours"
        assert edit["instruction"] == "make it blue"
        assert steps[-1] == (2, 2), "one pass of the picture's steps"
        with Image.open(io.BytesIO(drawn.png)) as image:
            assert image.size == (64, 64)
        [fused] = runner.edit([replace(request, edit_model=None)])
        assert (fused.provenance.edit or {})["method"] == "fusion"
        assert "mask_area" in (fused.provenance.edit or {})
    finally:
        runner.close()
