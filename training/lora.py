"""LoRA adapters for a profile's UNet (and optionally text encoder), trained as diffusers does.

Follows diffusers' `examples/text_to_image/train_text_to_image_lora.py` and
`examples/dreambooth/train_dreambooth_lora.py`: the base model is frozen, peft's `LoraConfig`
(rank r, alpha r, gaussian init, attention projections) is added with `add_adapter`, only the
adapter weights train, on the noise-prediction MSE; the result is saved with
`StableDiffusionPipeline.save_lora_weights`, so `pipe.load_lora_weights(dir, adapter_name=...)`
loads it. Checkpoints hold adapter, optimizer and sampling state, so a resumed run takes the
same steps an uninterrupted one would.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, StableDiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from PIL import Image, ImageOps
from safetensors.torch import load_file, save_file

from core.engine import GenerationCancelled
from engine.device import resolve_device
from engine.loading import load_pipeline
from engine.lora import ADAPTER_FILE, METADATA_FILE, AdapterInfo, with_phrase
from engine.profiles import ModelProfile
from training.steps import latest_checkpoint, run_steps, write_checkpoint
from training.style_branch import TrainingExample, training_examples

logger = logging.getLogger("inkwell.training")

# diffusers' LoRA scripts adapt the attention projections of the UNet and of CLIP's text model.
UNET_TARGETS = ("to_k", "to_q", "to_v", "to_out.0")
# Beyond the scripts' default: the ResNet convolutions too, for genres that change colour and
# texture everywhere (LoRA on Conv2d layers; diffusers loads those keys as well).
UNET_CONV_TARGETS = ("conv1", "conv2", "conv_shortcut", "proj_in", "proj_out")
TEXT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")
_STATE_FILE = "trainer.pt"
_UNET_CHECKPOINT = "unet_lora.safetensors"
_TEXT_CHECKPOINT = "text_encoder_lora.safetensors"


@dataclass(frozen=True)
class LoraOptions:
    steps: int = 400
    batch_size: int = 4
    # diffusers' text-to-image LoRA default is 1e-4; the seed's DreamBooth run uses 5e-4.
    learning_rate: float = 5e-4
    rank: int = 4
    train_text_encoder: bool = False
    convolutions: bool = False  # adapt the UNet's ResNet convolutions as well
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    seed: int = 0
    progress: bool = True


def captioned(folder: Path, phrase: str) -> list[TrainingExample]:
    """The folder's pictures with their .txt captions; `phrase` for those without one (and,
    when given, in front of every caption, as DreamBooth's instance prompt)."""
    return [
        TrainingExample(e.image, with_phrase(phrase, e.caption)) for e in training_examples(folder)
    ]


