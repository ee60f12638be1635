"""The cast's looks condition generation: an image-prompt adapter (IP-Adapter) on every
cross-attention layer, fed each sample's element reference pictures.

Where the adapter comes from (`look_source`): `[models.overrides] look_adapter`; else a look
adapter trained for the profile in `<models>/look-adapter/<profile>` (`train-look-adapter`,
reading the profile's own open_clip image features); else, on `tiny`, random weights in
h94/IP-Adapter's layout built here (diffusers' test pattern); else the profile's `ip_adapter`
(`sd15`: h94/IP-Adapter). SD 2.x has none published, so on `sd-turbo` looks do not condition.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from PIL import Image
from torch import nn

from core.engine import LookRef
from engine.loading import hub_offline
from engine.profiles import ModelProfile
from engine.style_features import open_rgb
from engine.tiny import TINY_VERSION, TinyPaths

logger = logging.getLogger("inkwell.models")

# Written last into a trained look adapter's folder: what it reads and how it was trained.
TRAINED_MARKER = "inkwell-look-adapter.json"
TRAINED_WEIGHTS = "ip-adapter.safetensors"
_TINY_MARKER = "inkwell-tiny-ip-adapter.json"
_TINY_IP_VERSION = 1
# The tiny adapter's image encoder: transformers' CLIPVisionModelWithProjection at test size.
TINY_IMAGE_ENCODER = {
    "hidden_size": 32,
    "intermediate_size": 37,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "image_size": 32,
    "patch_size": 8,
    "projection_dim": 16,
}

# Encodes reference pictures to the adapter's image embeddings, (N, D).
Encode = Callable[[list[Image.Image]], torch.Tensor]


@dataclass(frozen=True)
class LookSource:
    """Where a profile's look adapter is, and how to read it.

    `encoder` "clip-vision": the hub layout with its image encoder in `image_encoder/`;
    "open_clip": a trained look adapter reading the profile's own CLIP image features.
    """

    method: str  # as provenance and "why" name it
    folder: str  # hub id or folder
    weight: str  # the weights file inside it
    encoder: str


def default_look_dir(models_dir: Path, profile_name: str) -> Path:
    """Where `train-look-adapter` writes a profile's adapter and where the runner looks."""
    return Path(models_dir) / "look-adapter" / profile_name


def tiny_look_dir(models_dir: Path) -> Path:
    # Inside the tiny build, like the tiny style branch: a rebuild takes it away with it.
    return TinyPaths.under(Path(models_dir)).root / "ip-adapter"


def look_source(profile: ModelProfile, models_dir: Path) -> LookSource | None:
    """The adapter the profile's looks go through; None: looks cannot condition drawing."""
    configured = Path(profile.look_adapter) if profile.look_adapter else None
    trained = configured or default_look_dir(models_dir, profile.name)
    if (trained / TRAINED_MARKER).is_file():
        meta = json.loads((trained / TRAINED_MARKER).read_text(encoding="utf-8"))
        steps = meta.get("steps", 0)
        method = f"look adapter trained for {meta.get('profile', profile.name)} ({steps} steps)"
        return LookSource(method, str(trained), TRAINED_WEIGHTS, "open_clip")
    if profile.look_adapter:
        return LookSource(
            f"ip-adapter {profile.look_adapter}",
            profile.look_adapter,
            profile.ip_adapter_weight,
            "clip-vision",
        )
    if profile.is_tiny_generator:
        folder = str(tiny_look_dir(models_dir))
        return LookSource(
            "ip-adapter (random test weights)", folder, "models/ip-adapter_sd15.safetensors",
            "clip-vision",
        )  # fmt: skip
    if profile.ip_adapter is not None:
        return LookSource(
            f"ip-adapter {profile.ip_adapter}",
            profile.ip_adapter,
            profile.ip_adapter_weight,
            "clip-vision",
        )
    return None


