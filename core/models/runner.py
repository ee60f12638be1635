"""ModelRunner: the loaded generator and CLIP model of one profile, called synchronously."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline
from diffusers.utils import logging as diffusers_logging
from PIL import Image
from transformers.utils import logging as transformers_logging

from core.engine import GeneratedImage, GenerationCancelled, GenerationRequest, Provenance
from core.models.profiles import ModelProfile
from core.models.tiny import ensure_tiny_models, register_tiny_clip

logger = logging.getLogger("inkwell.models")

StepCallback = Callable[[int, int], None]
StopCheck = Callable[[], bool]


class SamplingKey(NamedTuple):
    """Requests that share these settings can run in one pipeline call."""

    steps: int
    width: int
    height: int
    guidance_scale: float


@dataclass(frozen=True)
class _Candidate:
    request: int
    index: int
    prompt: str
    negative_prompt: str
    seed: int


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _hub_offline() -> bool:
    # The same truthy spellings huggingface_hub accepts for HF_HUB_OFFLINE.
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class ModelRunner:
    """One profile's models on one device.

    Synchronous and thread-confined: torch modules and the pipeline's scheduler hold state
    between steps, so create and call a runner from a single thread (the engine's worker).
    """

    def __init__(
        self,
        profile: ModelProfile,
        pipe: StableDiffusionPipeline,
        clip_model: torch.nn.Module,
        clip_preprocess: Callable[[Image.Image], torch.Tensor],
        clip_tokenizer: Callable[[list[str]], torch.Tensor],
        device: torch.device,
        *,
        max_batch: int = 16,
        embed_batch: int = 64,
    ) -> None:
        if max_batch < 1 or embed_batch < 1:
            raise ValueError("max_batch and embed_batch must be at least 1")
        self._profile = profile
        self._pipe = pipe
        self._clip = clip_model
        self._preprocess = clip_preprocess
        self._tokenizer = clip_tokenizer
        self._device = device
        self._max_batch = max_batch
        self._embed_batch = embed_batch
        with torch.inference_mode():
            probe = self._clip.encode_text(self._tokenizer([""]).to(device))
        self._embed_dim = int(probe.shape[-1])

    @classmethod
    def load(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        device: str = "auto",
        *,
        max_batch: int = 16,
    ) -> ModelRunner:
        """Load `profile`'s models; tiny ones are built under `models_dir` first if missing."""
        torch_device = resolve_device(device)
        dtype = torch.float16 if torch_device.type == "cuda" else torch.float32
        # Per-component loading bars only clutter service logs; hub download bars are kept.
        diffusers_logging.disable_progress_bar()
        transformers_logging.disable_progress_bar()
        needs_tiny = profile.is_tiny_generator or profile.is_tiny_clip
        tiny = ensure_tiny_models(Path(models_dir)) if needs_tiny else None

        if tiny is not None and profile.is_tiny_generator:
            source, local_only = str(tiny.generator), True
        else:
            source, local_only = profile.generator, _hub_offline()
        extra: dict[str, Any] = {"local_files_only": True} if local_only else {}
        # diffusers 0.42 deprecates `torch_dtype` in favour of `dtype`.
        pipe = StableDiffusionPipeline.from_pretrained(source, dtype=dtype, **extra)
        pipe = pipe.to(torch_device)
        pipe.set_progress_bar_config(disable=True)

        if tiny is not None and profile.is_tiny_clip:
            register_tiny_clip(tiny)
            clip_name, clip_weights = tiny.clip_model, str(tiny.clip_weights)
        else:
            clip_name, clip_weights = profile.clip_model, profile.clip_pretrained
            if clip_weights is None:
                logger.warning("CLIP model %s has no pretrained weights: random init", clip_name)
        # CLIP stays fp32 even on GPU: it is cheap, and scores must not shift with the device.
        clip_model, _, preprocess = open_clip.create_model_and_transforms(
            clip_name, pretrained=clip_weights, device=torch_device
        )
        clip_model.eval()
        tokenizer = open_clip.get_tokenizer(clip_name)

        precision = str(dtype).removeprefix("torch.")
        logger.info(
            "loaded model profile %r on %s (%s): generator from %s, CLIP %s from %s",
            *(profile.name, torch_device, precision, source, clip_name, clip_weights),
        )
        return cls(
            profile, pipe, clip_model, preprocess, tokenizer, torch_device, max_batch=max_batch
        )

    @property
    def profile(self) -> ModelProfile:
        return self._profile

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def embed_dim(self) -> int:
        return self._embed_dim

    def sampling_key(self, request: GenerationRequest) -> SamplingKey:
        """The request's settings with the profile's defaults filled in."""
        p = self._profile
        return SamplingKey(
            steps=request.steps if request.steps is not None else p.steps,
            width=request.width if request.width is not None else p.width,
            height=request.height if request.height is not None else p.height,
            guidance_scale=float(
                request.guidance_scale if request.guidance_scale is not None else p.guidance_scale
            ),
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[list[GeneratedImage]]:
        """Draw every seed of every request; one pipeline call per settings group and chunk.

        `on_step(done, total)` counts denoising steps over all the calls this takes.
        `should_stop()` is checked after every step; True raises GenerationCancelled.
        """
        groups: dict[SamplingKey, list[_Candidate]] = {}
        for r, request in enumerate(requests):
            key = self.sampling_key(request)
            for i, seed in enumerate(request.seeds):
                candidate = _Candidate(r, i, request.prompt, request.negative_prompt, seed)
                groups.setdefault(key, []).append(candidate)
        calls = [
            (key, chunk)
            for key, candidates in groups.items()
            for chunk in _chunks(candidates, self._max_batch)
        ]

        results: list[list[GeneratedImage | None]] = [[None] * len(r.seeds) for r in requests]
        done = 0
        for n, (key, chunk) in enumerate(calls):
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            later = sum(k.steps for k, _ in calls[n + 1 :])
            images = self._run_pipeline(key, chunk, done, later, on_step, should_stop)
            done += self._pipe.num_timesteps
            for candidate, image in zip(chunk, images, strict=True):
                provenance = Provenance(
                    profile=self._profile.name,
                    prompt=candidate.prompt,
                    negative_prompt=candidate.negative_prompt,
                    seed=candidate.seed,
                    steps=key.steps,
                    width=key.width,
                    height=key.height,
                    guidance_scale=key.guidance_scale,
                )
                results[candidate.request][candidate.index] = GeneratedImage(
                    _encode_png(image), provenance
                )
        return [[image for image in row if image is not None] for row in results]

    def _run_pipeline(
        self,
        key: SamplingKey,
        chunk: Sequence[_Candidate],
        done: int,
        later: int,
        on_step: StepCallback | None,
        should_stop: StopCheck | None,
    ) -> list[Image.Image]:
        def step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            if on_step is not None:
                # num_timesteps, not key.steps: higher-order schedulers take more steps.
                on_step(done + step + 1, done + pipe.num_timesteps + later)
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            return tensors

        # One generator per candidate: its latents depend on its seed alone, not on the batch.
        generators = [torch.Generator(self._device).manual_seed(c.seed) for c in chunk]
        with torch.inference_mode():
            output = self._pipe(
                prompt=[c.prompt for c in chunk],
                negative_prompt=[c.negative_prompt for c in chunk],
                num_inference_steps=key.steps,
                guidance_scale=key.guidance_scale,
                width=key.width,
                height=key.height,
                generator=generators,
                callback_on_step_end=step_end,
                output_type="pil",
            )
        return list(output.images)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text features, float32, shape (len(texts), embed_dim)."""
        outputs = [np.zeros((0, self._embed_dim), np.float32)]
        with torch.inference_mode():
            for chunk in _chunks(list(texts), self._embed_batch):
                tokens = self._tokenizer(list(chunk)).to(self._device)
                outputs.append(self._normalised(self._clip.encode_text(tokens)))
        return np.concatenate(outputs)

    def embed_images(self, pngs: Sequence[bytes]) -> np.ndarray:
        """L2-normalised CLIP image features of encoded images (any format PIL reads)."""
        outputs = [np.zeros((0, self._embed_dim), np.float32)]
        with torch.inference_mode():
            for start in range(0, len(pngs), self._embed_batch):
                chunk = pngs[start : start + self._embed_batch]
                decoded = [self._decode(data, start + i) for i, data in enumerate(chunk)]
                pixels = torch.stack([self._preprocess(image) for image in decoded])
                pixels = pixels.to(self._device)
                outputs.append(self._normalised(self._clip.encode_image(pixels)))
        return np.concatenate(outputs)

    @staticmethod
    def _decode(data: bytes, position: int) -> Image.Image:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.convert("RGB")
        except (OSError, ValueError) as error:
            raise ValueError(f"image {position} could not be decoded: {error}") from error

    @staticmethod
    def _normalised(features: torch.Tensor) -> np.ndarray:
        return F.normalize(features.float(), dim=-1).cpu().numpy().astype(np.float32)

    def close(self) -> None:
        """Drop the models so their memory can be freed."""
        self._pipe = None  # type: ignore[assignment]
        self._clip = None  # type: ignore[assignment]
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
