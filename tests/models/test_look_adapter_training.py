"""The look adapter trainer on the tiny models: the loss goes down, only the adapter learns,
a resumed run matches an uninterrupted one, and the engine draws with what it saved."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.engine import GenerationRequest, LookRef
from engine.looks import TRAINED_MARKER, TRAINED_WEIGHTS
from engine.profiles import ModelProfile
from engine.runner import ModelRunner
from engine.seeds import pictures_match
from training.ip_adapter import (
    LookAdapterOptions,
    figure_box,
    hub_state,
    picturebook_examples,
    train_look_adapter,
    trainer_for_profile,
)

OPTIONS = LookAdapterOptions(
    steps=6, batch_size=4, learning_rate=1e-2, scenes=16, checkpoint_every=3, progress=False
)


def trainer(models_dir: Path, profile: ModelProfile, **changes: object):  # -> LookAdapterTrainer
    return trainer_for_profile(
        profile, models_dir, dataclasses.replace(OPTIONS, **changes), device="cpu"
    )


def test_each_example_is_a_render_with_the_crop_of_one_of_its_figures() -> None:
    examples = picturebook_examples(12, seed=3)
    assert 0 < len(examples) <= 12 and all(e.caption for e in examples)
    assert all(e.picture.size == (64, 64) for e in examples)
    assert all(10 <= e.crop.size[0] <= 40 and e.crop.size[0] == e.crop.size[1] for e in examples)
    assert picturebook_examples(12, seed=3)[0].caption == examples[0].caption, "seeded"
    for position in ("left", "centre", "right"):
        x0, y0, x1, y1 = figure_box(position, "big")
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def test_the_loss_goes_down_and_only_the_adapter_learns(
    models_dir: Path, tiny_profile: ModelProfile
) -> None:
    torch.manual_seed(0)
    run = trainer(models_dir, tiny_profile, steps=12)
    unet = run.pipe.unet
    adapter_ids = {id(p) for p in run.modules.parameters()}
    frozen = {
        name: p.detach().clone()
        for module, prefix in ((unet, "unet"), (run.pipe.vae, "vae"), (run.pipe.text_encoder, "te"))
        for name, p in module.named_parameters(prefix=prefix)
        if id(p) not in adapter_ids
    }
    adapter_before = hub_state(run.modules)
    before = run.evaluate()
    losses = [run.train_step() for _ in range(run.options.steps)]
    after = run.evaluate()
    assert all(np.isfinite(losses))
    assert after[0] < before[0], (before, after)
    modules = ((unet, "unet"), (run.pipe.vae, "vae"), (run.pipe.text_encoder, "te"))
    for module, prefix in modules:
        for name, p in module.named_parameters(prefix=prefix):
            if id(p) not in adapter_ids:
                assert torch.equal(p, frozen[name]), f"{name} moved"
    adapter_after = hub_state(run.modules)
    assert set(adapter_after) == set(adapter_before)
    assert any(not torch.equal(adapter_before[k], adapter_after[k]) for k in adapter_after)


def test_a_resumed_run_takes_the_same_steps(
    models_dir: Path, tiny_profile: ModelProfile, tmp_path: Path
) -> None:
    straight = trainer(models_dir, tiny_profile)
    straight.run(tmp_path / "straight")
    interrupted = trainer(models_dir, tiny_profile, steps=3)
    interrupted.run(tmp_path / "resumed")
    resumed = trainer(models_dir, tiny_profile)
    assert resumed.resume(tmp_path / "resumed") and resumed.step == 3
    resumed.run(tmp_path / "resumed")
    a, b = hub_state(straight.modules), hub_state(resumed.modules)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def _look(colour: tuple[int, int, int]) -> LookRef:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    return LookRef("fox", str(colour), buffer.getvalue())


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_engine_draws_with_the_trained_adapter(
    models_dir: Path, tiny_profile: ModelProfile, tmp_path: Path
) -> None:
    out = tmp_path / "look-adapter"
    done = train_look_adapter(trainer(models_dir, tiny_profile), out, "tiny")
    assert done.steps == OPTIONS.steps
    assert (out / TRAINED_WEIGHTS).is_file() and (out / TRAINED_MARKER).is_file()
    profile = dataclasses.replace(tiny_profile, look_adapter=str(out))
    runner = ModelRunner.load(profile, models_dir, device="cpu")
    try:
        red, blue = _look((220, 30, 30)), _look((30, 30, 220))
        rows = runner.generate(
            [
                GenerationRequest("a fox", (2,)),
                GenerationRequest("a fox", (2,), looks=(red,), look_strength=1.0),
                GenerationRequest("a fox", (2,), looks=(blue,), look_strength=1.0),
            ]
        )
    finally:
        runner.close()
    pictures = [np.asarray(Image.open(io.BytesIO(row[0].png)), np.int16) for row in rows]
    assert not pictures_match(pictures[0], pictures[1])
    assert not pictures_match(pictures[1], pictures[2])
    assert rows[1][0].provenance.look_method == "look adapter trained for tiny (6 steps)"
