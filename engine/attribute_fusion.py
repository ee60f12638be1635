"""Seed 003's masked feature fusion on UNet decoder blocks, and attribute masks from attention.

Two branches share one UNet call: batch rows come in (original, attribute) pairs, as the
pipelines lay them out for the prompts [original, attribute] (with classifier-free guidance
the unconditional pair comes first). The fusion only ever writes into the original rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from diffusers import UNet2DConditionModel


def fuse(f_o: torch.Tensor, f_t: torch.Tensor, mask: torch.Tensor, alpha: float) -> torch.Tensor:
    """f = f_o * (1 - M) + (a * f_o + (1 - a) * f_t) * M  ([0153]-[0154])."""
    return f_o * (1 - mask) + (alpha * f_o + (1 - alpha) * f_t) * mask


def attribute_mask(attention: torch.Tensor, threshold: float) -> torch.Tensor:
    """1 where the attention map reaches `threshold` of its own range, else 0."""
    low, high = attention.min(), attention.max()
    if float(high - low) <= 0.0:
        return torch.zeros_like(attention)
    normalised = (attention - low) / (high - low)
    return (normalised >= threshold).to(attention.dtype)


def combine_masks(masks: Sequence[torch.Tensor], how: str) -> torch.Tensor:
    """The joint mask of both branches ([0049]): "union" or "intersection"."""
    if not masks:
        raise ValueError("no attribute mask to combine")
    stacked = torch.stack(list(masks))
    if how == "union":
        return stacked.amax(0)
    if how == "intersection":
        return stacked.amin(0)
    raise ValueError(f"unknown mask combination {how!r}")


def word_positions(tokenizer: Any, prompt: str, words: Sequence[str]) -> list[int]:
    """Token positions of `words` in `prompt` as the text encoder sees it (start token = 0)."""
    ids = tokenizer(prompt, truncation=True, max_length=tokenizer.model_max_length).input_ids
    positions: list[int] = []
    for word in words:
        pieces = tokenizer(word, add_special_tokens=False).input_ids
        if not pieces:
            continue
        for start in range(len(ids) - len(pieces) + 1):
            if ids[start : start + len(pieces)] == pieces:
                positions.extend(range(start, start + len(pieces)))
    return sorted(set(positions))


class CrossAttentionRecorder:
    """Accumulates, per branch, the attention its cross-attention layers pay to the attribute
    word's tokens, resized to the latent grid and averaged over layers, heads and steps."""

    def __init__(self, positions: Sequence[Sequence[int]], latent_size: tuple[int, int]):
        self._positions = [list(p) for p in positions]
        self._size = latent_size
        self._sums: list[torch.Tensor | None] = [None] * len(positions)
        self._counts = [0] * len(positions)

    def add(self, probs: torch.Tensor) -> None:
        """`probs`: (batch, heads, queries, tokens) of one layer; the last pair is conditional."""
        branches = len(self._positions)
        conditional = probs[-branches:].float()
        height, width = self._size
        queries = probs.shape[2]
        rows = max(1, round(math.sqrt(queries * height / width)))
        cols = queries // rows
        for branch, positions in enumerate(self._positions):
            if not positions:
                continue
            heat = conditional[branch][:, :, positions].sum(-1).mean(0).view(1, 1, rows, cols)
            heat = F.interpolate(heat, size=self._size, mode="bilinear", align_corners=False)[0, 0]
            total = self._sums[branch]
            self._sums[branch] = heat if total is None else total + heat
            self._counts[branch] += 1

    def maps(self) -> list[torch.Tensor | None]:
        """Each branch's mean map (latent height, width), or None if its prompt lacks the word."""
        return [
            None if total is None else total / count
            for total, count in zip(self._sums, self._counts, strict=True)
        ]


class _RecordingProcessor:
    """diffusers' classic AttnProcessor that also hands its attention probabilities over."""

    def __init__(self, recorder: CrossAttentionRecorder) -> None:
        self._recorder = recorder

    def __call__(
        self,
        attn: Any,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        spatial = hidden_states.ndim == 4
        if spatial:
            batch, channels, height, width = hidden_states.shape
            hidden_states = hidden_states.view(batch, channels, height * width).transpose(1, 2)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        batch_size, sequence_length, _ = context.shape
        attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        if encoder_hidden_states is not None and attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(query, key, attention_mask)
        self._recorder.add(probs.view(batch_size, attn.heads, *probs.shape[1:]))
        hidden_states = attn.batch_to_head_dim(torch.bmm(probs, value))
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states))
        if spatial:
            hidden_states = hidden_states.transpose(-1, -2).reshape(batch, channels, height, width)
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor


@contextmanager
def recording_cross_attention(
    unet: UNet2DConditionModel, recorder: CrossAttentionRecorder
) -> Iterator[CrossAttentionRecorder]:
    """The UNet's cross-attention (attn2) layers report to `recorder` inside the block."""
    original = unet.attn_processors
    processor = _RecordingProcessor(recorder)
    unet.set_attn_processor(
        {
            name: processor if name.endswith("attn2.processor") else current
            for name, current in original.items()
        }
    )
    try:
        yield recorder
    finally:
        unet.set_attn_processor(original)


class DecoderFusion:
    """Forward hooks on chosen UNet up blocks that fuse the attribute rows into the original
    rows during chosen denoising steps; set `step` before each UNet call."""

    def __init__(
        self,
        unet: UNet2DConditionModel,
        blocks: Sequence[int],
        mask: torch.Tensor,
        alpha: float,
        steps: set[int],
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"fusion alpha must be in [0, 1], got {alpha}")
        self._unet = unet
        self._blocks = list(blocks)
        self._mask = mask.float()  # (height, width) at any resolution, values in [0, 1]
        self._alpha = alpha
        self._steps = set(steps)
        self._resized: dict[tuple[int, int, torch.dtype], torch.Tensor] = {}
        self.step = 0
        self.fused = 0  # how many block outputs were fused, for logs and tests

    def mask_at(self, height: int, width: int, like: torch.Tensor) -> torch.Tensor:
        """The joint mask resized bilinearly to a block's resolution ([0153])."""
        key = (height, width, like.dtype)
        if key not in self._resized:
            mask = self._mask[None, None].to(like.device)
            if mask.shape[-2:] != (height, width):
                mask = F.interpolate(mask, size=(height, width), mode="bilinear")
            self._resized[key] = mask[0].to(like.dtype)  # (1, height, width)
        return self._resized[key]

    def _hook(self, module: torch.nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        if self.step not in self._steps:
            return output
        pairs = output.view(output.shape[0] // 2, 2, *output.shape[1:])
        original, attribute = pairs[:, 0], pairs[:, 1]
        mask = self.mask_at(output.shape[-2], output.shape[-1], output)
        fused = fuse(original, attribute, mask, self._alpha)
        self.fused += 1
        return torch.stack((fused, attribute), dim=1).view_as(output)

    @contextmanager
    def attached(self) -> Iterator[DecoderFusion]:
        handles = [self._unet.up_blocks[i].register_forward_hook(self._hook) for i in self._blocks]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()
