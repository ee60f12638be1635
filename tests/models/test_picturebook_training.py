"""Picture-book training on tiny settings: each stage runs, resumes, exports loadable weights."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from diffusers import StableDiffusionPipeline
from open_clip.tokenizer import SimpleTokenizer
from safetensors.torch import load_file

import training.picturebook.diffusion as diffusion
from training.picturebook.options import Architecture, TrainingPlan
from training.picturebook.pipeline import clip_tokenizer, sampling_scheduler
from training.picturebook.scorer import SCORER_MODEL
from training.picturebook.session import GENERATOR_DIR, SCORER_DIR, train_picturebook

PLAN = TrainingPlan(
    scenes=24,
    autoencoder_steps=2,
    autoencoder_batch=4,
    diffusion_steps=4,
    diffusion_batch=4,
    clip_steps=2,
    clip_batch=8,
    held_out=8,
    checkpoint_every=2,
    sample_every=0,
    sample_steps=2,
    progress=False,
    threads=torch.get_num_threads(),
    architecture=Architecture.small(),
)


class Interrupted(Exception):
    """Stands in for a crash or Ctrl-C right after a checkpoint was written."""


def test_tokenizer_is_the_real_clip_bpe() -> None:
    tokenizer = clip_tokenizer()
    assert len(tokenizer) == 49408
    assert tokenizer.model_max_length == 77
    bpe = SimpleTokenizer()
    text = "The red fox sleeps under the old tree at night."
    ids = tokenizer(text).input_ids
    assert ids[0] == bpe.encoder["<start_of_text>"] and ids[-1] == bpe.encoder["<end_of_text>"]
    assert ids[1:-1] == bpe.encode(text)


def test_sampling_starts_where_the_schedule_keeps_some_signal() -> None:
    # An epsilon model's x0 estimate divides by sqrt(alpha_bar): at the cosine schedule's
    # t=999 (alpha_bar 2e-9) that turned samples into saturated noise.
    scheduler = sampling_scheduler()
    for steps in (10, 25, 50):
        scheduler.set_timesteps(steps)
        assert scheduler.alphas_cumprod[scheduler.timesteps[0]] > 1e-4


def test_training_exports_a_pipeline_and_an_open_clip_model(tmp_path: Path) -> None:
    report = train_picturebook(PLAN, tmp_path / "work", tmp_path / "export")
    assert set(report.seconds) >= {"autoencoder", "diffusion", "scorer", "export"}
    generator = tmp_path / "export" / GENERATOR_DIR
    assert not list(generator.rglob("*.bin"))  # safetensors only
    pipe = StableDiffusionPipeline.from_pretrained(
        generator, dtype=torch.float32, local_files_only=True
    )
    assert pipe.safety_checker is None
    assert type(pipe.scheduler).__name__ == "DDIMScheduler"
    assert pipe.vae.config.scaling_factor != 1.0  # set from the latents' spread
    images = pipe(
        ["a red fox in a snowy forest"],
        num_inference_steps=2,
        guidance_scale=3.0,
        height=64,
        width=64,
        generator=torch.Generator().manual_seed(0),
    ).images
    assert images[0].size == (64, 64)
    scorer = tmp_path / "export" / SCORER_DIR
    open_clip.add_model_config(scorer / f"{SCORER_MODEL}.json")  # this run's architecture
    model, _, preprocess = open_clip.create_model_and_transforms(
        SCORER_MODEL, pretrained=str(scorer / "open_clip_model.safetensors")
    )
    trained = load_file(str(tmp_path / "work" / "scorer" / "open_clip_model.safetensors"))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, trained[key].float(), atol=1e-2, rtol=1e-2)
    with torch.no_grad():
        features = model.encode_image(preprocess(images[0]).unsqueeze(0))
    assert features.shape == (1, PLAN.architecture.clip_embed)


def test_a_resumed_run_ends_where_an_unbroken_one_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = replace(PLAN, clip_steps=1)
    unbroken = tmp_path / "unbroken"
    train_picturebook(plan, unbroken, unbroken / "export")

    broken = tmp_path / "broken"
    real_save = diffusion.save_checkpoint
    saved_steps: list[int] = []

    def save_then_crash(path: Path, step: int, *args: object, **kwargs: object) -> None:
        real_save(path, step, *args, **kwargs)
        saved_steps.append(step)
        raise Interrupted

    monkeypatch.setattr(diffusion, "save_checkpoint", save_then_crash)
    with pytest.raises(Interrupted):
        train_picturebook(plan, broken, broken / "export")
    assert saved_steps == [2]  # the first diffusion checkpoint, half way
    monkeypatch.setattr(diffusion, "save_checkpoint", real_save)
    train_picturebook(plan, broken, broken / "export")

    for part in ("unet", "text_encoder"):
        a = load_file(str(next((unbroken / "diffusion" / part).glob("*.safetensors"))))
        b = load_file(str(next((broken / "diffusion" / part).glob("*.safetensors"))))
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-5)


def test_a_finished_run_trains_on_when_more_steps_are_asked(tmp_path: Path) -> None:
    work = tmp_path / "work"
    plan = replace(PLAN, clip_steps=1)
    train_picturebook(plan, work, work / "export")
    first = load_file(str(next((work / "diffusion" / "unet").glob("*.safetensors"))))
    train_picturebook(plan, work, work / "export")  # the same steps: loaded as it is
    again = load_file(str(next((work / "diffusion" / "unet").glob("*.safetensors"))))
    assert all(torch.equal(first[key], again[key]) for key in first)

    longer = replace(plan, diffusion_steps=plan.diffusion_steps + 2)
    train_picturebook(longer, work, work / "export")
    extended = load_file(str(next((work / "diffusion" / "unet").glob("*.safetensors"))))
    assert not all(torch.equal(first[key], extended[key]) for key in first)


def test_min_snr_weighting_keeps_noisy_steps_and_discounts_nearly_clean_ones() -> None:
    schedule = diffusion.training_scheduler()
    noise = torch.zeros(2, 4, 2, 2)
    predicted = torch.ones(2, 4, 2, 2)  # the same error at both timesteps
    nearly_clean, noisy = torch.tensor([1]), torch.tensor([900])
    plain = replace(PLAN, snr_gamma=0.0)
    weighted = replace(PLAN, snr_gamma=5.0)

    def loss(t: torch.Tensor, plan: TrainingPlan) -> float:
        return float(diffusion.noise_prediction_loss(predicted[:1], noise[:1], t, schedule, plan))

    assert loss(nearly_clean, plain) == pytest.approx(1.0)
    assert loss(noisy, plain) == pytest.approx(1.0)
    # At t=900 the SNR is under gamma: weight 1. At t=1 it is in the thousands: weight gamma/SNR.
    assert loss(noisy, weighted) == pytest.approx(1.0)
    assert loss(nearly_clean, weighted) < 0.01
