"""Seed 003's image attribute editing model ([0123]-[0131]): an InstructPix2Pix UNet trained
from kept edit pairs, as diffusers' `examples/instruct_pix2pix/train_instruct_pix2pix.py` does.

The UNet starts as the profile's own with a conv_in of twice the latent channels (the noisy
latents, then the input picture's latents), the new input channels zero-initialised so the
untrained model is the base model; the input picture's latent is the VAE's mode (unscaled, as
the pipeline encodes it); the prompt and the picture are each dropped 5% of the time (both
5%) for classifier-free guidance; the loss is the noise-prediction MSE. Only the UNet trains:
the VAE and text encoder stay the profile's, which the engine shares with the edit pipeline.
Checkpoints hold the UNet, optimizer and sampling state, so a resumed run takes the same steps
an uninterrupted one would.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from PIL import Image, ImageOps
from safetensors.torch import load_file, save_file

from core.engine import EDIT_MODEL, AdapterInfo, GenerationCancelled
from engine.device import resolve_device
from engine.loading import load_pipeline
from engine.lora import EDIT_MODEL_UNET, METADATA_FILE
from engine.profiles import ModelProfile
from training.lora import TrainedAdapter, finished_at
from training.steps import latest_checkpoint, run_steps, write_checkpoint

logger = logging.getLogger("inkwell.training")

_STATE_FILE = "trainer.pt"
_UNET_CHECKPOINT = "unet.safetensors"


@dataclass(frozen=True)
class EditPair:
    """One kept edit: the picture before, after, and the writer's words."""

    original: bytes
    edited: bytes
    instruction: str


@dataclass(frozen=True)
class EditModelOptions:
    steps: int = 400
    batch_size: int = 4
    # diffusers' script uses 5e-5 at batch 4 x 4 on SD 1.5; small models take more.
    learning_rate: float = 1e-4
    conditioning_dropout: float = 0.05  # each of prompt, picture (and both) dropped this often
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    seed: int = 0
    progress: bool = True


def instruct_unet(unet: UNet2DConditionModel) -> UNet2DConditionModel:
    """`unet` with a conv_in taking twice its latent channels (noisy latents, then the input
    picture's latents); the new channels' weights are zero, so it first acts as `unet` does."""
    channels = unet.config.in_channels
    old = unet.conv_in
    new = torch.nn.Conv2d(
        2 * channels, old.out_channels, old.kernel_size, old.stride, old.padding
    ).to(old.weight.device, old.weight.dtype)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, :channels].copy_(old.weight)
        new.bias.copy_(old.bias)
    unet.conv_in = new
    unet.register_to_config(in_channels=2 * channels)
    return unet


