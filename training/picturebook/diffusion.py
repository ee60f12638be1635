"""Stages 2-3: the CLIP text encoder and the UNet, trained jointly on noise-prediction MSE."""

from __future__ import annotations

import copy
import json
import logging
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
from diffusers.training_utils import compute_snr
from tqdm import tqdm
from transformers import CLIPTextModel, CLIPTokenizer

from training.picturebook.autoencoder import Latents
from training.picturebook.checkpoints import Ema, load_checkpoint, save_checkpoint, warmup_constant
from training.picturebook.data import Renders, step_rng
from training.picturebook.options import TrainingPlan
from training.picturebook.pipeline import (
    assemble_pipeline,
    build_text_encoder,
    build_unet,
    training_scheduler,
)
from training.picturebook.samples import save_sample_grid

logger = logging.getLogger("inkwell.training")

STAGE = "diffusion"


def batch_captions(
    renders: Renders, rows: torch.Tensor, rng: random.Random, empty_share: float
) -> list[str]:
    """Fresh captions for `rows`; a share are empty, so the model learns the unconditional too."""
    return [
        "" if rng.random() < empty_share else text for text in renders.fresh_captions(rows, rng)
    ]


def encode_captions(
    tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, captions: list[str]
) -> torch.Tensor:
    # Exactly as the pipeline's encode_prompt: padded to 77 tokens, no attention mask.
    ids = tokenizer(
        captions,
        padding="max_length",
        max_length=tokenizer.model_max_length,
        truncation=True,
        return_tensors="pt",
    ).input_ids
    return text_encoder(ids)[0]


def noise_prediction_loss(
    predicted: torch.Tensor,
    noise: torch.Tensor,
    t: torch.Tensor,
    schedule: DDPMScheduler,
    plan: TrainingPlan,
) -> torch.Tensor:
    """MSE on the noise, each picture weighted by min(SNR, gamma) / SNR when `plan.snr_gamma`.

    Min-SNR weighting (Hang et al. 2023, diffusers' `--snr_gamma`) stops the nearly clean
    timesteps, which teach only fine detail, from dominating the gradient, so composition
    (which thing stands where, in which colour) is learnt in fewer steps.
    """
    if not plan.snr_gamma:
        return F.mse_loss(predicted, noise)
    snr = compute_snr(schedule, t)
    weights = snr.clamp(max=plan.snr_gamma) / snr
    per_picture = F.mse_loss(predicted, noise, reduction="none").mean(dim=(1, 2, 3))
    return (per_picture * weights).mean()


