"""Seed 001's batched pipeline calls: rows of one stage share a call, attention recorded."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import (
    StableDiffusionControlNetImg2ImgPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)
from PIL import Image

from core.engine import Provenance
from engine.attribute_fusion import attribute_mask, recording_cross_attention, word_positions
from engine.editing import global_steps
from engine.seeds import seed_latent

StepEnd = Callable[[Any, int, Any, dict], dict]
# Pipeline rows share a call when these match: steps, guidance, width, height (and strength).
Key = tuple[int, float, int, int, float]


# ---------------------------------------------------------------- masks from cross-attention


class WordMaps:
    """Cross-attention of each row's prompt to its words, averaged over layers, heads and
    steps at the latent grid; the batch's last `len(rows)` rows are the conditional ones."""

    def __init__(self, rows: Sequence[Sequence[Sequence[int]]], latent_size: tuple[int, int]):
        self._rows = [[list(word) for word in row] for row in rows]
        self._size = latent_size
        self._sums: dict[tuple[int, int], torch.Tensor] = {}
        self._count = 0

    def add(self, probs: torch.Tensor) -> None:
        """`probs`: (batch, heads, queries, tokens) of one cross-attention layer."""
        conditional = probs[-len(self._rows) :].float()
        height, width = self._size
        queries = probs.shape[2]
        rows = max(1, round(math.sqrt(queries * height / width)))
        cols = queries // rows
        for row, words in enumerate(self._rows):
            for word, positions in enumerate(words):
                if not positions:
                    continue
                heat = conditional[row][:, :, positions].sum(-1).mean(0).view(1, 1, rows, cols)
                heat = F.interpolate(heat, size=self._size, mode="bilinear", align_corners=False)
                key = (row, word)
                self._sums[key] = heat[0, 0] + self._sums[key] if key in self._sums else heat[0, 0]
        self._count += 1

    def masks(self, row: int, threshold: float, width: int, height: int) -> list[np.ndarray]:
        """Row `row`'s word masks at picture size (0/1); all zeros for a word it lacks."""
        found = []
        for word in range(len(self._rows[row])):
            heat = self._sums.get((row, word))
            if heat is None:
                found.append(np.zeros((height, width), np.float32))
                continue
            up = F.interpolate(heat[None, None], size=(height, width), mode="bilinear")[0, 0]
            found.append(attribute_mask(up, threshold).cpu().numpy().astype(np.float32))
        return found


# ---------------------------------------------------------------- one pipeline row


@dataclass
class Row:
    """One picture a stage draws: its words, seed and (img2img, inpaint) source picture."""

    key: Key
    prompt: str
    negative: str
    seed: int
    image: Image.Image | None = None
    mask: Image.Image | None = None
    control: Image.Image | None = None
    words: list[str] = field(default_factory=list)  # whose attention is recorded


def row_key(p: Provenance, strength: float = 1.0) -> Key:
    return (p.steps, p.guidance_scale, p.width, p.height, strength)


def groups(rows: Sequence[Row], size: int) -> Iterator[list[int]]:
    """Row numbers that share a pipeline call, in order, at most `size` at a time."""
    by_key: dict[Key, list[int]] = {}
    for number, row in enumerate(rows):
        by_key.setdefault(row.key, []).append(number)
    for numbers in by_key.values():
        for start in range(0, len(numbers), size):
            yield numbers[start : start + size]


def planned_calls(rows: Sequence[Row], size: int, img2img: bool = False) -> int:
    """Denoising steps the stage's calls will take, for progress."""
    total = 0
    for group in groups(rows, size):
        steps, _, _, _, strength = rows[group[0]].key
        total += int(global_steps(steps, strength) * strength) if img2img else steps
    return total


