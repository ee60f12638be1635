"""Trained edit models (seed 003 [0123]-[0131]) as InstructPix2Pix pipelines beside the base
pipeline: each its own UNet, sharing the profile's VAE, text encoder and tokenizer."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from diffusers import (
    StableDiffusionInstructPix2PixPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from PIL import Image

from core.engine import EDIT_MODEL
from engine.lora import EDIT_MODEL_UNET, METADATA_FILE, adapter_dir, read_info

logger = logging.getLogger("inkwell.models")


class EditModels:
    """The edit models a runner has loaded, by name. Thread-confined like the runner. A model
    is loaded on first use and kept; one retrained on disk is loaded again on its next use."""

    def __init__(self, pipe: StableDiffusionPipeline, root: Path | None, profile: str) -> None:
        self._pipe = pipe
        self.root = root
        self.profile = profile
        self._loaded: dict[str, tuple[float, StableDiffusionInstructPix2PixPipeline]] = {}

    def pipeline(self, name: str) -> StableDiffusionInstructPix2PixPipeline:
        """The edit model `name` as a pipeline; ValueError (a writer can read it) if gone."""
        if self.root is None:
            raise ValueError("this engine has no adapters folder for edit models")
        directory = adapter_dir(self.root, self.profile, EDIT_MODEL, name)
        info = read_info(directory)
        if info is None or info.kind != EDIT_MODEL or info.profile != self.profile:
            raise ValueError(f"there is no trained edit model {name!r} for these models")
        stamp = (directory / METADATA_FILE).stat().st_mtime
        loaded = self._loaded.get(name)
        if loaded is not None and loaded[0] == stamp:
            return loaded[1]
        pipe = instruct_pipeline(self._pipe, directory / EDIT_MODEL_UNET)
        self._loaded[name] = (stamp, pipe)
        logger.info("loaded edit model %r from %s", name, directory)
        return pipe


def instruct_pipeline(base: StableDiffusionPipeline, unet_dir: Path) -> Any:
    """An InstructPix2Pix pipeline of the UNet in `unet_dir` and `base`'s other parts."""
    unet = UNet2DConditionModel.from_pretrained(unet_dir, torch_dtype=base.unet.dtype)
    latent = base.vae.config.latent_channels
    if unet.config.in_channels != 2 * latent:
        raise ValueError(
            f"the edit model in {unet_dir} takes {unet.config.in_channels} input channels; "
            f"these models need {2 * latent} (it was trained for other models)"
        )
    pipe = StableDiffusionInstructPix2PixPipeline(
        vae=base.vae,
        text_encoder=base.text_encoder,
        tokenizer=base.tokenizer,
        unet=unet.to(base.unet.device),
        # Its own scheduler: a scheduler keeps state between the steps of one call.
        scheduler=type(base.scheduler).from_config(base.scheduler.config),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def edited_by_instruction(
    pipe: StableDiffusionInstructPix2PixPipeline,
    parent: Image.Image,
    instruction: str,
    negative_prompt: str,
    *,
    seed: int,
    steps: int,
    guidance_scale: float,
    image_guidance_scale: float,
    step_end: Any = None,
) -> Image.Image:
    """The parent picture edited as the instruction says, from the parent's seed."""
    import torch

    output = pipe(
        prompt=instruction,
        negative_prompt=negative_prompt or None,
        image=parent,
        num_inference_steps=steps,
        guidance_scale=guidance_scale,
        image_guidance_scale=image_guidance_scale,
        generator=torch.Generator(pipe.unet.device).manual_seed(seed),
        callback_on_step_end=step_end,
        output_type="pil",
    )
    return output.images[0].convert("RGB")
