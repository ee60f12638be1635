"""Training the style branch (seed 004): noise-prediction MSE, S taken from each training image."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ControlNetModel, DDPMScheduler, StableDiffusionPipeline
from PIL import Image, ImageOps

from engine.device import resolve_device
from engine.loading import load_pipeline
from engine.profiles import ModelProfile
from engine.style_branch import StyledUNet, build_style_branch
from engine.style_features import VGGStyle
from training.folders import IMAGE_SUFFIXES
from training.steps import latest_checkpoint, run_steps, write_checkpoint

logger = logging.getLogger("inkwell.models")

_STATE_FILE = "trainer.pt"


@dataclass(frozen=True)
class TrainingOptions:
    steps: int = 1000
    batch_size: int = 4
    learning_rate: float = 1e-5  # ControlNet's published rate for a branch copied from SD
    checkpoint_every: int = 250
    keep_checkpoints: int = 2
    seed: int = 0
    progress: bool = True


@dataclass(frozen=True)
class TrainingExample:
    image: Path
    caption: str  # from the image's .txt sibling; "" without one


def training_examples(folder: Path) -> list[TrainingExample]:
    """Every image in `folder` (not its subfolders), with its caption, in name order."""
    examples = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        caption_file = path.with_suffix(".txt")
        caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.exists() else ""
        examples.append(TrainingExample(path, caption))
    if not examples:
        raise ValueError(f"no training images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return examples


class StyleTrainer:
    """Trains only the branch: VAE, text encoder and UNet are frozen, as in ControlNet."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        branch: ControlNetModel,
        extractor: VGGStyle,
        examples: list[TrainingExample],
        options: TrainingOptions,
        size: tuple[int, int],
    ) -> None:
        self.pipe = pipe
        self.branch = branch.train().requires_grad_(True)
        for frozen in (pipe.unet, pipe.vae, pipe.text_encoder):
            frozen.eval().requires_grad_(False)
        self.styled = StyledUNet(pipe.unet, self.branch)
        self.extractor = extractor
        self.examples = examples
        self.options = options
        self.size = size  # (width, height) training images are cropped to
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.optimizer = torch.optim.AdamW(self.branch.parameters(), lr=options.learning_rate)
        self.generator = torch.Generator().manual_seed(options.seed)
        self.step = 0

    @classmethod
    def for_profile(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        examples: list[TrainingExample],
        options: TrainingOptions,
        device: str = "auto",
    ) -> StyleTrainer:
        """The profile's models in fp32 and a fresh zero-initialised branch copied from its UNet."""
        torch_device = resolve_device(device)
        pipe, _ = load_pipeline(profile, models_dir, torch_device, torch.float32)
        branch = build_style_branch(pipe.unet).to(torch_device)
        extractor = VGGStyle(profile.vgg_weights, profile.style_image_size, torch_device)
        return cls(pipe, branch, extractor, examples, options, (profile.width, profile.height))

    @property
    def device(self) -> torch.device:
        return self.pipe.unet.device

    def inputs(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """VAE latents (mean), text embeddings and style maps of the chosen examples."""
        images = []
        for index in indices:
            with Image.open(self.examples[index].image) as image:
                images.append(ImageOps.fit(image.convert("RGB"), self.size, Image.BICUBIC))
        pixels = torch.from_numpy(np.stack([np.asarray(image) for image in images]))
        pixels = pixels.permute(0, 3, 1, 2).to(self.device, torch.float32) / 127.5 - 1
        captions = [self.examples[index].caption for index in indices]
        with torch.no_grad():
            latents = self.pipe.vae.encode(pixels).latent_dist.mean
            latents = latents * self.pipe.vae.config.scaling_factor
            embeddings = self.pipe.encode_prompt(captions, self.device, 1, False)[0]
        # The seed's point: S comes from the training image itself, no paired style data.
        maps = self.extractor.style_maps(images)
        return latents, embeddings, maps

    def loss(
        self,
        latents: torch.Tensor,
        embeddings: torch.Tensor,
        maps: torch.Tensor,
        noise: torch.Tensor,
        timesteps: torch.Tensor,
    ) -> torch.Tensor:
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        if self.noise_scheduler.config.prediction_type == "v_prediction":
            target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        strengths = torch.ones(latents.shape[0], device=self.device)
        with self.styled.styles(maps, strengths):
            prediction = self.styled(noisy, timesteps, embeddings, return_dict=False)[0]
        return F.mse_loss(prediction.float(), target.float())

    def _draw(self, latents: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        noise = torch.randn(latents.shape, generator=generator).to(self.device)
        steps = self.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (latents.shape[0],), generator=generator)
        return noise, timesteps.to(self.device)

    def train_step(self) -> float:
        count = len(self.examples)
        indices = torch.randint(0, count, (self.options.batch_size,), generator=self.generator)
        latents, embeddings, maps = self.inputs(indices.tolist())
        noise, timesteps = self._draw(latents, self.generator)
        loss = self.loss(latents, embeddings, maps, noise, timesteps)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def evaluate(self, seed: int = 1234) -> float:
        """The loss on the first batch with fixed noise and timesteps: comparable across steps."""
        indices = list(range(min(self.options.batch_size, len(self.examples))))
        latents, embeddings, maps = self.inputs(indices)
        noise, timesteps = self._draw(latents, torch.Generator().manual_seed(seed))
        with torch.no_grad():
            return float(self.loss(latents, embeddings, maps, noise, timesteps))

    def run(self, out_dir: Path) -> list[float]:
        """Train from `self.step` to `options.steps`, checkpointing; returns the step losses."""
        return run_steps(self, out_dir, "style branch")

    # --- checkpoints --------------------------------------------------------------------

    def save_checkpoint(self, out_dir: Path) -> Path:
        """Branch weights plus optimizer and sampling state, so a resume continues exactly."""
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }

        def write(directory: Path) -> None:
            self.branch.save_pretrained(directory)
            torch.save(state, directory / _STATE_FILE)

        target = write_checkpoint(out_dir, self.step, write, self.options.keep_checkpoints)
        logger.info("style branch checkpoint at step %d: %s", self.step, target)
        return target

    def resume(self, out_dir: Path) -> bool:
        """Continue from the latest checkpoint under `out_dir`; False if there is none."""
        latest = latest_checkpoint(out_dir, _STATE_FILE)
        if latest is None:
            return False
        loaded = ControlNetModel.from_pretrained(latest, local_files_only=True)
        self.branch.load_state_dict(loaded.state_dict())
        state = torch.load(latest / _STATE_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.step = int(state["step"])
        logger.info("resuming style branch training at step %d from %s", self.step, latest)
        return True

    def save_final(self, out_dir: Path) -> None:
        """The trained branch where the runner looks for it (files replaced, config last)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".branch-", dir=out_dir))
        try:
            self.branch.save_pretrained(staging)
            # config.json last: the runner treats a directory with it as a complete branch.
            names = sorted(p.name for p in staging.iterdir() if p.name != "config.json")
            for name in [*names, "config.json"]:
                os.replace(staging / name, out_dir / name)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        logger.info("trained style branch saved to %s (step %d)", out_dir, self.step)