class StagePipelines:
    """The runner's pipeline and the img2img, inpaint and ControlNet pipelines sharing its
    weights; runs rows of one stage as batched calls of up to `max_batch` rows."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        controlnet: Callable[[], Any] | None,
        max_batch: int,
    ) -> None:
        self._pipe = pipe
        self._load_controlnet = controlnet
        self._max_batch = max_batch
        self._control: StableDiffusionControlNetImg2ImgPipeline | None = None
        components = pipe.components
        self._img2img = StableDiffusionImg2ImgPipeline(**components, requires_safety_checker=False)
        self._inpaint = StableDiffusionInpaintPipeline(**components, requires_safety_checker=False)
        for made in (self._img2img, self._inpaint):
            made.set_progress_bar_config(disable=True)

    @property
    def max_batch(self) -> int:
        return self._max_batch

    def drawn(
        self, items: list[tuple[Any, Row]], kind: str, step_end: StepEnd
    ) -> Iterator[tuple[Any, Image.Image]]:
        rows = [row for _, row in items]
        for group, _, pictures in self.draw_recorded(rows, kind, step_end, record=False):
            for place, number in enumerate(group):
                yield items[number][0], pictures[place].convert("RGB")

    def draw(
        self, rows: list[Row], output: str, step_end: StepEnd, record: bool
    ) -> Iterator[tuple[list[int], WordMaps]]:
        """txt2img passes that only record attention (the initial pictures' masks)."""
        for group, recorder, _ in self.draw_recorded(
            rows, "txt2img", step_end, record=record, output=output
        ):
            yield group, recorder

    def draw_recorded(
        self,
        rows: list[Row],
        kind: str,
        step_end: StepEnd,
        *,
        record: bool = True,
        output: str = "pil",
    ) -> Iterator[tuple[list[int], WordMaps, list[Any]]]:
        """Each group of rows as one pipeline call of `kind` (txt2img, img2img, inpaint or
        control), recording the rows' words' cross-attention when `record`."""
        for group in groups(rows, self._max_batch):
            batch = [rows[n] for n in group]
            steps, guidance, width, height, strength = batch[0].key
            latent_size = (
                height // self._pipe.vae_scale_factor,
                width // self._pipe.vae_scale_factor,
            )
            tokenizer = self._pipe.tokenizer
            recorder = WordMaps(
                [[word_positions(tokenizer, row.prompt, [w]) for w in row.words] for row in batch],
                latent_size,
            )
            unet = self._pipe.unet
            common: dict[str, Any] = {
                "prompt": [row.prompt for row in batch],
                "negative_prompt": [row.negative for row in batch],
                "guidance_scale": guidance,
                "generator": [torch.Generator(unet.device).manual_seed(r.seed) for r in batch],
                "callback_on_step_end": step_end,
                "output_type": output,
            }
            if kind in ("img2img", "control"):
                common |= {
                    "image": [row.image for row in batch],
                    "strength": strength,
                    "num_inference_steps": global_steps(steps, strength),
                }
            else:
                common |= {"num_inference_steps": steps, "width": width, "height": height}
            recording = recording_cross_attention(unet, recorder) if record else nullcontext()
            with recording:
                if kind == "txt2img":
                    shape = (unet.config.in_channels, *latent_size)
                    latents = torch.cat(
                        [seed_latent(r.seed, shape, unet.device, unet.dtype) for r in batch]
                    )
                    output_images = self._pipe(latents=latents, **common).images
                elif kind == "img2img":
                    output_images = self._img2img(**common).images
                elif kind == "inpaint":
                    common |= {"image": [r.image for r in batch], "strength": 1.0}
                    masks = [r.mask for r in batch]
                    output_images = self._inpaint(mask_image=masks, **common).images
                else:
                    controls = [r.control for r in batch]
                    output_images = self._controlnet()(control_image=controls, **common).images
            yield group, recorder, list(output_images)

    def _controlnet(self) -> StableDiffusionControlNetImg2ImgPipeline:
        if self._control is None:
            assert self._load_controlnet is not None
            controlnet = self._load_controlnet()
            controlnet.to(device=self._pipe.unet.device, dtype=self._pipe.unet.dtype)
            components = {k: v for k, v in self._pipe.components.items() if k != "image_encoder"}
            self._control = StableDiffusionControlNetImg2ImgPipeline(
                **components, controlnet=controlnet, requires_safety_checker=False
            )
            self._control.set_progress_bar_config(disable=True)
        return self._control