def set_look_scale(processors: dict[str, Any], scale: float) -> None:
    """`scale` on every IP-Adapter processor: the look speaks in every cross-attention."""
    for processor in processors.values():
        if isinstance(getattr(processor, "scale", None), list):
            processor.scale = [scale] * len(processor.scale)


class PerSampleProjection(nn.Module):
    """Stands in for the UNet's IP-Adapter image projection with each sample's own embeddings.

    diffusers' pipelines take one set of IP-Adapter embeddings for the whole batch (they
    repeat it per sample), so the pipeline gets a placeholder and this module, installed as
    the UNet's `encoder_hid_proj`, answers with the call's per-sample projections instead.
    """

    def __init__(self, projection: nn.Module, embeds: torch.Tensor) -> None:
        super().__init__()
        self.projection = projection
        self._embeds = embeds  # (2B or B, N, D): the unguided half first when guided

    def forward(self, placeholder: list[torch.Tensor]) -> list[torch.Tensor]:
        rows = placeholder[0].shape[0]
        embeds = self._embeds
        if rows != embeds.shape[0]:
            raise ValueError(f"the UNet ran {rows} samples for {embeds.shape[0]} looks")
        return self.projection([embeds])


class LookAdapter:
    """IP-Adapter loaded once beside the shared UNet, switched in for calls with looks only.

    Calls without looks keep the base pipeline's attention processors bit for bit. Each
    sample brings its own references (B, N, D); the scale is one number per call, so the
    runner's sampling key keeps strengths and reference counts apart.
    """

    def __init__(
        self,
        unet: UNet2DConditionModel,
        processors: dict[str, Any],
        projection: nn.Module,
        encode: Encode,
        method: str,
        cache_size: int = 128,
    ) -> None:
        self._unet = unet
        self._processors = processors
        self._projection = projection
        self._encode = encode
        self.method = method
        self._cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def shared(cls, source: LookSource, unet: UNet2DConditionModel, parts: tuple) -> LookAdapter:
        """The looks through an adapter already loaded for style references (`IPAdapterStyle.
        parts()`): one copy of the weights and image encoder. Calls set their own scales."""
        processors, projection, encoder, features = parts
        logger.info("the cast's looks condition drawing through %s (shared)", source.method)
        return cls(unet, processors, projection, _hub_encode(encoder, features), source.method)

    @classmethod
    def load(
        cls,
        source: LookSource,
        pipe: StableDiffusionPipeline,
        models_dir: Path,
        clip_encode: Encode | None = None,
    ) -> LookAdapter:
        """The adapter `source` names beside `pipe`'s UNet; "open_clip" adapters read their
        embeddings with `clip_encode` (the profile's CLIP)."""
        if source.method.startswith("ip-adapter (random"):
            ensure_tiny_look_adapter(models_dir, pipe.unet)
        weight = PurePosixPath(source.weight)
        subfolder = "" if str(weight.parent) == "." else str(weight.parent)
        loader = StableDiffusionPipeline(**pipe.components, requires_safety_checker=False)
        unet = pipe.unet
        original = unet.attn_processors
        hub = source.encoder == "clip-vision"
        # A trained look adapter reads the profile's CLIP, so diffusers' warning that no image
        # encoder was loaded says nothing here.
        quiet = logging.getLogger("diffusers.loaders.ip_adapter")
        level = quiet.level
        if not hub:
            quiet.setLevel(logging.ERROR)
        try:
            loader.load_ip_adapter(
                source.folder,
                subfolder=subfolder,
                weight_name=weight.name,
                image_encoder_folder="image_encoder" if hub else None,
                local_files_only=hub_offline() or source.folder.startswith("/"),
            )
            processors = unet.attn_processors
            projection = unet.encoder_hid_proj
        finally:
            quiet.setLevel(level)
            unet.set_attn_processor(original)
            unet.encoder_hid_proj = None
            unet.config.encoder_hid_dim_type = None
        if hub:
            encoder = loader.image_encoder.eval().requires_grad_(False)
            encode = _hub_encode(encoder, loader.feature_extractor)
        else:
            if clip_encode is None:
                raise ValueError(f"look adapter {source.folder} needs the profile's CLIP")
            encode = clip_encode
        logger.info("the cast's looks condition drawing through %s", source.method)
        return cls(unet, processors, projection, encode, source.method)

    def embeds(self, looks: Sequence[Sequence[LookRef]]) -> torch.Tensor:
        """Each sample's reference embeddings, (B, N, D); each picture encoded once."""
        keys = [[hashlib.sha256(look.image).digest() for look in sample] for sample in looks]
        missing = {
            key: look
            for sample, sample_keys in zip(looks, keys, strict=True)
            for key, look in zip(sample_keys, sample, strict=True)
            if key not in self._cache
        }
        if missing:
            images = [open_rgb(look.image) for look in missing.values()]
            with torch.inference_mode():
                embedded = self._encode(images)
            for key, embed in zip(missing, embedded, strict=True):
                self._cache[key] = embed.float()
        for sample_keys in keys:
            for key in sample_keys:
                self._cache.move_to_end(key)
        stacked = torch.stack(
            [torch.stack([self._cache[key] for key in sample_keys]) for sample_keys in keys]
        )
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return stacked

    @contextmanager
    def applied(
        self, looks: Sequence[Sequence[LookRef]], scale: float, guided: bool
    ) -> Iterator[dict[str, Any]]:
        """The pipeline arguments for one call whose samples carry `looks` in order: image
        embeddings with zeros for the unguided half, as diffusers' own encode_image gives."""
        if len({len(sample) for sample in looks}) != 1:
            raise ValueError("one look call takes the same number of references per sample")
        unet = self._unet
        embeds = self.embeds(looks).to(unet.device, unet.dtype)
        if guided:
            embeds = torch.cat([torch.zeros_like(embeds), embeds])
        # The pipeline repeats this placeholder to the UNet's batch; the projection answers.
        placeholder = torch.zeros((2 if guided else 1, 1, 1), device=unet.device, dtype=unet.dtype)
        original = unet.attn_processors
        unet.set_attn_processor(dict(self._processors))
        unet.encoder_hid_proj = PerSampleProjection(self._projection, embeds)
        unet.config.encoder_hid_dim_type = "ip_image_proj"
        try:
            set_look_scale(self._processors, scale)
            yield {"ip_adapter_image_embeds": [placeholder]}
        finally:
            unet.set_attn_processor(original)
            unet.encoder_hid_proj = None
            unet.config.encoder_hid_dim_type = None


