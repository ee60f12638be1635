"""Edits of a drawn illustration (seeds 001 and 003): img2img, inpainting and attribute fusion."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import torch
from diffusers import (
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
)
from PIL import Image, ImageFilter

from core.engine import (
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    Provenance,
    StyleRef,
    feature_branch_label,
)
from engine.attribute_edit import BranchPair, attribute_edit
from engine.batching import StepCallback, StopCheck
from engine.edit_model import EditModels, edited_by_instruction
from engine.edit_settings import EditSettings
from engine.lora import AdapterShelf
from engine.tone import apply_tone

logger = logging.getLogger("inkwell.models")

Styling = Callable[[Sequence[StyleRef]], AbstractContextManager[StableDiffusionPipeline]]


def region_mask(
    region: tuple[float, float, float, float], width: int, height: int, feather: float
) -> Image.Image:
    """A greyscale mask, white inside the region box, its edge softened by `feather`."""
    x0, y0, x1, y1 = region
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(f"the region {region} is not a box inside the picture")
    mask = Image.new("L", (width, height), 0)
    box = (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))
    mask.paste(255, (box[0], box[1], max(box[2], box[0] + 1), max(box[3], box[1] + 1)))
    radius = feather * min(width, height)
    return mask.filter(ImageFilter.GaussianBlur(radius)) if radius > 0 else mask


def _open_parent(request: EditRequest) -> Image.Image:
    try:
        with Image.open(io.BytesIO(request.image)) as image:
            parent = image.convert("RGB")
    except (OSError, ValueError) as error:
        raise ValueError(f"the picture to edit could not be read: {error}") from error
    size = (request.provenance.width, request.provenance.height)
    return parent if parent.size == size else parent.resize(size, Image.Resampling.BICUBIC)


def _encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def global_steps(steps: int, strength: float) -> int:
    """Enough steps that img2img runs at least one at this strength (1-step turbo models)."""
    if not 0.0 < strength <= 1.0:
        raise ValueError(f"edit strength must be in (0, 1], got {strength}")
    return max(steps, math.ceil(1.0 / strength))


class Editor:
    """Runs edit requests on a runner's pipeline; the img2img and inpaint pipelines share its
    weights (built from `pipe.components`, nothing is loaded twice)."""

    def __init__(
        self,
        pipe: StableDiffusionPipeline,
        profile_name: str,
        settings: EditSettings,
        styling: Styling | None = None,
        style_method: str | None = None,
        adapters: AdapterShelf | None = None,
    ) -> None:
        settings.check_blocks(len(pipe.unet.up_blocks))
        self._pipe = pipe
        self._adapters = adapters
        self._profile = profile_name
        self._settings = settings
        self._styling = styling
        self._style_method = style_method
        self._inpaint = StableDiffusionInpaintPipeline(
            **pipe.components, requires_safety_checker=False
        )
        self._inpaint.set_progress_bar_config(disable=True)
        self._img2img: dict[int, StableDiffusionImg2ImgPipeline] = {}
        root = adapters.root if adapters is not None else None
        self._edit_models = EditModels(pipe, root, profile_name)

    @property
    def settings(self) -> EditSettings:
        return self._settings

    def planned_steps(self, request: EditRequest) -> int:
        """Denoising steps the request will take, for progress fractions."""
        steps = request.provenance.steps
        if request.kind == "global":
            total = global_steps(steps, request.strength)
            return min(int(total * request.strength), total)
        if request.kind == "attribute":
            # An edit model draws once; fusion takes the mask pass, then the fused pass.
            return steps if request.edit_model else 2 * steps
        return min(int(steps * self._settings.inpaint_strength), steps)

    def edit(
        self,
        requests: Sequence[EditRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[GeneratedImage]:
        """One new version per request, in order; one pipeline call (or two) per request."""
        planned = sum(self.planned_steps(r) for r in requests)
        done = 0

        def step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            nonlocal done
            done += 1
            if on_step is not None:
                on_step(done, max(planned, done))
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            return tensors

        results = []
        for request in requests:
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            with torch.inference_mode(), self._genre(request):
                image, record = self._edit_one(request, step_end)
            provenance = self._provenance(request, record)
            results.append(GeneratedImage(_encode_png(image), provenance))
        return results

    def _genre(self, request: EditRequest) -> AbstractContextManager[None]:
        """The parent's genre adapter, so the edit redraws the picture as it was drawn."""
        genre = request.provenance.genre
        if self._adapters is None:
            if genre is not None:
                raise ValueError(f"the picture was drawn in the genre {genre!r}: no adapters here")
            return nullcontext()
        return self._adapters.active("genre", genre, self._pipe)

    def _feature_generator(self, request: EditRequest) -> AbstractContextManager[None]:
        """Seed 003's feature generator: the attribute's trained adapter on the feature branch
        alone; without one the feature branch is the same model with the attribute's prompt."""
        if not request.attribute_adapter:
            return nullcontext()
        if self._adapters is None:
            raise ValueError("this engine has no adapters folder for attribute generators")
        return self._adapters.per_branch(
            self._pipe, request.attribute_adapter, request.provenance.genre
        )

    def _edit_one(self, request: EditRequest, step_end: Any) -> tuple[Image.Image, dict]:
        parent = _open_parent(request)
        if request.kind == "global":
            image, record = self._global(request, parent, step_end)
        elif request.kind in ("add", "remove"):
            image, record = self._inpaint_region(request, parent, step_end)
        elif request.kind == "attribute" and request.edit_model:
            image, record = self._instructed(request, parent, step_end)
        elif request.kind == "attribute":
            with self._feature_generator(request):
                image, record = attribute_edit(
                    self._pipe,
                    self._branches(request),
                    request.attribute_word,
                    self._settings,
                    step_end,
                )
            record["method"] = "fusion"
            record["feature_branch"] = feature_branch_label(request.attribute_adapter)
        else:
            raise ValueError(f"unknown edit kind {request.kind!r}")
        if request.tone is not None:
            image = apply_tone(image, parent, request.tone)
            record["tone"] = asdict(request.tone)
        return image, record

    def _instructed(self, request: EditRequest, parent: Image.Image, step_end: Any) -> tuple:
        """Seed 003 [0123]-[0131]: the trained edit model draws the edit from the parent
        picture and the writer's words, from the parent's seed (no branches, no mask)."""
        assert request.edit_model is not None
        p = request.provenance
        instruction = request.instruction or request.prompt
        image = edited_by_instruction(
            self._edit_models.pipeline(request.edit_model),
            parent,
            instruction,
            p.negative_prompt,
            seed=p.seed,
            steps=p.steps,
            guidance_scale=self._settings.instruct_guidance,
            image_guidance_scale=self._settings.instruct_image_guidance,
            step_end=step_end,
        )
        if image.size != parent.size:
            image = image.resize(parent.size, Image.Resampling.BICUBIC)
        record = {
            "method": f"edit model {request.edit_model}",
            "feature_branch": feature_branch_label(None, request.edit_model),
            "instruction": instruction,
            "steps": p.steps,
            "guidance_scale": self._settings.instruct_guidance,
            "image_guidance_scale": self._settings.instruct_image_guidance,
        }
        return image, record

    def _global(self, request: EditRequest, parent: Image.Image, step_end: Any) -> tuple:
        """Seed 001's update: img2img from the previous picture with the parent's seed."""
        p = request.provenance
        steps = global_steps(p.steps, request.strength)
        styling = (
            self._styling([request.style])
            if request.style is not None and self._styling is not None
            else nullcontext(self._pipe)
        )
        with styling as base:
            pipe = self._img2img_for(base)
            output = pipe(
                prompt=request.prompt,
                negative_prompt=p.negative_prompt,
                image=parent,
                strength=request.strength,
                num_inference_steps=steps,
                guidance_scale=p.guidance_scale,
                generator=torch.Generator(self._pipe.unet.device).manual_seed(p.seed),
                callback_on_step_end=step_end,
                output_type="pil",
            )
        return output.images[0], {"strength": request.strength, "steps": steps}

    def _img2img_for(self, base: StableDiffusionPipeline) -> StableDiffusionImg2ImgPipeline:
        key = id(base)
        if key not in self._img2img:
            pipe = StableDiffusionImg2ImgPipeline(**base.components, requires_safety_checker=False)
            pipe.set_progress_bar_config(disable=True)
            self._img2img[key] = pipe
        return self._img2img[key]

    def _inpaint_region(self, request: EditRequest, parent: Image.Image, step_end: Any) -> tuple:
        """Seed 001's element edits: redraw the region with (add) or without (remove) it."""
        if request.region is None:
            raise ValueError(f"an {request.kind!r} edit needs the region of the picture to change")
        p = request.provenance
        mask = region_mask(request.region, p.width, p.height, self._settings.region_feather)
        negative = p.negative_prompt
        if request.kind == "remove" and request.element:
            negative = f"{negative}, {request.element}" if negative else request.element
        output = self._inpaint(
            prompt=request.prompt,
            negative_prompt=negative,
            image=parent,
            mask_image=mask,
            strength=self._settings.inpaint_strength,
            num_inference_steps=p.steps,
            guidance_scale=p.guidance_scale,
            width=p.width,
            height=p.height,
            generator=torch.Generator(self._pipe.unet.device).manual_seed(p.seed),
            callback_on_step_end=step_end,
            output_type="pil",
        )
        # The VAE does not give the parent back exactly: keep its own pixels outside the mask.
        image = Image.composite(output.images[0].convert("RGB"), parent, mask)
        record = {
            "region": list(request.region),
            "element": request.element,
            "negative_prompt": negative,
            "strength": self._settings.inpaint_strength,
            "mask_area": round(float(np.asarray(mask, dtype=np.float32).mean() / 255.0), 4),
        }
        return image, record

    def _branches(self, request: EditRequest) -> BranchPair:
        p = request.provenance
        return BranchPair(
            original_prompt=p.prompt,
            attribute_prompt=request.prompt,
            negative_prompt=p.negative_prompt,
            seed=p.seed,
            steps=p.steps,
            width=p.width,
            height=p.height,
            guidance_scale=p.guidance_scale,
        )

    def _provenance(self, request: EditRequest, record: dict) -> Provenance:
        parent = request.provenance
        edit = {"kind": request.kind, **record}
        if request.kind == "attribute":
            edit.update(attribute=request.attribute, attribute_word=request.attribute_word)
        negative = record.get("negative_prompt", parent.negative_prompt)
        styled = request.kind == "global" and request.style is not None
        return replace(
            parent,
            profile=self._profile,
            prompt=request.prompt,
            negative_prompt=negative,
            style_ref=request.style.image_id if styled else parent.style_ref,
            style_strength=request.style.strength if styled else parent.style_strength,
            style_method=self._style_method if styled else parent.style_method,
            edit=edit,
        )
