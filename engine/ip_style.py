"""Style references through IP-Adapter on the style layers only (InstantStyle), until a seed 004
branch is trained for the profile."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import PurePosixPath
from typing import Any

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from torch import nn

from core.engine import StyleRef
from engine.loading import hub_offline
from engine.profiles import ModelProfile
from engine.style_branch import StandInUNet
from engine.style_features import open_rgb

logger = logging.getLogger("inkwell.models")

METHOD = "ip-adapter (InstantStyle: style layers only)"


def style_layer(unet: UNet2DConditionModel) -> str:
    """The attention layer InstantStyle lets the adapter speak in: the style layer.

    InstantStyle finds style in the second attention of the first decoder level that has
    attention (SDXL: up_blocks.0.attentions.1, diffusers' recipe {"up": {"block_0": [0, 1, 0]}}).
    In SD 1.x / 2.x UNets up_blocks.0 is an UpBlock2D without attention, so the same layer is
    up_blocks.1.attentions.1 ({"up": {"block_1": [0, 1, 0]}}); every other layer gets scale 0.
    """
    for index, block in enumerate(unet.up_blocks):
        attentions = getattr(block, "attentions", None)
        if attentions is not None and len(attentions) >= 2:
            return f"up_blocks.{index}.attentions.1"
    raise ValueError("this UNet has no decoder level with two attention layers for the style")


def set_style_scale(processors: dict[str, Any], layer: str, strength: float) -> int:
    """Scale `strength` on the IP-Adapter processors of `layer`, 0 on every other one; returns
    how many processors speak."""
    speaking = 0
    for name, processor in processors.items():
        if isinstance(getattr(processor, "scale", None), list):
            on = name.startswith(f"{layer}.")
            processor.scale = [strength if on else 0.0] * len(processor.scale)
            speaking += on
    return speaking


class IPStyledUNet(StandInUNet):
    """The UNet fed each sample's image embedding; stands in for a pipeline's UNet.

    Like StyledUNet, the embeddings are set around a pipeline call with `embeds(...)`, so
    img2img and inpainting pipelines take a style without knowing about IP-Adapter. With
    classifier-free guidance the unconditional half sees zero embeddings, as diffusers does.
    """

    def __init__(self, unet: UNet2DConditionModel) -> None:
        super().__init__(unet)
        self._embeds: torch.Tensor | None = None

    @contextmanager
    def embeds(self, embeds: torch.Tensor) -> Iterator[None]:
        """(B, D) image embeddings for the next calls' B samples."""
        self._embeds = embeds
        try:
            yield
        finally:
            self._embeds = None

    def forward(
        self,
        sample: torch.Tensor,
        timestep: torch.Tensor | float | int,
        encoder_hidden_states: torch.Tensor,
        **kwargs: Any,
    ) -> Any:
        if self._embeds is None:
            raise RuntimeError("IPStyledUNet called outside embeds(...)")
        embeds = self._embeds.to(sample.device, sample.dtype)[:, None]
        repeat = sample.shape[0] // embeds.shape[0]
        if repeat == 2:
            embeds = torch.cat([torch.zeros_like(embeds), embeds])
        elif repeat != 1:
            embeds = embeds.repeat(repeat, 1, 1)
        added = dict(kwargs.pop("added_cond_kwargs", None) or {})
        added["image_embeds"] = [embeds]
        return self.unet(sample, timestep, encoder_hidden_states, added_cond_kwargs=added, **kwargs)


class IPAdapterStyle:
    """IP-Adapter loaded once beside the shared UNet, switched in for styled calls only.

    Unstyled calls keep the base pipeline's attention processors bit for bit: the adapter's
    processors and image projection are installed on entering `applied` and removed after.
    Styled requests share a call only with requests of the same strength (the runner's
    sampling key), since InstantStyle's scale is one number per layer.
    """

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        processors: dict[str, Any],
        projection: nn.Module,
        image_encoder: nn.Module,
        feature_extractor: Any,
        cache_size: int = 64,
    ) -> None:
        self._unet: UNet2DConditionModel = pipe.unet
        self._processors = processors
        self._projection = projection
        self._encoder = image_encoder
        self._features = feature_extractor
        self._layer = style_layer(pipe.unet)
        self._styled = IPStyledUNet(pipe.unet)
        components = {**pipe.components, "unet": self._styled}
        self._pipeline = StableDiffusionPipeline(**components, requires_safety_checker=False)
        self._pipeline.set_progress_bar_config(disable=True)
        self._cache: OrderedDict[bytes, torch.Tensor] = OrderedDict()
        self._cache_size = cache_size

    @classmethod
    def load(cls, profile: ModelProfile, pipe: StableDiffusionPipeline) -> IPAdapterStyle:
        """The profile's IP-Adapter (hub id or folder, hub layout) beside `pipe`'s UNet."""
        if profile.ip_adapter is None:
            raise ValueError(f"profile {profile.name!r} names no IP-Adapter")
        weight = PurePosixPath(profile.ip_adapter_weight)
        subfolder = "" if str(weight.parent) == "." else str(weight.parent)
        loader = StableDiffusionPipeline(**pipe.components, requires_safety_checker=False)
        unet = pipe.unet
        original = unet.attn_processors
        try:
            loader.load_ip_adapter(
                profile.ip_adapter,
                subfolder=subfolder,
                weight_name=weight.name,
                image_encoder_folder="image_encoder",
                local_files_only=hub_offline() or profile.ip_adapter.startswith("/"),
            )
            processors = unet.attn_processors
            projection = unet.encoder_hid_proj
        finally:
            unet.set_attn_processor(original)
            unet.encoder_hid_proj = None
            unet.config.encoder_hid_dim_type = None
        encoder = loader.image_encoder.eval().requires_grad_(False)
        logger.info(
            "style references use IP-Adapter %s (%s) on the style layers only until a seed 004 "
            "branch is trained for %r",
            *(profile.ip_adapter, profile.ip_adapter_weight, profile.name),
        )
        return cls(pipe, processors, projection, encoder, loader.feature_extractor)

    @property
    def method(self) -> str:
        return METHOD

    def parts(self) -> tuple[dict[str, Any], nn.Module, nn.Module, Any]:
        """The loaded adapter (processors, projection, image encoder, its preprocessing), for
        the cast's looks to share when they go through the same adapter (engine.looks)."""
        return self._processors, self._projection, self._encoder, self._features

    @property
    def pipeline(self) -> StableDiffusionPipeline:
        return self._pipeline

    def image_embeds(self, styles: Sequence[StyleRef]) -> torch.Tensor:
        """The image encoder's embedding of each reference, (B, D); each image encoded once."""
        keys = [hashlib.sha256(style.image).digest() for style in styles]
        missing = {k: s for k, s in zip(keys, styles, strict=True) if k not in self._cache}
        if missing:
            images = [open_rgb(style.image) for style in missing.values()]
            pixels = self._features(images, return_tensors="pt").pixel_values
            pixels = pixels.to(self._encoder.device, self._encoder.dtype)
            with torch.inference_mode():
                embeds = self._encoder(pixels).image_embeds
            for key, embed in zip(missing, embeds, strict=True):
                self._cache[key] = embed
        for key in keys:
            self._cache.move_to_end(key)
        stacked = torch.stack([self._cache[key] for key in keys])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return stacked

    @contextmanager
    def applied(self, styles: Sequence[StyleRef]) -> Iterator[StableDiffusionPipeline]:
        """The IP-Adapter pipeline for one call whose samples carry `styles` in order."""
        strengths = {style.strength for style in styles}
        if len(strengths) != 1:
            raise ValueError("one IP-Adapter call takes styles of one strength")
        embeds = self.image_embeds(styles)
        unet = self._unet
        original = unet.attn_processors
        unet.set_attn_processor(dict(self._processors))
        unet.encoder_hid_proj = self._projection
        unet.config.encoder_hid_dim_type = "ip_image_proj"
        try:
            set_style_scale(self._processors, self._layer, strengths.pop())
            with self._styled.embeds(embeds):
                yield self._pipeline
        finally:
            unet.set_attn_processor(original)
            unet.encoder_hid_proj = None
            unet.config.encoder_hid_dim_type = None


