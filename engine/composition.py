"""Seed 001's composed pictures: masks, background, elements alone, merge, edge sketch, render.

Every stage of all the requests of one call runs as batched pipeline calls (rows that share
steps, guidance and size share a call, up to `max_batch` rows, `engine.composition_calls`),
each row from its own seed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from diffusers import (
    StableDiffusionPipeline,
)
from PIL import Image, ImageFilter

from core.engine import (
    ComposedImage,
    CompositionRequest,
    GeneratedImage,
    GenerationCancelled,
)
from engine.batching import StepCallback, StopCheck
from engine.composition_calls import Row, StagePipelines, StepEnd, planned_calls, row_key
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

logger = logging.getLogger("inkwell.models")

# What renders the sketch on profiles without a ControlNet for edges, as provenance says it.
IMG2IMG_RENDER = "img2img from the merge"


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
        self._profile = profile_name
        self._load_controlnet = controlnet
        self._controlnet_name = controlnet_name
        self._max_batch = max_batch
        self._calls = StagePipelines(pipe, controlnet, max_batch)

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
        masks = [Row(row_key(r.provenance), "", "", 0) for r in requests if self._needs_masks(r)]
        inpaint = [
            Row(row_key(r.provenance), "", "", 0)
            for r in requests
            if r.background is None and not r.redraw_background and r.foreground
        ]
        redraw = [
            Row(row_key(r.provenance, r.background_strength), "", "", 0)
            for r in requests
            if r.background is None and r.redraw_background
        ]
        alone = [
            Row(row_key(r.provenance), "", "", 0)
            for r in requests
            for e in r.foreground
            if e.cutout is None and e.reference is None
        ]
        looks = [
            Row(row_key(r.provenance, r.element_strength), "", "", 0)
            for r in requests
            for e in r.foreground
            if e.cutout is None and e.reference is not None
        ]
        render = [Row(row_key(r.provenance, r.render_strength), "", "", 0) for r in requests]
        size = self._max_batch
        return (
            planned_calls(masks, size)
            + planned_calls(inpaint, size)
            + planned_calls(redraw, size, img2img=True)
            + planned_calls(alone, size)
            + planned_calls(looks, size, img2img=True)
            + planned_calls(render, size, img2img=True)
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
            Row(
                row_key(requests[n].provenance),
                requests[n].provenance.prompt,
                requests[n].provenance.negative_prompt,
                requests[n].provenance.seed,
                words=[e.word for e in requests[n].foreground],
            )
            for n in wanted
        ]
        for group, recorder in self._calls.draw(rows, "latent", step_end, record=True):
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
        inpaint: list[tuple[int, Row]] = []
        redraw: list[tuple[int, Row]] = []
        for n, (request, initial) in enumerate(zip(requests, initials, strict=True)):
            p = request.provenance
            if request.background is not None:
                reused = open_picture(request.background, (p.width, p.height), "background")
                found[n] = (reused, {"how": "reused, not redrawn"})
            elif request.redraw_background:
                key = row_key(p, request.background_strength)
                row = Row(key, request.background_prompt, p.negative_prompt, p.seed, initial)
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
                row = Row(row_key(p), request.background_prompt, negative, p.seed, initial)
                row.mask = mask.filter(ImageFilter.MaxFilter(3))
                inpaint.append((n, row))
        for n, picture in self._calls.drawn(inpaint, "inpaint", step_end):
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
        for n, picture in self._calls.drawn(redraw, "img2img", step_end):
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
        alone: list[tuple[tuple[int, int], Row]] = []
        looks: list[tuple[tuple[int, int], Row]] = []
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
                    key = row_key(p, request.element_strength)
                    row = Row(key, element.prompt, p.negative_prompt, seed, reference)
                    row.words = [element.word]
                    looks.append(((n, e), row))
                    strength = request.element_strength
                    record["drawn"] = f"from its cast look by img2img (strength {strength:g})"
                else:
                    row = Row(row_key(p), element.prompt, p.negative_prompt, seed)
                    row.words = [element.word]
                    alone.append(((n, e), row))
                    record["drawn"] = "alone, from its words"
        for kind, items in (("txt2img", alone), ("img2img", looks)):
            rows = [row for _, row in items]
            for group, recorder, pictures in self._calls.draw_recorded(rows, kind, step_end):
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
            row = Row(
                row_key(p, request.render_strength), prompt, p.negative_prompt, p.seed, picture
            )
            row.control = sketch.convert("RGB")
            rows.append(row)
        kind = "control" if self._load_controlnet is not None else "img2img"
        pictures: list[Image.Image | None] = [None] * len(rows)
        for n, picture in self._calls.drawn(list(enumerate(rows)), kind, step_end):
            pictures[n] = picture
        return pictures  # type: ignore[return-value]
