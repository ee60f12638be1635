"""Seed 001's composed pictures: masks, background, elements alone, merge, edge sketch, render.

Every stage of all the requests of one call runs as batched pipeline calls (rows that share
steps, guidance and size share a call, up to `max_batch` rows), each row from its own seed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
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
from PIL import Image, ImageFilter

from core.engine import (
    ComposedImage,
    CompositionRequest,
    GeneratedImage,
    GenerationCancelled,
    Provenance,
)
from engine.attribute_fusion import attribute_mask, recording_cross_attention, word_positions
from engine.batching import StepCallback, StopCheck
from engine.composition_pixels import (
    SKETCH_METHOD,
    backdrop_mask,
    box_mask,
    cut_out,
    edge_sketch,
    mask_box,
    merge,
    open_picture,
    png_bytes,
)
from engine.editing import global_steps
from engine.seeds import seed_latent

logger = logging.getLogger("inkwell.models")

StepEnd = Callable[[Any, int, Any, dict], dict]
# What renders the sketch on profiles without a ControlNet for edges, as provenance says it.
IMG2IMG_RENDER = "img2img from the merge"
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
class _Row:
    """One picture a stage draws: its words, seed and (img2img, inpaint) source picture."""

    key: Key
    prompt: str
    negative: str
    seed: int
    image: Image.Image | None = None
    mask: Image.Image | None = None
    control: Image.Image | None = None
    words: list[str] = field(default_factory=list)  # whose attention is recorded


def _key(p: Provenance, strength: float = 1.0) -> Key:
    return (p.steps, p.guidance_scale, p.width, p.height, strength)


def _groups(rows: Sequence[_Row], size: int) -> Iterator[list[int]]:
    """Row numbers that share a pipeline call, in order, at most `size` at a time."""
    by_key: dict[Key, list[int]] = {}
    for number, row in enumerate(rows):
        by_key.setdefault(row.key, []).append(number)
    for numbers in by_key.values():
        for start in range(0, len(numbers), size):
            yield numbers[start : start + size]


def _calls(rows: Sequence[_Row], size: int, img2img: bool = False) -> int:
    """Denoising steps the stage's calls will take, for progress."""
    total = 0
    for group in _groups(rows, size):
        steps, _, _, _, strength = rows[group[0]].key
        total += int(global_steps(steps, strength) * strength) if img2img else steps
    return total


# ---------------------------------------------------------------- the stages on a pipeline