def build_random_ip_adapter(
    target: Any, unet: UNet2DConditionModel, image_encoder_config: dict[str, Any]
) -> None:
    """IP-Adapter weights in h94/IP-Adapter's layout with random weights, for offline tests:
    `<target>/models/ip-adapter_sd15.safetensors` and `<target>/models/image_encoder/`.

    The adapter's shapes follow diffusers' own test helper (create_ip_adapter_state_dict):
    one to_k_ip / to_v_ip pair per cross-attention layer, an ImageProjection to 4 tokens.
    """
    from pathlib import Path

    from diffusers.models.attention_processor import IPAdapterAttnProcessor
    from diffusers.models.embeddings import ImageProjection
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    target = Path(target)
    models = target / "models"
    models.mkdir(parents=True, exist_ok=True)
    config = CLIPVisionConfig(**image_encoder_config)
    cross = unet.config.cross_attention_dim
    state: dict[str, torch.Tensor] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encoder = CLIPVisionModelWithProjection(config)
        key = 1
        for name in unet.attn_processors:
            if name.endswith("attn1.processor"):
                continue
            if name.startswith("mid_block"):
                hidden = unet.config.block_out_channels[-1]
            elif name.startswith("up_blocks"):
                hidden = list(reversed(unet.config.block_out_channels))[int(name.split(".")[1])]
            else:
                hidden = unet.config.block_out_channels[int(name.split(".")[1])]
            layer = IPAdapterAttnProcessor(
                hidden_size=hidden, cross_attention_dim=cross
            ).state_dict()
            state[f"ip_adapter.{key}.to_k_ip.weight"] = layer["to_k_ip.0.weight"]
            state[f"ip_adapter.{key}.to_v_ip.weight"] = layer["to_v_ip.0.weight"]
            key += 2
        projection = ImageProjection(
            cross_attention_dim=cross,
            image_embed_dim=config.projection_dim,
            num_image_text_embeds=4,
        ).state_dict()
    state["image_proj.proj.weight"] = projection["image_embeds.weight"]
    state["image_proj.proj.bias"] = projection["image_embeds.bias"]
    state["image_proj.norm.weight"] = projection["norm.weight"]
    state["image_proj.norm.bias"] = projection["norm.bias"]
    save_file(
        {k: v.contiguous() for k, v in state.items()}, str(models / "ip-adapter_sd15.safetensors")
    )
    # fp16 on disk like the hub's file (half the size); loading casts to the pipeline's dtype.
    encoder.to(torch.float16).save_pretrained(models / "image_encoder")