class LoraTrainer:
    """Trains LoRA weights on a frozen pipeline; only peft's lora_A/lora_B parameters move."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        examples: list[TrainingExample],
        options: LoraOptions,
        size: tuple[int, int],
    ) -> None:
        if not examples:
            raise ValueError("no training pictures")
        self.pipe = pipe
        self.examples = examples
        self.options = options
        self.size = size  # (width, height) the pictures are fitted to
        for frozen in (pipe.unet, pipe.vae, pipe.text_encoder):
            frozen.eval().requires_grad_(False)
        # peft draws lora_A from torch's global generator: seeded, so a run starts the same.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            targets = UNET_TARGETS + (UNET_CONV_TARGETS if options.convolutions else ())
            pipe.unet.add_adapter(_config(options.rank, targets))
            if options.train_text_encoder:
                pipe.text_encoder.add_adapter(_config(options.rank, TEXT_TARGETS))
        self.modules = [pipe.unet] + ([pipe.text_encoder] if options.train_text_encoder else [])
        # peft creates the adapter weights trainable and leaves the frozen base as it was.
        self.parameters = [p for m in self.modules for p in m.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.parameters, lr=options.learning_rate)
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.generator = torch.Generator().manual_seed(options.seed)
        self.step = 0
        self.latents = self._encode_pictures()
        self._embedding_cache: torch.Tensor | None = None

    @classmethod
    def for_profile(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        examples: list[TrainingExample],
        options: LoraOptions,
        device: str = "auto",
    ) -> LoraTrainer:
        """The profile's pipeline in fp32 (trained weights stay fp32) with new adapters."""
        pipe, _ = load_pipeline(profile, models_dir, resolve_device(device), torch.float32)
        return cls(pipe, examples, options, (profile.width, profile.height))

    @property
    def device(self) -> torch.device:
        return self.pipe.unet.device

    def _encode_pictures(self) -> torch.Tensor:
        """Every picture's VAE latent (the distribution's mean: the VAE is frozen, so once)."""
        latents = []
        for start in range(0, len(self.examples), 16):
            images = []
            for example in self.examples[start : start + 16]:
                with Image.open(example.image) as image:
                    images.append(ImageOps.fit(image.convert("RGB"), self.size, Image.BICUBIC))
            pixels = torch.from_numpy(np.stack([np.asarray(image) for image in images]))
            pixels = pixels.permute(0, 3, 1, 2).to(self.device, torch.float32) / 127.5 - 1
            with torch.no_grad():
                encoded = self.pipe.vae.encode(pixels).latent_dist.mean
            latents.append(encoded * self.pipe.vae.config.scaling_factor)
        return torch.cat(latents)

    def _embeddings(self, indices: list[int]) -> torch.Tensor:
        captions = [self.examples[i].caption for i in indices]
        tokens = self.pipe.tokenizer(
            captions,
            padding="max_length",
            max_length=self.pipe.tokenizer.model_max_length,
            truncation=True,
            return_tensors="pt",
        ).input_ids.to(self.device)
        if self.options.train_text_encoder:
            return self.pipe.text_encoder(tokens)[0]
        with torch.no_grad():
            return self.pipe.text_encoder(tokens)[0]

    def loss(
        self, indices: list[int], noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor:
        latents = self.latents[indices]
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        if self.noise_scheduler.config.prediction_type == "v_prediction":
            target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        else:
            target = noise
        embeddings = self._embeddings(indices)
        prediction = self.pipe.unet(noisy, timesteps, embeddings, return_dict=False)[0]
        return F.mse_loss(prediction.float(), target.float())

    def _draw(
        self, count: int, generator: torch.Generator
    ) -> tuple[list[int], torch.Tensor, torch.Tensor]:
        indices = torch.randint(0, len(self.examples), (count,), generator=generator).tolist()
        shape = (count, *self.latents.shape[1:])
        noise = torch.randn(shape, generator=generator).to(self.device)
        steps = self.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (count,), generator=generator).to(self.device)
        return indices, noise, timesteps

    def train_step(self) -> float:
        for module in self.modules:
            module.train()
        indices, noise, timesteps = self._draw(self.options.batch_size, self.generator)
        loss = self.loss(indices, noise, timesteps)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def evaluate(self, seed: int = 1234, batches: int = 4) -> float:
        """Mean loss over fixed pictures, noise and timesteps: comparable across steps."""
        for module in self.modules:
            module.eval()
        generator = torch.Generator().manual_seed(seed)
        total = 0.0
        with torch.no_grad():
            for _ in range(batches):
                total += float(self.loss(*self._draw(self.options.batch_size, generator)))
        return total / batches

    def run(
        self,
        out_dir: Path,
        on_step: Callable[[int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> list[float]:
        """Train from `self.step` to `options.steps`, checkpointing; returns the step losses."""
        return run_steps(self, out_dir, "lora", on_step, should_stop)

    # --- weights ------------------------------------------------------------------------

    def adapter_state(self) -> dict[str, dict[str, torch.Tensor]]:
        """peft's names of the adapter weights, per trained module."""
        state = {"unet": get_peft_model_state_dict(self.pipe.unet)}
        if self.options.train_text_encoder:
            state["text_encoder"] = get_peft_model_state_dict(self.pipe.text_encoder)
        return state

    def save_checkpoint(self, out_dir: Path) -> Path:
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }
        adapters = self.adapter_state()

        def write(directory: Path) -> None:
            save_file(_plain(adapters["unet"]), str(directory / _UNET_CHECKPOINT))
            if "text_encoder" in adapters:
                save_file(_plain(adapters["text_encoder"]), str(directory / _TEXT_CHECKPOINT))
            torch.save(state, directory / _STATE_FILE)

        target = write_checkpoint(out_dir, self.step, write, self.options.keep_checkpoints)
        logger.info("LoRA checkpoint at step %d: %s", self.step, target)
        return target

    def resume(self, out_dir: Path) -> bool:
        """Continue from the latest checkpoint under `out_dir`; False if there is none."""
        latest = latest_checkpoint(out_dir, _STATE_FILE)
        if latest is None:
            return False
        device = str(self.device)
        set_peft_model_state_dict(self.pipe.unet, load_file(latest / _UNET_CHECKPOINT, device))
        if self.options.train_text_encoder:
            text = load_file(latest / _TEXT_CHECKPOINT, device)
            set_peft_model_state_dict(self.pipe.text_encoder, text)
        state = torch.load(latest / _STATE_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.step = int(state["step"])
        logger.info("resuming LoRA training at step %d from %s", self.step, latest)
        return True

    def save_adapter(self, out_dir: Path, info: AdapterInfo) -> None:
        """The adapter in diffusers' LoRA layout, then its description (written last: the
        engine lists a folder as an adapter once the description is there)."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / METADATA_FILE).unlink(missing_ok=True)
        adapters = self.adapter_state()
        text = adapters.get("text_encoder")
        StableDiffusionPipeline.save_lora_weights(
            save_directory=str(out_dir),
            # peft's key names, which diffusers loads as they are: its old-format conversion
            # renames attention layers only, and a file mixing both loses them on load.
            unet_lora_layers=_plain(adapters["unet"]),
            text_encoder_lora_layers=_plain(text) if text else None,
            weight_name=ADAPTER_FILE,
            safe_serialization=True,
        )
        (out_dir / METADATA_FILE).write_text(json.dumps(asdict(info), indent=2), encoding="utf-8")
        logger.info("LoRA adapter %r saved to %s (step %d)", info.name, out_dir, self.step)


def _config(rank: int, targets: tuple[str, ...]) -> LoraConfig:
    return LoraConfig(
        r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=list(targets)
    )


def _plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {key: value.detach().contiguous() for key, value in state.items()}


@dataclass(frozen=True)
class TrainedAdapter:
    info: AdapterInfo
    directory: Path
    first_loss: float
    final_loss: float
    seconds: float


def train_adapter(
    profile: ModelProfile,
    models_dir: Path,
    examples: list[TrainingExample],
    out_dir: Path,
    *,
    name: str,
    kind: str,
    phrase: str,
    options: LoraOptions,
    device: str = "auto",
    fresh: bool = False,
    on_step: Callable[[int, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainedAdapter:
    """Train (or resume) an adapter on `examples` and save it in `out_dir` for the engine;
    stopped by `should_stop`, it keeps its checkpoint and raises GenerationCancelled."""
    started = time.perf_counter()
    trainer = LoraTrainer.for_profile(profile, models_dir, examples, options, device)
    work = Path(out_dir) / ".training"
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    elif trainer.resume(work):
        logger.info("resumed %s %r at step %d", kind, name, trainer.step)
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
        kind=kind,
        profile=profile.name,
        phrase=phrase,
        pictures=len(examples),
        steps=trainer.step,
        rank=options.rank,
        learning_rate=options.learning_rate,
        text_encoder=options.train_text_encoder,
        loss_before=round(first, 6),
        loss_after=round(final, 6),
        train_seconds=round(seconds, 1),
        trained_at=finished_at(),
    )
    trainer.save_adapter(out_dir, info)
    return TrainedAdapter(info, Path(out_dir), first, final, seconds)


def finished_at() -> str:
    """Now, as an adapter's description records when its training finished."""
    return datetime.now(UTC).isoformat(timespec="seconds")