class EditModelTrainer:
    """Fine-tunes an InstructPix2Pix UNet on edit pairs; VAE and text encoder stay frozen."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        pairs: list[EditPair],
        options: EditModelOptions,
        size: tuple[int, int],
    ) -> None:
        if not pairs:
            raise ValueError("no edit pairs to train on")
        self.pipe = pipe
        self.pairs = pairs
        self.options = options
        self.size = size  # (width, height) the pictures are fitted to
        for frozen in (pipe.vae, pipe.text_encoder):
            frozen.eval().requires_grad_(False)
        self.unet = instruct_unet(pipe.unet)
        self.unet.train().requires_grad_(True)
        self.optimizer = torch.optim.AdamW(self.unet.parameters(), lr=options.learning_rate)
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.generator = torch.Generator().manual_seed(options.seed)
        self.step = 0
        with torch.no_grad():
            self.edited = self._encode([p.edited for p in pairs], mode=False)
            self.originals = self._encode([p.original for p in pairs], mode=True)
            self.instructions = sorted({p.instruction for p in pairs})
            self.embeddings = self._embed(self.instructions)
            self.null_embedding = self._embed([""])[0]
        index = {text: i for i, text in enumerate(self.instructions)}
        self.instruction_of = torch.tensor([index[p.instruction] for p in pairs])

    @classmethod
    def for_profile(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        pairs: list[EditPair],
        options: EditModelOptions,
        device: str = "auto",
    ) -> EditModelTrainer:
        """The profile's pipeline in fp32 (trained weights stay fp32), its UNet widened."""
        pipe, _ = load_pipeline(profile, models_dir, resolve_device(device), torch.float32)
        return cls(pipe, pairs, options, (profile.width, profile.height))

    @property
    def device(self) -> torch.device:
        return self.unet.device

    def _encode(self, pictures: list[bytes], mode: bool) -> torch.Tensor:
        """The VAE latents of the pictures: the edited ones scaled as the UNet denoises them,
        the input ones unscaled, as StableDiffusionInstructPix2PixPipeline encodes its image.
        Both the mode (the mean) of the distribution: the VAE is frozen, so encoded once."""
        latents = []
        for start in range(0, len(pictures), 16):
            images = []
            for data in pictures[start : start + 16]:
                with Image.open(io.BytesIO(data)) as image:
                    images.append(ImageOps.fit(image.convert("RGB"), self.size, Image.BICUBIC))
            pixels = torch.from_numpy(np.stack([np.asarray(image) for image in images]))
            pixels = pixels.permute(0, 3, 1, 2).to(self.device, torch.float32) / 127.5 - 1
            encoded = self.pipe.vae.encode(pixels).latent_dist.mode()
            latents.append(encoded if mode else encoded * self.pipe.vae.config.scaling_factor)
        return torch.cat(latents)

    def _embed(self, texts: list[str]) -> torch.Tensor:
        tokens = self.pipe.tokenizer(
            texts,
            padding="max_length",
            max_length=self.pipe.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)
        return self.pipe.text_encoder(tokens)[0]

    def _draw(
        self, count: int, generator: torch.Generator
    ) -> tuple[list[int], torch.Tensor, torch.Tensor, torch.Tensor]:
        indices = torch.randint(0, len(self.pairs), (count,), generator=generator).tolist()
        noise = torch.randn((count, *self.edited.shape[1:]), generator=generator)
        steps = self.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (count,), generator=generator)
        dropout = torch.rand(count, generator=generator)
        return indices, noise.to(self.device), timesteps.to(self.device), dropout

    def loss(
        self,
        indices: list[int],
        noise: torch.Tensor,
        timesteps: torch.Tensor,
        dropout: torch.Tensor | None,
    ) -> torch.Tensor:
        """Noise-prediction MSE on the edited pictures, conditioned on the input pictures and
        the instructions; `dropout` (uniform per row; None: none) drops them as diffusers does:
        below 2p the prompt, between p and 3p the picture."""
        latents = self.edited[indices]
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        texts = self.embeddings[self.instruction_of[indices]]
        originals = self.originals[indices]
        if dropout is not None:
            p = self.options.conditioning_dropout
            no_prompt = (dropout < 2 * p).to(self.device)[:, None, None]
            texts = torch.where(no_prompt, self.null_embedding[None], texts)
            keep = 1.0 - ((dropout >= p) & (dropout < 3 * p)).float()
            originals = originals * keep.to(self.device)[:, None, None, None]
        if self.noise_scheduler.config.prediction_type == "v_prediction":
            target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        model_input = torch.cat([noisy, originals], dim=1)
        prediction = self.unet(model_input, timesteps, texts, return_dict=False)[0]
        return F.mse_loss(prediction.float(), target.float())

    def train_step(self) -> float:
        self.unet.train()
        loss = self.loss(*self._draw(self.options.batch_size, self.generator))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def evaluate(self, seed: int = 1234, batches: int = 4) -> float:
        """Mean loss over fixed pairs, noise and timesteps, nothing dropped: comparable
        across steps."""
        self.unet.eval()
        generator = torch.Generator().manual_seed(seed)
        total = 0.0
        with torch.no_grad():
            for _ in range(batches):
                indices, noise, timesteps, _ = self._draw(self.options.batch_size, generator)
                total += float(self.loss(indices, noise, timesteps, None))
        return total / batches

    def run(
        self,
        out_dir: Path,
        on_step: Callable[[int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[float]:
        """Train from `self.step` to `options.steps`, checkpointing; returns the step losses."""
        return run_steps(self, out_dir, "edit model", on_step, should_stop)

    def save_checkpoint(self, out_dir: Path) -> Path:
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }
        weights = {k: v.detach().contiguous() for k, v in self.unet.state_dict().items()}

        def write(directory: Path) -> None:
            save_file(weights, str(directory / _UNET_CHECKPOINT))
            torch.save(state, directory / _STATE_FILE)

        target = write_checkpoint(out_dir, self.step, write, self.options.keep_checkpoints)
        logger.info("edit model checkpoint at step %d: %s", self.step, target)
        return target

    def resume(self, out_dir: Path) -> bool:
        """Continue from the latest checkpoint under `out_dir`; False if there is none."""
        latest = latest_checkpoint(out_dir, _STATE_FILE)
        if latest is None:
            return False
        self.unet.load_state_dict(load_file(latest / _UNET_CHECKPOINT, str(self.device)))
        state = torch.load(latest / _STATE_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.step = int(state["step"])
        logger.info("resuming edit model training at step %d from %s", self.step, latest)
        return True

    def save_model(self, out_dir: Path, info: AdapterInfo) -> None:
        """The UNet in diffusers' layout, then the description (written last: the engine
        lists the folder once the description is there)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / METADATA_FILE).unlink(missing_ok=True)
        self.unet.save_pretrained(out_dir / EDIT_MODEL_UNET, safe_serialization=True)
        (out_dir / METADATA_FILE).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
        logger.info("edit model %r saved to %s (step %d)", info.name, out_dir, self.step)


def train_edit_model(
    profile: ModelProfile,
    models_dir: Path,
    pairs: list[EditPair],
    out_dir: Path,
    *,
    name: str,
    options: EditModelOptions,
    device: str = "auto",
    fresh: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainedAdapter:
    """Train (or resume) an edit model on `pairs` and save it in `out_dir` for the engine;
    stopped by `should_stop`, it keeps its checkpoint and raises GenerationCancelled."""
    started = time.perf_counter()
    trainer = EditModelTrainer.for_profile(profile, models_dir, pairs, options, device)
    work = Path(out_dir) / ".training"
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    elif trainer.resume(work):
        logger.info("resumed edit model %r at step %d", name, trainer.step)
    first = trainer.evaluate()
    trainer.run(work, on_step, should_stop)
    if trainer.step < options.steps:
        raise GenerationCancelled()  # stopped: the checkpoint is saved, a rerun resumes
    if trainer.step % options.checkpoint_every:
        trainer.save_checkpoint(work)
    final = trainer.evaluate()
    seconds = time.perf_counter() - started
    info = AdapterInfo(
        name=name,
        kind=EDIT_MODEL,
        profile=profile.name,
        phrase="",
        pictures=len(pairs),
        steps=trainer.step,
        learning_rate=options.learning_rate,
        loss_before=round(first, 6),
        loss_after=round(final, 6),
        train_seconds=round(seconds, 1),
        trained_at=finished_at(),
    )
    trainer.save_model(out_dir, info)
    return TrainedAdapter(info, Path(out_dir), first, final, seconds)