def _hub_encode(encoder: nn.Module, features: Any) -> Encode:
    """The hub layout's image encoder as diffusers' encode_image uses it for ImageProjection."""

    def encode(images: list[Image.Image]) -> torch.Tensor:
        pixels = features(images, return_tensors="pt").pixel_values
        return encoder(pixels.to(encoder.device, encoder.dtype)).image_embeds

    return encode


def _is_current(root: Path) -> bool:
    try:
        marker = json.loads((root / _TINY_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == {"tiny": TINY_VERSION, "ip_adapter": _TINY_IP_VERSION}


def ensure_tiny_look_adapter(models_dir: Path, unet: UNet2DConditionModel) -> Path:
    """Build the tiny profile's IP-Adapter (random weights, the hub's layout) once, staged in a
    temporary folder renamed into place, like the other tiny models."""
    from engine.ip_style import build_random_ip_adapter

    target = tiny_look_dir(models_dir)
    if _is_current(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ip-adapter-", dir=target.parent))
    try:
        built = staging / "ip-adapter"
        build_random_ip_adapter(built, unet, TINY_IMAGE_ENCODER)
        marker = {"tiny": TINY_VERSION, "ip_adapter": _TINY_IP_VERSION}
        (built / _TINY_MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if target.exists():
            os.rename(target, staging / "stale")
        try:
            os.rename(built, target)
        except OSError:
            if not _is_current(target):  # another process won the race with an equal build
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("built the tiny IP-Adapter in %s", target)
    return target
