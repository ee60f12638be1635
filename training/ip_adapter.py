"""A look adapter (an IP-Adapter) trained for a profile with its UNet frozen, on picture-book
renders whose reference is the crop of one of the scene's own figures.

The recipe follows IP-Adapter (Ye et al. 2023) at picture-book size: an `ImageProjection` turns
the profile CLIP's L2-normalised image feature of the crop into 4 extra cross-attention tokens,
read by decoupled cross-attention (diffusers' `IPAdapterAttnProcessor2_0`: new to_k_ip / to_v_ip
per cross-attention layer, initialised from the layer's own to_k / to_v); only those and the
projection train, on the noise-prediction MSE, with the crop dropped (zero feature) or the
caption dropped 5% of the time each, so classifier-free guidance has both halves. Everything
frozen is computed once: latents, caption embeddings, crop features. The result is saved in
h94/IP-Adapter's layout (`image_proj.*`, `ip_adapter.N.to_k_ip.weight`), which diffusers'
`load_ip_adapter` reads, beside `inkwell-look-adapter.json` (written last). Checkpoints hold
adapter, optimizer and sampling state, so a resumed run takes the same steps.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor2_0, IPAdapterAttnProcessor2_0
from diffusers.models.embeddings import ImageProjection, MultiIPAdapterImageProjection
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn

from engine.device import resolve_device
from engine.loading import load_clip, load_pipeline
from engine.looks import TRAINED_MARKER, TRAINED_WEIGHTS
from engine.profiles import ModelProfile
from picturebook.captions import caption
from picturebook.render import GROUND, SCALE, SLOT_X, UNITS, render
from picturebook.world import Scene, sample_scene
from training.steps import latest_checkpoint, run_steps, write_checkpoint, write_dir

logger = logging.getLogger("inkwell.training")

TOKENS = 4  # image tokens per reference, as h94's ip-adapter_sd15
_STATE_FILE = "trainer.pt"
_ADAPTER_CHECKPOINT = "adapter.safetensors"


@dataclass(frozen=True)
class LookAdapterOptions:
    # The measured run on picturebook-v1 (README): 1,500 steps, ~13 min on one busy CPU thread.
    steps: int = 1500
    batch_size: int = 16
    learning_rate: float = 5e-4
    scenes: int = 2000  # rendered training scenes (those without a figure are skipped)
    drop: float = 0.05  # share of samples without the crop, and (apart) without the caption
    checkpoint_every: int = 100
    keep_checkpoints: int = 2
    seed: int = 0
    progress: bool = True


@dataclass(frozen=True)
class LookExample:
    """A render, its caption, and the crop of one of its figures (the element's look)."""

    picture: Image.Image
    caption: str
    crop: Image.Image


def figure_box(position: str, size: str) -> tuple[float, float, float, float]:
    """Where the renderer stands a figure, as shares of the picture: a square around it."""
    side = min(1.0, 0.42 * SCALE[size])
    bottom = min(1.0, GROUND / UNITS + 0.05)
    centre = SLOT_X[position] / UNITS
    x0 = min(max(0.0, centre - side / 2), 1.0 - side)
    return (x0, bottom - side, x0 + side, bottom)


def crop_of(picture: Image.Image, box: tuple[float, float, float, float]) -> Image.Image:
    """The box cut from the picture, square in pixels when the box is square."""
    width, height = picture.size
    x0, y0, x1, y1 = box
    left, top = round(x0 * width), round(y0 * height)
    return picture.crop(
        (left, top, left + round((x1 - x0) * width), top + round((y1 - y0) * height))
    )


def picturebook_examples(count: int, seed: int, size: int = 64) -> list[LookExample]:
    """`count` seeded scenes drawn at `size`, each with the crop of one of its figures."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        scene: Scene = sample_scene(rng)
        text = caption(scene, rng)
        if not scene.things:
            continue
        thing = scene.things[rng.randrange(len(scene.things))]
        picture = render(scene, size)
        examples.append(
            LookExample(picture, text, crop_of(picture, figure_box(thing.position, thing.size)))
        )
    return examples


def install_adapter(unet: UNet2DConditionModel, image_dim: int) -> nn.ModuleList:
    """Decoupled cross-attention on every cross-attention layer and an image projection on
    `unet`; returns the trainable modules (projection first, then the layers in order)."""
    processors: dict[str, nn.Module] = {}
    layers = []
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            processors[name] = AttnProcessor2_0()
            continue
        attention = unet.get_submodule(name.removesuffix(".processor"))
        hidden, cross = attention.to_k.out_features, attention.to_k.in_features
        layer = IPAdapterAttnProcessor2_0(hidden, cross, num_tokens=(TOKENS,), scale=1.0)
        with torch.no_grad():  # IP-Adapter starts from the text's own key and value
            layer.to_k_ip[0].weight.copy_(attention.to_k.weight)
            layer.to_v_ip[0].weight.copy_(attention.to_v.weight)
        processors[name] = layer
        layers.append(layer)
    cross = unet.config.cross_attention_dim
    projection = ImageProjection(image_dim, cross, num_image_text_embeds=TOKENS)
    unet.set_attn_processor(processors)
    unet.encoder_hid_proj = MultiIPAdapterImageProjection([projection])
    unet.config.encoder_hid_dim_type = "ip_image_proj"
    modules = nn.ModuleList([projection, *layers])
    return modules.to(unet.device, unet.dtype)


def hub_state(modules: nn.ModuleList) -> dict[str, torch.Tensor]:
    """The adapter in h94/IP-Adapter's key layout (cross-attention layers numbered 1, 3, 5...)."""
    projection, *layers = modules
    state = {
        "image_proj.proj.weight": projection.image_embeds.weight,
        "image_proj.proj.bias": projection.image_embeds.bias,
        "image_proj.norm.weight": projection.norm.weight,
        "image_proj.norm.bias": projection.norm.bias,
    }
    for number, layer in enumerate(layers):
        state[f"ip_adapter.{2 * number + 1}.to_k_ip.weight"] = layer.to_k_ip[0].weight
        state[f"ip_adapter.{2 * number + 1}.to_v_ip.weight"] = layer.to_v_ip[0].weight
    return {key: value.detach().to("cpu", torch.float32, copy=True) for key, value in state.items()}


def load_hub_state(modules: nn.ModuleList, state: dict[str, torch.Tensor]) -> None:
    projection, *layers = modules
    with torch.no_grad():
        projection.image_embeds.weight.copy_(state["image_proj.proj.weight"])
        projection.image_embeds.bias.copy_(state["image_proj.proj.bias"])
        projection.norm.weight.copy_(state["image_proj.norm.weight"])
        projection.norm.bias.copy_(state["image_proj.norm.bias"])
        for number, layer in enumerate(layers):
            layer.to_k_ip[0].weight.copy_(state[f"ip_adapter.{2 * number + 1}.to_k_ip.weight"])
            layer.to_v_ip[0].weight.copy_(state[f"ip_adapter.{2 * number + 1}.to_v_ip.weight"])


# Encodes crops to the profile CLIP's L2-normalised image features, (N, D).
ClipEncode = Callable[[list[Image.Image]], torch.Tensor]


class LookAdapterTrainer:
    """Trains a look adapter on a frozen pipeline; only the adapter's weights move."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        clip_encode: ClipEncode,
        examples: list[LookExample],
        options: LookAdapterOptions,
    ) -> None:
        if not examples:
            raise ValueError("no training examples")
        self.pipe = pipe
        self.options = options
        for frozen in (pipe.unet, pipe.vae, pipe.text_encoder):
            frozen.eval().requires_grad_(False)
        device = pipe.unet.device
        with torch.no_grad():
            self.looks = (
                torch.cat(
                    [
                        clip_encode([e.crop for e in examples[s : s + 64]])
                        for s in range(0, len(examples), 64)
                    ]
                )
                .float()
                .to(device)
            )
            self.latents = self._latents([e.picture for e in examples])
            self.texts = self._texts([e.caption for e in examples])
            self.empty = self._texts([""])[0]
        self.examples = examples
        with torch.random.fork_rng(devices=[]):  # the projection's init: seeded, so a run
            torch.manual_seed(options.seed)  # starts the same every time
            self.modules = install_adapter(pipe.unet, self.looks.shape[1])
        self.modules.requires_grad_(True)
        self.optimizer = torch.optim.AdamW(self.modules.parameters(), lr=options.learning_rate)
        self.noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
        self.generator = torch.Generator().manual_seed(options.seed)
        self.step = 0

    @property
    def device(self) -> torch.device:
        return self.pipe.unet.device

    def _latents(self, pictures: list[Image.Image]) -> torch.Tensor:
        out = []
        for start in range(0, len(pictures), 32):
            chunk = pictures[start : start + 32]
            pixels = torch.from_numpy(np.stack([np.asarray(p.convert("RGB")) for p in chunk]))
            pixels = pixels.permute(0, 3, 1, 2).to(self.device, torch.float32) / 127.5 - 1
            encoded = self.pipe.vae.encode(pixels).latent_dist.mean
            out.append(encoded * self.pipe.vae.config.scaling_factor)
        return torch.cat(out)

    def _texts(self, captions: list[str]) -> torch.Tensor:
        out = []
        tokenizer = self.pipe.tokenizer
        for start in range(0, len(captions), 64):
            tokens = tokenizer(
                captions[start : start + 64],
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids.to(self.device)
            out.append(self.pipe.text_encoder(tokens)[0])
        return torch.cat(out)

    def _draw(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        indices = torch.randint(0, len(self.examples), (count,), generator=generator)
        noise = torch.randn((count, *self.latents.shape[1:]), generator=generator)
        steps = self.noise_scheduler.config.num_train_timesteps
        timesteps = torch.randint(0, steps, (count,), generator=generator)
        keep_look = torch.rand(count, generator=generator) >= self.options.drop
        keep_text = torch.rand(count, generator=generator) >= self.options.drop
        return indices, noise, timesteps, keep_look, keep_text

    def loss(self, indices, noise, timesteps, keep_look, keep_text, looks=None) -> torch.Tensor:  # type: ignore[no-untyped-def]
        device = self.device
        noise, timesteps = noise.to(device), timesteps.to(device)
        latents = self.latents[indices]
        noisy = self.noise_scheduler.add_noise(latents, noise, timesteps)
        texts = torch.where(keep_text.to(device)[:, None, None], self.texts[indices], self.empty)
        look = (self.looks[indices] if looks is None else looks) * keep_look.to(device)[:, None]
        added = {"image_embeds": [look[:, None]]}
        prediction = self.pipe.unet(noisy, timesteps, texts, added_cond_kwargs=added).sample
        target = noise
        if self.noise_scheduler.config.prediction_type == "v_prediction":
            target = self.noise_scheduler.get_velocity(latents, noise, timesteps)
        return F.mse_loss(prediction.float(), target.float())

    def train_step(self) -> float:
        self.modules.train()
        loss = self.loss(*self._draw(self.options.batch_size, self.generator))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return float(loss.detach())

    def evaluate(self, seed: int = 1234, batches: int = 4) -> tuple[float, float]:
        """Mean loss over fixed samples with their own crop, and with another scene's crop:
        the gap is what the look tells the UNet (same noise, timesteps and captions)."""
        self.modules.eval()
        generator = torch.Generator().manual_seed(seed)
        own = other = 0.0
        size = self.options.batch_size
        with torch.no_grad():
            for _ in range(batches):
                indices, noise, timesteps, _, _ = self._draw(size, generator)
                keep = torch.ones(size, dtype=torch.bool)
                own += float(self.loss(indices, noise, timesteps, keep, keep))
                shuffled = self.looks[indices.roll(1)]
                other += float(self.loss(indices, noise, timesteps, keep, keep, shuffled))
        return own / batches, other / batches

    def run(self, out_dir: Path) -> list[float]:
        return run_steps(self, out_dir, "look adapter")

    def save_checkpoint(self, out_dir: Path) -> Path:
        state = {
            "step": self.step,
            "optimizer": self.optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }
        weights = hub_state(self.modules)

        def write(directory: Path) -> None:
            save_file(weights, str(directory / _ADAPTER_CHECKPOINT))
            torch.save(state, directory / _STATE_FILE)

        target = write_checkpoint(out_dir, self.step, write, self.options.keep_checkpoints)
        logger.info("look adapter checkpoint at step %d: %s", self.step, target)
        return target

    def resume(self, out_dir: Path) -> bool:
        latest = latest_checkpoint(out_dir, _STATE_FILE)
        if latest is None:
            return False
        load_hub_state(self.modules, load_file(latest / _ADAPTER_CHECKPOINT))
        state = torch.load(latest / _STATE_FILE, map_location=self.device, weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"].cpu())
        self.step = int(state["step"])
        logger.info("resuming look adapter training at step %d from %s", self.step, latest)
        return True

    def save_adapter(self, out_dir: Path, meta: dict) -> None:
        """The adapter in the hub's layout, then its description (written last: the engine
        uses a folder once the description is there)."""
        weights = hub_state(self.modules)

        def write(directory: Path) -> None:
            save_file(weights, str(directory / TRAINED_WEIGHTS))
            (directory / TRAINED_MARKER).write_text(json.dumps(meta, indent=2), encoding="utf-8")

        write_dir(Path(out_dir), write)
        logger.info("look adapter saved to %s (step %d)", out_dir, self.step)


@dataclass(frozen=True)
class TrainedLookAdapter:
    directory: Path
    steps: int
    loss_before: tuple[float, float]  # (own crop, another scene's crop)
    loss_after: tuple[float, float]
    seconds: float


def train_look_adapter(
    trainer: LookAdapterTrainer, out_dir: Path, profile: str, fresh: bool = False
) -> TrainedLookAdapter:
    """Train (or resume) in `out_dir/.training`, then save the adapter in `out_dir`."""
    import shutil

    started = time.perf_counter()
    work = Path(out_dir).parent / f".{Path(out_dir).name}-training"
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    elif trainer.resume(work):
        logger.info("resumed the look adapter at step %d", trainer.step)
    before = trainer.evaluate()
    trainer.run(work)
    if trainer.step % trainer.options.checkpoint_every:
        trainer.save_checkpoint(work)
    after = trainer.evaluate()
    seconds = time.perf_counter() - started
    meta = {
        "profile": profile,
        "steps": trainer.step,
        "examples": len(trainer.examples),
        "image_encoder": "open_clip",
        "tokens": TOKENS,
        "loss_own_crop": [round(before[0], 6), round(after[0], 6)],
        "loss_other_crop": [round(before[1], 6), round(after[1], 6)],
        "train_seconds": round(seconds, 1),
        "options": asdict(trainer.options),
    }
    trainer.save_adapter(out_dir, meta)
    return TrainedLookAdapter(Path(out_dir), trainer.step, before, after, seconds)


def trainer_for_profile(
    profile: ModelProfile, models_dir: Path, options: LookAdapterOptions, device: str = "auto"
) -> LookAdapterTrainer:
    """The profile's pipeline in fp32 and its CLIP (the features the engine will feed the
    adapter: engine.runner reads crops the same way), over picture-book examples."""
    torch_device = resolve_device(device)
    pipe, _ = load_pipeline(profile, models_dir, torch_device, torch.float32)
    clip, preprocess, _, _ = load_clip(profile, models_dir, torch_device)

    def encode(images: list[Image.Image]) -> torch.Tensor:
        pixels = torch.stack([preprocess(image) for image in images]).to(torch_device)
        return F.normalize(clip.encode_image(pixels).float(), dim=-1)

    examples = picturebook_examples(options.scenes, options.seed, size=profile.width)
    return LookAdapterTrainer(pipe, encode, examples, options)