def train_diffusion(
    renders: Renders,
    latents: Latents,
    vae: AutoencoderKL,
    tokenizer: CLIPTokenizer,
    plan: TrainingPlan,
    work: Path,
    sample_prompts: list[str],
) -> tuple[CLIPTextModel, UNet2DConditionModel]:
    """The EMA text encoder and UNet in `work/diffusion`; trains (or resumes) them when absent."""
    final = work / STAGE
    finished = final / "steps.json"
    # A run finished at fewer steps than asked now (`--resume --steps N`) trains on from its
    # checkpoint; one finished at N or more is loaded as it is.
    if (final / "unet" / "config.json").exists() and _steps_done(finished) >= plan.diffusion_steps:
        return (
            CLIPTextModel.from_pretrained(final / "text_encoder"),
            UNet2DConditionModel.from_pretrained(final / "unet"),
        )
    torch.manual_seed(plan.seed + 1)
    text_encoder = build_text_encoder(plan.architecture, tokenizer)
    unet = build_unet(plan.architecture)
    modules = {"text_encoder": text_encoder, "unet": unet}
    params = [p for module in modules.values() for p in module.parameters()]
    optimizer = torch.optim.AdamW(params, lr=plan.diffusion_lr, weight_decay=1e-2)
    checkpoint = work / "checkpoints" / f"{STAGE}.pt"
    start, extra = load_checkpoint(checkpoint, modules, optimizer)
    emas = {name: Ema(module, plan.ema_decay) for name, module in modules.items()}
    for name, ema in emas.items():
        if f"ema_{name}" in extra:
            ema.shadow = extra[f"ema_{name}"]  # type: ignore[assignment]
    losses: list[float] = list(extra.get("losses", []))  # type: ignore[arg-type]
    noise_schedule = training_scheduler()
    timesteps = noise_schedule.config.num_train_timesteps
    bar = tqdm(
        range(start, plan.diffusion_steps),
        initial=start,
        total=plan.diffusion_steps,
        desc="diffusion",
        disable=not plan.progress,
    )
    for module in modules.values():
        module.train()
    for step in bar:
        rng, generator = step_rng(plan.seed, STAGE, step)
        rows = torch.randint(len(renders), (plan.diffusion_batch,), generator=generator)
        clean = latents.sample(rows, generator)
        noise = torch.randn(clean.shape, generator=generator)
        t = torch.randint(timesteps, (len(rows),), generator=generator)
        noisy = noise_schedule.add_noise(clean, noise, t)
        captions = batch_captions(renders, rows, rng, plan.empty_caption_share)
        for group in optimizer.param_groups:
            # Constant after warm-up (the EMA does the averaging): `--resume --steps N` with a
            # larger N extends a finished run, and a run stopped early is as good as its steps.
            group["lr"] = plan.diffusion_lr * warmup_constant(step, plan.warmup_steps)
        context = encode_captions(tokenizer, text_encoder, captions)
        loss = noise_prediction_loss(unet(noisy, t, context).sample, noise, t, noise_schedule, plan)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        for name, ema in emas.items():
            ema.update(modules[name], step)
        losses.append(loss.item())
        bar.set_postfix(mse=f"{sum(losses[-50:]) / len(losses[-50:]):.4f}")
        done = step + 1
        if done % plan.checkpoint_every == 0 or done == plan.diffusion_steps:
            ema_state = {f"ema_{name}": ema.shadow for name, ema in emas.items()}
            save_checkpoint(checkpoint, done, modules, optimizer, {"losses": losses, **ema_state})
        if plan.sample_every and (done % plan.sample_every == 0 or done == plan.diffusion_steps):
            averaged = _averaged(modules, emas)
            pipe = assemble_pipeline(vae, averaged["text_encoder"], tokenizer, averaged["unet"])
            grid = work / "samples" / f"diffusion-{done:05d}.png"
            save_sample_grid(pipe, sample_prompts, grid, plan.sample_steps, plan.guidance_scale)
            logger.info(
                "diffusion step %d: mean MSE of the last 50 %.4f; samples in %s",
                done,
                sum(losses[-50:]) / len(losses[-50:]),
                grid,
            )
    averaged = _averaged(modules, emas)
    for name, module in averaged.items():
        module.save_pretrained(final / name)
    finished.write_text(json.dumps({"steps": plan.diffusion_steps}))
    if losses:
        logger.info(
            "diffusion: MSE %.4f at the first step, %.4f over the last 50",
            losses[0],
            sum(losses[-50:]) / len(losses[-50:]),
        )
    return averaged["text_encoder"], averaged["unet"]  # type: ignore[return-value]


def _averaged(
    modules: dict[str, torch.nn.Module], emas: dict[str, Ema]
) -> dict[str, torch.nn.Module]:
    """Copies of the modules holding their EMA weights, in eval mode."""
    averaged = {}
    for name, module in modules.items():
        twin = copy.deepcopy(module)
        emas[name].copy_to(twin)
        averaged[name] = twin.eval()
    return averaged


def _steps_done(marker: Path) -> int:
    """How many steps the exported stage was trained for (0 when unknown: train on)."""
    try:
        return int(json.loads(marker.read_text())["steps"])
    except (OSError, ValueError, KeyError):
        return 0
