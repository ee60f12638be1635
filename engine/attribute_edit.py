"""Seed 003 on a diffusion pipeline: original and attribute branches from one latent, fused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import StableDiffusionPipeline

from engine.attribute_fusion import (
    CrossAttentionRecorder,
    DecoderFusion,
    attribute_mask,
    combine_masks,
    recording_cross_attention,
    word_positions,
)
from engine.edit_settings import EditSettings
from engine.seeds import seed_latent

logger = logging.getLogger("inkwell.models")

StepEnd = Callable[[Any, int, Any, dict], dict]


@dataclass(frozen=True)
class BranchPair:
    """What both branches are drawn from: the parent's latent (its seed) and two prompts."""

    original_prompt: str
    attribute_prompt: str
    negative_prompt: str
    seed: int
    steps: int
    width: int
    height: int
    guidance_scale: float

    def initial_latent(self, pipe: StableDiffusionPipeline) -> torch.Tensor:
        """The parent's starting noise, drawn exactly as the pipeline draws it for one seed."""
        unet = pipe.unet
        shape = (
            unet.config.in_channels,
            self.height // pipe.vae_scale_factor,
            self.width // pipe.vae_scale_factor,
        )
        return seed_latent(self.seed, shape, unet.device, unet.dtype)

    def run(
        self,
        pipe: StableDiffusionPipeline,
        *,
        output_type: str = "pil",
        fusion: DecoderFusion | None = None,
        recorder: CrossAttentionRecorder | None = None,
        step_end: StepEnd | None = None,
    ) -> Any:
        """Both branches in one batch; the output's first row is the original branch."""

        def on_step_end(p: Any, step: int, timestep: Any, tensors: dict) -> dict:
            if fusion is not None:
                fusion.step = step + 1
            return step_end(p, step, timestep, tensors) if step_end is not None else tensors

        latent = self.initial_latent(pipe)
        generators = [torch.Generator(pipe.unet.device).manual_seed(self.seed) for _ in range(2)]
        with ExitStack() as stack:
            if recorder is not None:
                stack.enter_context(recording_cross_attention(pipe.unet, recorder))
            if fusion is not None:
                fusion.step = 0
                stack.enter_context(fusion.attached())
            return pipe(
                prompt=[self.original_prompt, self.attribute_prompt],
                negative_prompt=[self.negative_prompt] * 2,
                num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale,
                width=self.width,
                height=self.height,
                latents=latent.repeat(2, 1, 1, 1),
                generator=generators,
                callback_on_step_end=on_step_end,
                output_type=output_type,
            )

    def latent_size(self, pipe: StableDiffusionPipeline) -> tuple[int, int]:
        return self.height // pipe.vae_scale_factor, self.width // pipe.vae_scale_factor


def split_words(attribute_word: str) -> list[str]:
    """Several attribute words may be given separated by commas ("hair, beard")."""
    return [word.strip() for word in attribute_word.split(",") if word.strip()]


def attribute_masks(
    pipe: StableDiffusionPipeline,
    pair: BranchPair,
    words: list[str],
    settings: EditSettings,
    step_end: StepEnd | None = None,
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The joint mask at latent resolution and each branch's own mask, from a first pass
    that records the attribute words' cross-attention in both branches."""
    positions = [
        word_positions(pipe.tokenizer, pair.original_prompt, words),
        word_positions(pipe.tokenizer, pair.attribute_prompt, words),
    ]
    if not any(positions):
        raise ValueError(
            f"the attribute word {', '.join(words)!r} is not in the picture's prompt, "
            "so the part of the picture to change cannot be found"
        )
    recorder = CrossAttentionRecorder(positions, pair.latent_size(pipe))
    pair.run(pipe, output_type="latent", recorder=recorder, step_end=step_end)
    # A branch whose prompt lacks the word has no map: the joint mask is the other's alone.
    masks = [attribute_mask(m, settings.mask_threshold) for m in recorder.maps() if m is not None]
    return combine_masks(masks, settings.mask_combine), masks


def fusion_plan(
    settings: EditSettings, mask: torch.Tensor, words: int, steps: int
) -> tuple[tuple[int, ...], set[int], bool]:
    """Blocks and steps to fuse at; complex edits (several words, large regions) fuse more."""
    complex_edit = words > 1 or float(mask.mean()) > settings.complex_area
    blocks = settings.complex_blocks if complex_edit else settings.decoder_blocks
    start, end = settings.complex_steps if complex_edit else settings.fusion_steps
    active = {i for i in range(steps) if start <= i / steps < end}
    return tuple(sorted(set(blocks))), active, complex_edit


def attribute_edit(
    pipe: StableDiffusionPipeline,
    pair: BranchPair,
    attribute_word: str,
    settings: EditSettings,
    step_end: StepEnd | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The fused original branch's picture, and what was done (for the provenance)."""
    words = split_words(attribute_word)
    if not words:
        raise ValueError("an attribute edit needs the word naming the part to change")
    mask, _ = attribute_masks(pipe, pair, words, settings, step_end)
    blocks, active, complex_edit = fusion_plan(settings, mask, len(words), pair.steps)
    fusion = DecoderFusion(pipe.unet, blocks, mask, settings.fusion_alpha, active)
    output = pair.run(pipe, fusion=fusion, step_end=step_end)
    record = {
        "alpha": settings.fusion_alpha,
        "blocks": list(blocks),
        "steps": sorted(active),
        "mask_combine": settings.mask_combine,
        "mask_area": round(float(mask.mean()), 4),
        "complex": complex_edit,
    }
    logger.info("attribute edit %r fused %d block outputs: %s", words, fusion.fused, record)
    return output.images[0], record
