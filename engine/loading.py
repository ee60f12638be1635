"""Loading a profile's generator pipeline and CLIP model onto a device, offline when asked."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import open_clip
import torch
from diffusers import StableDiffusionPipeline
from diffusers.utils import logging as diffusers_logging
from PIL import Image
from transformers.utils import logging as transformers_logging

from engine.architecture import ensure_architecture
from engine.profiles import ModelProfile
from engine.tiny import ensure_tiny_models, register_tiny_clip

logger = logging.getLogger("inkwell.models")


def hub_offline() -> bool:
    # The same truthy spellings huggingface_hub accepts for HF_HUB_OFFLINE.
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def generator_source(profile: ModelProfile, models_dir: Path) -> tuple[str, dict[str, Any]]:
    """Where `from_pretrained` finds the profile's pipeline, and its extra keyword arguments."""
    if profile.is_tiny_generator:
        return str(ensure_tiny_models(Path(models_dir)).generator), {"local_files_only": True}
    if profile.builds_architecture:
        assert profile.architecture is not None
        built = ensure_architecture(Path(models_dir), profile.architecture)
        return str(built), {"local_files_only": True}
    assert profile.generator is not None
    local = Path(profile.generator)
    if local.is_absolute():
        # A hub id is never absolute: this is a folder on disk, so never ask the hub.
        if not (local / "model_index.json").is_file():
            raise FileNotFoundError(
                f"profile {profile.name!r}: no pipeline in {local} "
                "(python -m bot train-picturebook builds the picture-book one)"
            )
        return str(local), {"local_files_only": True}
    return profile.generator, ({"local_files_only": True} if hub_offline() else {})


def load_pipeline(
    profile: ModelProfile, models_dir: Path, device: torch.device, dtype: torch.dtype
) -> tuple[StableDiffusionPipeline, str]:
    """The profile's pipeline on `device`, and where it came from."""
    # Per-component loading bars only clutter service logs; hub download bars are kept.
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    source, extra = generator_source(profile, models_dir)
    # diffusers 0.42 deprecates `torch_dtype` in favour of `dtype`.
    pipe = StableDiffusionPipeline.from_pretrained(source, dtype=dtype, **extra)
    pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    return pipe, source


def load_clip(
    profile: ModelProfile, models_dir: Path, device: torch.device
) -> tuple[torch.nn.Module, Callable[[Image.Image], torch.Tensor], Any, str]:
    """CLIP model, image preprocessing, tokenizer, and a description of the weights."""
    if profile.is_tiny_clip:
        tiny = ensure_tiny_models(Path(models_dir))
        register_tiny_clip(tiny)
        clip_name, clip_weights = tiny.clip_model, str(tiny.clip_weights)
    else:
        clip_name, clip_weights = profile.clip_model, profile.clip_pretrained
        if profile.clip_config is not None:
            # Always: the profile's file is authoritative, even over a config registered
            # earlier under the same name (another run's, or a test's smaller one).
            open_clip.add_model_config(profile.clip_config)
        if clip_weights is None:
            logger.warning("CLIP model %s has no pretrained weights: random init", clip_name)
    # CLIP stays fp32 even on GPU: it is cheap, and scores must not shift with the device.
    clip_model, _, preprocess = open_clip.create_model_and_transforms(
        clip_name, pretrained=clip_weights, device=device
    )
    clip_model.eval()
    tokenizer = open_clip.get_tokenizer(clip_name)
    return clip_model, preprocess, tokenizer, f"CLIP {clip_name} from {clip_weights}"