class Composer:
    """Runs composition requests on a runner's pipeline; the img2img, inpaint and ControlNet
    pipelines share its weights. `controlnet` loads the profile's ControlNet for edges (None:
    the sketch is rendered by img2img from the merge)."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        profile_name: str,
        controlnet: Callable[[], Any] | None = None,
        controlnet_name: str | None = None,
        *,
        max_batch: int = 16,
    ) -> None:
        self._pipe = pipe
        self._profile = profile_name
        self._load_controlnet = controlnet
        self._controlnet_name = controlnet_name
        self._max_batch = max_batch
        self._control: StableDiffusionControlNetImg2ImgPipeline | None = None
        components = pipe.components
        self._img2img = StableDiffusionImg2ImgPipeline(**components, requires_safety_checker=False)
        self._inpaint = StableDiffusionInpaintPipeline(**components, requires_safety_checker=False)
        for made in (self._img2img, self._inpaint):
            made.set_progress_bar_config(disable=True)

    @property
    def render_method(self) -> str:
        if self._load_controlnet is None:
            return IMG2IMG_RENDER
        return f"ControlNet for edges ({self._controlnet_name or 'loaded'}) from the merge"

    def compose(
        self,
        requests: Sequence[CompositionRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[ComposedImage]:
        """Each request's composed picture and stages; `on_step(done, total)` counts the
        denoising steps of every batched call, `should_stop()` is checked after each."""
        requests = list(requests)
        planned = self.planned_steps(requests)
        done = 0

        def step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            nonlocal done
            done += 1
            if on_step is not None:
                on_step(done, max(planned, done))
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            return tensors

        if should_stop is not None and should_stop():
            raise GenerationCancelled()
        with torch.inference_mode():
            results = self._compose_all(requests, step_end)
        if on_step is not None and done < planned:
            on_step(planned, planned)  # a stage that had nothing to do (no foreground found)
        return results

    def planned_steps(self, requests: Sequence[CompositionRequest]) -> int:
        """Denoising steps the requests will take at most, batched as `compose` batches them."""
        masks = [_Row(_key(r.provenance), "", "", 0) for r in requests if self._needs_masks(r)]
        inpaint = [
            _Row(_key(r.provenance), "", "", 0)
            for r in requests
            if r.background is None and not r.redraw_background and r.foreground
        ]
        redraw = [
            _Row(_key(r.provenance, r.background_strength), "", "", 0)
            for r in requests
            if r.background is None and r.redraw_background
        ]
        alone = [
            _Row(_key(r.provenance), "", "", 0)
            for r in requests
            for e in r.foreground
            if e.cutout is None and e.reference is None
        ]
        looks = [
            _Row(_key(r.provenance, r.element_strength), "", "", 0)
            for r in requests
            for e in r.foreground
            if e.cutout is None and e.reference is not None
        ]
        render = [_Row(_key(r.provenance, r.render_strength), "", "", 0) for r in requests]
        size = self._max_batch
        return (
            _calls(masks, size)
            + _calls(inpaint, size)
            + _calls(redraw, size, img2img=True)
            + _calls(alone, size)
            + _calls(looks, size, img2img=True)
            + _calls(render, size, img2img=True)
        )

    @staticmethod
    def _needs_masks(request: CompositionRequest) -> bool:
        boxes_missing = any(element.box is None for element in request.foreground)
        inpainting = request.background is None and not request.redraw_background
        return bool(request.foreground) and (boxes_missing or inpainting)

    def _compose_all(
        self, requests: list[CompositionRequest], step_end: StepEnd
    ) -> list[ComposedImage]:
        initials = [
            open_picture(r.initial, (r.provenance.width, r.provenance.height), "initial picture")
            for r in requests
        ]
        masks = self._word_masks(requests, step_end)
        # An element placed by the request (an added one, a kept one) is masked by its box.
        for request, found in zip(requests, masks, strict=True):
            p = request.provenance
            for n, element in enumerate(request.foreground):
                if element.box is not None:
                    found[n] = box_mask(element.box, p.width, p.height)
        backgrounds = self._backgrounds(requests, initials, masks, step_end)
        elements = self._elements(requests, step_end)
        boxes = [
            [
                element.box if element.box is not None else mask_box(mask)
                for element, mask in zip(request.foreground, found, strict=True)
            ]
            for request, found in zip(requests, masks, strict=True)
        ]
        merged = [
            merge(background, list(zip([c for c, _ in drawn], placed, strict=True)))
            for (background, _), drawn, placed in zip(backgrounds, elements, boxes, strict=True)
        ]
        sketches = [
            edge_sketch(picture, r.edge_threshold)
            for picture, r in zip(merged, requests, strict=True)
        ]
        prompts = [
            f"{r.provenance.prompt}, {r.style}" if r.style else r.provenance.prompt
            for r in requests
        ]
        pictures = self._render(requests, prompts, merged, sketches, step_end)
        results = []
        for n, request in enumerate(requests):
            records = [record for _, record in elements[n]]
            for record, box, mask in zip(records, boxes[n], masks[n], strict=True):
                record["box"] = [round(v, 4) for v in box] if box is not None else None
                record["mask_area"] = round(float(mask.mean()), 4)
                if box is None:
                    record["merged"] = "not found in the initial picture: not merged"
            composition = {
                "masks": "cross-attention of each element's word in the initial picture",
                "mask_threshold": request.mask_threshold,
                "background": backgrounds[n][1],
                "foreground": records,
                "merge": "each cutout scaled into its box, standing on its bottom edge",
                "sketch": f"{SKETCH_METHOD} at {request.edge_threshold:g} of the strongest edge",
                "render": {
                    "method": self.render_method,
                    "strength": request.render_strength,
                    "prompt": prompts[n],
                },
                "style": request.style,
            }
            provenance = replace(
                request.provenance,
                profile=self._profile,
                prompt=prompts[n],
                composition=composition,
            )
            results.append(
                ComposedImage(
                    picture=GeneratedImage(png_bytes(pictures[n]), provenance),
                    background=png_bytes(backgrounds[n][0]),
                    cutouts=tuple(png_bytes(cutout) for cutout, _ in elements[n]),
                    boxes=tuple(boxes[n]),
                    merged=png_bytes(merged[n]),
                    sketch=png_bytes(sketches[n]),
                )
            )
        logger.info("composed %d pictures: %s", len(requests), self.render_method)
        return results

    # ------------------------------------------------------------ stages

    def _word_masks(
        self, requests: list[CompositionRequest], step_end: StepEnd
    ) -> list[list[np.ndarray]]:
        """One drawing pass of each initial picture's latent, recording its words' attention."""
        masks = [
            [np.zeros((r.provenance.height, r.provenance.width), np.float32) for _ in r.foreground]
            for r in requests
        ]
        wanted = [n for n, r in enumerate(requests) if self._needs_masks(r)]
        rows = [
            _Row(
                _key(requests[n].provenance),
                requests[n].provenance.prompt,
                requests[n].provenance.negative_prompt,
                requests[n].provenance.seed,
                words=[e.word for e in requests[n].foreground],
            )
            for n in wanted
        ]
        for group, recorder in self._draw(rows, "latent", step_end, record=True):
            for place, number in enumerate(group):
                n = wanted[number]
                p, threshold = requests[n].provenance, requests[n].mask_threshold
                masks[n] = recorder.masks(place, threshold, p.width, p.height)
        return masks

    def _backgrounds(
        self,
        requests: list[CompositionRequest],
        initials: list[Image.Image],
        masks: list[list[np.ndarray]],
        step_end: StepEnd,
    ) -> list[tuple[Image.Image, dict]]:
        found: list[tuple[Image.Image, dict] | None] = [None] * len(requests)
        inpaint: list[tuple[int, _Row]] = []
        redraw: list[tuple[int, _Row]] = []
        for n, (request, initial) in enumerate(zip(requests, initials, strict=True)):
            p = request.provenance
            if request.background is not None:
                reused = open_picture(request.background, (p.width, p.height), "background")
                found[n] = (reused, {"how": "reused, not redrawn"})
            elif request.redraw_background:
                key = _key(p, request.background_strength)
                row = _Row(key, request.background_prompt, p.negative_prompt, p.seed, initial)
                redraw.append((n, row))
            else:
                union = np.zeros((p.height, p.width), np.float32)
                for mask in masks[n]:
                    union = np.maximum(union, mask)
                if not union.any():
                    found[n] = (initial.copy(), {"how": "the initial picture (no foreground)"})
                    continue
                mask = Image.fromarray((union * 255).astype(np.uint8), "L")
                words = ", ".join(element.word for element in request.foreground)
                negative = ", ".join(part for part in (p.negative_prompt, words) if part)
                row = _Row(_key(p), request.background_prompt, negative, p.seed, initial)
                row.mask = mask.filter(ImageFilter.MaxFilter(3))
                inpaint.append((n, row))
        for n, picture in self._drawn(inpaint, "inpaint", step_end):
            row = dict(inpaint)[n]
            assert row.image is not None and row.mask is not None
            # The VAE does not give the picture back exactly: keep its pixels outside the mask.
            background = Image.composite(picture, row.image, row.mask)
            found[n] = (
                background,
                {
                    "how": "the foreground inpainted away from the initial picture",
                    "prompt": row.prompt,
                    "negative_prompt": row.negative,
                    "removed_area": round(float(np.asarray(row.mask, np.float32).mean() / 255), 4),
                },
            )
        for n, picture in self._drawn(redraw, "img2img", step_end):
            found[n] = (
                picture,
                {
                    "how": "redrawn by img2img from the previous background",
                    "prompt": requests[n].background_prompt,
                    "strength": requests[n].background_strength,
                },
            )
        assert all(item is not None for item in found)
        return found  # type: ignore[return-value]

    def _elements(
        self, requests: list[CompositionRequest], step_end: StepEnd
    ) -> list[list[tuple[Image.Image, dict]]]:
        """Each element alone (drawn, or an earlier cutout reused) and how it was made."""
        found: list[list[Any]] = [[None] * len(r.foreground) for r in requests]
        alone: list[tuple[tuple[int, int], _Row]] = []
        looks: list[tuple[tuple[int, int], _Row]] = []
        for n, request in enumerate(requests):
            p = request.provenance
            for e, element in enumerate(request.foreground):
                record: dict[str, Any] = {"word": element.word, "prompt": element.prompt}
                if element.cutout is not None:
                    what = f"cutout of {element.word!r}"
                    cutout = open_picture(element.cutout, (0, 0), what, mode="RGBA")
                    record["drawn"] = "an earlier drawing of it alone, reused"
                    found[n][e] = (cutout, record)
                    continue
                seed = (p.seed + 1 + e) & 0x7FFFFFFF
                record["seed"] = seed
                found[n][e] = (None, record)
                if element.reference is not None:
                    reference = open_picture(element.reference, (p.width, p.height), "cast look")
                    key = _key(p, request.element_strength)
                    row = _Row(key, element.prompt, p.negative_prompt, seed, reference)
                    row.words = [element.word]
                    looks.append(((n, e), row))
                    strength = request.element_strength
                    record["drawn"] = f"from its cast look by img2img (strength {strength:g})"
                else:
                    row = _Row(_key(p), element.prompt, p.negative_prompt, seed)
                    row.words = [element.word]
                    alone.append(((n, e), row))
                    record["drawn"] = "alone, from its words"
        for kind, items in (("txt2img", alone), ("img2img", looks)):
            rows = [row for _, row in items]
            for group, recorder, pictures in self._draw_recorded(rows, kind, step_end):
                for place, number in enumerate(group):
                    (n, e), row = items[number]
                    request = requests[n]
                    picture = pictures[place].convert("RGB")
                    record = found[n][e][1]
                    if request.cutout == "backdrop":
                        mask = backdrop_mask(picture)
                        record["cut_out"] = "by its difference from the backdrop"
                    else:
                        size = picture.size
                        mask = recorder.masks(place, request.mask_threshold, *size)[0]
                        record["cut_out"] = "by its word's cross-attention"
                    found[n][e] = (cut_out(picture, mask), record)
        return found

    def _render(
        self,
        requests: list[CompositionRequest],
        prompts: list[str],
        merged: list[Image.Image],
        sketches: list[Image.Image],
        step_end: StepEnd,
    ) -> list[Image.Image]:
        """Seed 001 [0052]: each sketch rendered in its chosen style, from its merge."""
        rows = []
        for request, prompt, picture, sketch in zip(
            requests, prompts, merged, sketches, strict=True
        ):
            p = request.provenance
            row = _Row(_key(p, request.render_strength), prompt, p.negative_prompt, p.seed, picture)
            row.control = sketch.convert("RGB")
            rows.append(row)
        kind = "control" if self._load_controlnet is not None else "img2img"
        pictures: list[Image.Image | None] = [None] * len(rows)
        for n, picture in self._drawn(list(enumerate(rows)), kind, step_end):
            pictures[n] = picture
        return pictures  # type: ignore[return-value]

    # ------------------------------------------------------------ batched pipeline calls

    def _drawn(
        self, items: list[tuple[Any, _Row]], kind: str, step_end: StepEnd
    ) -> Iterator[tuple[Any, Image.Image]]:
        rows = [row for _, row in items]
        for group, _, pictures in self._draw_recorded(rows, kind, step_end, record=False):
            for place, number in enumerate(group):
                yield items[number][0], pictures[place].convert("RGB")

    def _draw(
        self, rows: list[_Row], output: str, step_end: StepEnd, record: bool
    ) -> Iterator[tuple[list[int], WordMaps]]:
        """txt2img passes that only record attention (the initial pictures' masks)."""
        for group, recorder, _ in self._draw_recorded(
            rows, "txt2img", step_end, record=record, output=output
        ):
            yield group, recorder

    def _draw_recorded(
        self,
        rows: list[_Row],
        kind: str,
        step_end: StepEnd,
        *,
        record: bool = True,
        output: str = "pil",
    ) -> Iterator[tuple[list[int], WordMaps, list[Any]]]:
        """Each group of rows as one pipeline call of `kind` (txt2img, img2img, inpaint or
        control), recording the rows' words' cross-attention when `record`."""
        for group in _groups(rows, self._max_batch):
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
