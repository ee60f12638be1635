"""Stage 1: an AutoencoderKL from 64x64 renders to 16x16x4 latents, scaled to unit variance."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from tqdm import tqdm

from training.picturebook.checkpoints import load_checkpoint, save_checkpoint, warmup_cosine
from training.picturebook.data import Renders, step_rng
from training.picturebook.options import IMAGE_SIZE, Architecture, TrainingPlan

logger = logging.getLogger("inkwell.training")

STAGE = "autoencoder"


def build_autoencoder(arch: Architecture) -> AutoencoderKL:
    # Three levels halve the side twice: 64 -> 16.
    levels = len(arch.vae_channels)
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * levels,
        up_block_types=["UpDecoderBlock2D"] * levels,
        block_out_channels=list(arch.vae_channels),
        layers_per_block=arch.vae_layers_per_block,
        latent_channels=arch.latent_channels,
        norm_num_groups=arch.vae_groups,
        sample_size=IMAGE_SIZE,
    )


def autoencoder_loss(
    vae: AutoencoderKL, pixels: torch.Tensor, kl_weight: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 reconstruction plus a small KL term; returns (loss, reconstruction error)."""
    posterior = vae.encode(pixels).latent_dist
    reconstruction = vae.decode(posterior.sample(generator=generator)).sample
    error = F.l1_loss(reconstruction, pixels)
    return error + kl_weight * posterior.kl().mean(), error


def train_autoencoder(renders: Renders, plan: TrainingPlan, work: Path) -> AutoencoderKL:
    """The trained autoencoder in `work/autoencoder`, training (or resuming) it when absent."""
    final = work / STAGE
    if (final / "config.json").exists():
        return AutoencoderKL.from_pretrained(final)
    torch.manual_seed(plan.seed)
    vae = build_autoencoder(plan.architecture)
    optimizer = torch.optim.AdamW(vae.parameters(), lr=plan.autoencoder_lr, weight_decay=0.0)
    checkpoint = work / "checkpoints" / f"{STAGE}.pt"
    start, extra = load_checkpoint(checkpoint, {"vae": vae}, optimizer)
    losses: list[float] = list(extra.get("losses", []))  # type: ignore[arg-type]
    bar = tqdm(
        range(start, plan.autoencoder_steps),
        initial=start,
        total=plan.autoencoder_steps,
        desc="autoencoder",
        disable=not plan.progress,
    )
    vae.train()
    for step in bar:
        _, generator = step_rng(plan.seed, STAGE, step)
        rows = torch.randint(len(renders), (plan.autoencoder_batch,), generator=generator)
        for group in optimizer.param_groups:
            group["lr"] = plan.autoencoder_lr * warmup_cosine(
                step, plan.autoencoder_steps, min(50, plan.warmup_steps)
            )
        pixels = random_crops(renders.pixels(rows), plan.autoencoder_crop, generator)
        loss, error = autoencoder_loss(vae, pixels, plan.kl_weight, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optimizer.step()
        losses.append(error.item())
        bar.set_postfix(l1=f"{losses[-1]:.4f}")
        if (step + 1) % plan.checkpoint_every == 0 or step + 1 == plan.autoencoder_steps:
            save_checkpoint(checkpoint, step + 1, {"vae": vae}, optimizer, {"losses": losses})
    vae.eval()
    vae.register_to_config(scaling_factor=latent_scale(vae, renders))
    vae.save_pretrained(final)
    if losses:
        logger.info(
            "autoencoder: L1 %.4f at the first step, %.4f at the last", losses[0], losses[-1]
        )
    return vae


def random_crops(pixels: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """One square crop per picture, on the latent grid (the autoencoder is convolutional, so it
    learns from crops what it does on whole pictures, at a fraction of the cost)."""
    if size >= pixels.shape[-1]:
        return pixels
    cells = (pixels.shape[-1] - size) // 4 + 1
    corners = torch.randint(cells, (len(pixels), 2), generator=generator) * 4
    return torch.stack(
        [
            p[:, y : y + size, x : x + size]
            for p, (y, x) in zip(pixels, corners.tolist(), strict=True)
        ]
    )


@torch.no_grad()
def latent_scale(vae: AutoencoderKL, renders: Renders, count: int = 1024) -> float:
    """1 / std of the latents of the first `count` renders (Stable Diffusion's scaling_factor)."""
    rows = torch.arange(min(count, len(renders)))
    means = torch.cat(
        [vae.encode(renders.pixels(chunk)).latent_dist.mean for chunk in rows.split(256)]
    )
    return float(1.0 / means.std())


@dataclass
class Latents:
    """Every render's posterior (mean and std, already scaled) and its decoded reconstruction."""

    mean: torch.Tensor
    std: torch.Tensor
    reconstructions: torch.Tensor  # uint8, like Renders.images, of the first renders only

    def sample(self, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = torch.randn(self.mean[rows].shape, generator=generator)
        return self.mean[rows] + self.std[rows] * noise


@torch.no_grad()
def encode_all(
    vae: AutoencoderKL, renders: Renders, work: Path, progress: bool, reconstructed: int = 4096
) -> Latents:
    """Latents of every render, and the reconstructions of the first `reconstructed` ones.

    Cached in `work/latents.pt`: the UNet never runs the encoder.
    """
    path = work / "latents.pt"
    if path.exists():
        return Latents(**torch.load(path, map_location="cpu"))
    scale = vae.config.scaling_factor
    means, stds, decoded = [], [], []
    chunks = torch.arange(len(renders)).split(256)
    for chunk in tqdm(chunks, desc="encode", disable=not progress):
        posterior = vae.encode(renders.pixels(chunk)).latent_dist
        means.append(posterior.mean * scale)
        stds.append(posterior.std * scale)
        # Decoding costs more than encoding: the scorer gets enough softened examples from a few.
        if int(chunk[0]) < reconstructed:
            pixels = vae.decode(posterior.mean).sample
            decoded.append(((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    latents = Latents(torch.cat(means), torch.cat(stds), torch.cat(decoded))
    partial = path.with_suffix(".partial")
    torch.save(latents.__dict__, partial)
    partial.replace(path)
    return latents
