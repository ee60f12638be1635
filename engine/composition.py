"""Seed 001's composed pictures: masks, background, elements alone, merge, edge sketch, render."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
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
    ForegroundElement,
    GeneratedImage,
    GenerationCancelled,
    Provenance,
)
from engine.attribute_fusion import (
    CrossAttentionRecorder,
    attribute_mask,
    recording_cross_attention,
    word_positions,
)
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


# ---------------------------------------------------------------- masks from cross-attention


class WordMaps(CrossAttentionRecorder):
    """Cross-attention of one prompt (the batch's last row) to several words: one map each."""

    def add(self, probs: torch.Tensor) -> None:
        conditional = probs[-1:].float()
        height, width = self._size
        queries = probs.shape[2]
        rows = max(1, round(np.sqrt(queries * height / width)))
        cols = queries // rows
        for word, positions in enumerate(self._positions):
            if not positions:
                continue
            heat = conditional[0][:, :, positions].sum(-1).mean(0).view(1, 1, rows, cols)
            heat = F.interpolate(heat, size=self._size, mode="bilinear", align_corners=False)[0, 0]
            total = self._sums[word]
            self._sums[word] = heat if total is None else total + heat
            self._counts[word] += 1

    def masks(self, threshold: float, width: int, height: int) -> list[np.ndarray]:
        """Each word's mask at picture size (0/1); all zeros for a word the prompt lacks."""
        found = []
        for heat in self.maps():
            if heat is None:
                found.append(np.zeros((height, width), np.float32))
                continue
            up = F.interpolate(heat[None, None], size=(height, width), mode="bilinear")[0, 0]
            found.append(attribute_mask(up, threshold).cpu().numpy().astype(np.float32))
        return found


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
    ) -> None:
        self._pipe = pipe
        self._profile = profile_name
        self._load_controlnet = controlnet
        self._controlnet_name = controlnet_name
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
            with torch.inference_mode():
                results.append(self._compose_one(request, step_end))
        return results

    def planned_steps(self, request: CompositionRequest) -> int:
        steps = request.provenance.steps
        total = steps if self._needs_masks(request) else 0
        if request.background is None:
            strength = request.background_strength if request.redraw_background else 1.0
            total += int(global_steps(steps, strength) * strength)
        for element in request.foreground:
            if element.cutout is None:
                total += steps
        return total + int(global_steps(steps, request.render_strength) * request.render_strength)

    @staticmethod
    def _needs_masks(request: CompositionRequest) -> bool:
        boxes_missing = any(element.box is None for element in request.foreground)
        inpainting = request.background is None and not request.redraw_background
        return bool(request.foreground) and (boxes_missing or inpainting)

    def _compose_one(self, request: CompositionRequest, step_end: StepEnd) -> ComposedImage:
        p = request.provenance
        size = (p.width, p.height)
        initial = open_picture(request.initial, size, "initial picture")
        words = [element.word for element in request.foreground]
        masks = (
            self._word_masks(p, p.prompt, words, request.mask_threshold, step_end)
            if self._needs_masks(request)
            else [np.zeros((p.height, p.width), np.float32) for _ in words]
        )
        # An element placed by the request (an added one, a kept one) is masked by its box.
        for n, element in enumerate(request.foreground):
            if element.box is not None:
                masks[n] = box_mask(element.box, p.width, p.height)
        background, background_record = self._background(request, initial, masks, step_end)
        cutouts, element_records = [], []
        for n, element in enumerate(request.foreground):
            cutout, record = self._element(request, n, element, step_end)
            cutouts.append(cutout)
            element_records.append(record)
        boxes = [
            element.box if element.box is not None else mask_box(mask)
            for element, mask in zip(request.foreground, masks, strict=True)
        ]
        merged = merge(background, list(zip(cutouts, boxes, strict=True)))
        sketch = edge_sketch(merged, request.edge_threshold)
        prompt = f"{p.prompt}, {request.style}" if request.style else p.prompt
        picture, render_record = self._render(request, prompt, merged, sketch, step_end)
        for record, box, mask in zip(element_records, boxes, masks, strict=True):
            record["box"] = [round(v, 4) for v in box] if box is not None else None
            record["mask_area"] = round(float(mask.mean()), 4)
            if box is None:
                record["merged"] = "not found in the initial picture: not merged"
        composition = {
            "masks": "cross-attention of each element's word in the initial picture",
            "mask_threshold": request.mask_threshold,
            "background": background_record,
            "foreground": element_records,
            "merge": "each cutout scaled into its box, standing on its bottom edge",
            "sketch": f"{SKETCH_METHOD} at {request.edge_threshold:g} of the strongest edge",
            "render": render_record,
            "style": request.style,
        }
        provenance = replace(p, profile=self._profile, prompt=prompt, composition=composition)
        logger.info("composed %d foreground elements: %s", len(words), render_record["method"])
        return ComposedImage(
            picture=GeneratedImage(png_bytes(picture), provenance),
            background=png_bytes(background),
            cutouts=tuple(png_bytes(cutout) for cutout in cutouts),
            boxes=tuple(boxes),
            merged=png_bytes(merged),
            sketch=png_bytes(sketch),
        )

    def _latent_size(self, p: Provenance) -> tuple[int, int]:
        return p.height // self._pipe.vae_scale_factor, p.width // self._pipe.vae_scale_factor

    def _word_masks(
        self, p: Provenance, prompt: str, words: list[str], threshold: float, step_end: StepEnd
    ) -> list[np.ndarray]:
        """One drawing pass of the initial picture's latent, recording each word's attention."""
        latent_size = self._latent_size(p)
        recorder = WordMaps(
            [word_positions(self._pipe.tokenizer, prompt, [word]) for word in words], latent_size
        )
        unet = self._pipe.unet
        shape = (unet.config.in_channels, *latent_size)
        with recording_cross_attention(unet, recorder):
            self._pipe(
                prompt=prompt,
                negative_prompt=p.negative_prompt,
                num_inference_steps=p.steps,
                guidance_scale=p.guidance_scale,
                width=p.width,
                height=p.height,
                latents=seed_latent(p.seed, shape, unet.device, unet.dtype),
                generator=torch.Generator(unet.device).manual_seed(p.seed),
                callback_on_step_end=step_end,
                output_type="latent",
            )
        return recorder.masks(threshold, p.width, p.height)

    def _background(
        self,
        request: CompositionRequest,
        initial: Image.Image,
        masks: list[np.ndarray],
        step_end: StepEnd,
    ) -> tuple[Image.Image, dict]:
        p = request.provenance
        size = (p.width, p.height)
        if request.background is not None:
            return open_picture(request.background, size, "background"), {
                "how": "reused, not redrawn"
            }
        generator = torch.Generator(self._pipe.unet.device).manual_seed(p.seed)
        if request.redraw_background:
            strength = request.background_strength
            output = self._img2img(
                prompt=request.background_prompt,
                negative_prompt=p.negative_prompt,
                image=initial,
                strength=strength,
                num_inference_steps=global_steps(p.steps, strength),
                guidance_scale=p.guidance_scale,
                generator=generator,
                callback_on_step_end=step_end,
                output_type="pil",
            )
            record = {
                "how": "redrawn by img2img from the previous background",
                "prompt": request.background_prompt,
                "strength": strength,
            }
            return output.images[0].convert("RGB"), record
        union = np.max(np.stack(masks), axis=0) if masks else np.zeros(size[::-1], np.float32)
        if not union.any():
            return initial.copy(), {"how": "the initial picture (no foreground to remove)"}
        mask = Image.fromarray((union * 255).astype(np.uint8), "L").filter(ImageFilter.MaxFilter(3))
        words = ", ".join(element.word for element in request.foreground)
        negative = ", ".join(part for part in (p.negative_prompt, words) if part)
        output = self._inpaint(
            prompt=request.background_prompt,
            negative_prompt=negative,
            image=initial,
            mask_image=mask,
            strength=1.0,
            num_inference_steps=p.steps,
            guidance_scale=p.guidance_scale,
            width=p.width,
            height=p.height,
            generator=generator,
            callback_on_step_end=step_end,
            output_type="pil",
        )
        # The VAE does not give the picture back exactly: keep its own pixels outside the mask.
        background = Image.composite(output.images[0].convert("RGB"), initial, mask)
        record = {
            "how": "the foreground inpainted away from the initial picture",
            "prompt": request.background_prompt,
            "negative_prompt": negative,
            "removed_area": round(float(np.asarray(mask, np.float32).mean() / 255.0), 4),
        }
        return background, record

    def _element(
        self, request: CompositionRequest, n: int, element: ForegroundElement, step_end: StepEnd
    ) -> tuple[Image.Image, dict]:
        """The element alone (drawn, or an earlier cutout reused) and how it was made."""
        record: dict[str, Any] = {"word": element.word, "prompt": element.prompt}
        if element.cutout is not None:
            cutout = open_picture(
                element.cutout, (0, 0), f"cutout of {element.word!r}", mode="RGBA"
            )
            record["drawn"] = "an earlier drawing of it alone, reused"
            return cutout, record
        p = request.provenance
        seed = (p.seed + 1 + n) & 0x7FFFFFFF
        unet = self._pipe.unet
        latent_size = (
            p.height // self._pipe.vae_scale_factor,
            p.width // self._pipe.vae_scale_factor,
        )
        recorder = WordMaps(
            [word_positions(self._pipe.tokenizer, element.prompt, [element.word])], latent_size
        )
        common = {
            "prompt": element.prompt,
            "negative_prompt": p.negative_prompt,
            "guidance_scale": p.guidance_scale,
            "generator": torch.Generator(unet.device).manual_seed(seed),
            "callback_on_step_end": step_end,
            "output_type": "pil",
        }
        with recording_cross_attention(unet, recorder):
            if element.reference is not None:
                reference = open_picture(element.reference, (p.width, p.height), "cast look")
                strength = request.element_strength
                output = self._img2img(
                    image=reference,
                    strength=strength,
                    num_inference_steps=global_steps(p.steps, strength),
                    **common,
                )
                record["drawn"] = f"from its cast look by img2img (strength {strength:g})"
            else:
                output = self._pipe(
                    num_inference_steps=p.steps,
                    width=p.width,
                    height=p.height,
                    latents=seed_latent(
                        seed, (unet.config.in_channels, *latent_size), unet.device, unet.dtype
                    ),
                    **common,
                )
                record["drawn"] = "alone, from its words"
        alone = output.images[0].convert("RGB")
        if request.cutout == "backdrop":
            mask = backdrop_mask(alone)
            record["cut_out"] = "by its difference from the backdrop"
        else:
            mask = recorder.masks(request.mask_threshold, alone.width, alone.height)[0]
            record["cut_out"] = "by its word's cross-attention"
        record["seed"] = seed
        return cut_out(alone, mask), record

    def _render(
        self,
        request: CompositionRequest,
        prompt: str,
        merged: Image.Image,
        sketch: Image.Image,
        step_end: StepEnd,
    ) -> tuple[Image.Image, dict]:
        """Seed 001 [0052]: the sketch rendered in the chosen style."""
        p = request.provenance
        strength = request.render_strength
        common = {
            "prompt": prompt,
            "negative_prompt": p.negative_prompt,
            "image": merged,
            "strength": strength,
            "num_inference_steps": global_steps(p.steps, strength),
            "guidance_scale": p.guidance_scale,
            "generator": torch.Generator(self._pipe.unet.device).manual_seed(p.seed),
            "callback_on_step_end": step_end,
            "output_type": "pil",
        }
        control = self._controlnet_pipeline()
        if control is not None:
            output = control(control_image=sketch.convert("RGB"), **common)
        else:
            output = self._img2img(**common)
        record = {"method": self.render_method, "strength": strength, "prompt": prompt}
        return output.images[0].convert("RGB"), record

    def _controlnet_pipeline(self) -> StableDiffusionControlNetImg2ImgPipeline | None:
        if self._load_controlnet is None:
            return None
        if self._control is None:
            controlnet = self._load_controlnet()
            controlnet.to(device=self._pipe.unet.device, dtype=self._pipe.unet.dtype)
            components = {k: v for k, v in self._pipe.components.items() if k != "image_encoder"}
            self._control = StableDiffusionControlNetImg2ImgPipeline(
                **components, controlnet=controlnet, requires_safety_checker=False
            )
            self._control.set_progress_bar_config(disable=True)
        return self._control
