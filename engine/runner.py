"""ModelRunner: the loaded generator and CLIP model of one profile, called synchronously."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
from PIL import Image

from core.engine import (
    AdapterInfo,
    Box,
    ComposedImage,
    CompositionRequest,
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    LookRef,
    Provenance,
    RestorerState,
    Screening,
    StyleBranchState,
    StyleRef,
)
from engine.batching import StepCallback, StopCheck
from engine.composition import Composer
from engine.device import resolve_device
from engine.edit_settings import EditSettings
from engine.editing import Editor, global_steps
from engine.ip_style import METHOD as IP_ADAPTER_METHOD
from engine.ip_style import IPAdapterStyle
from engine.loading import load_clip, load_pipeline
from engine.looks import LookAdapter, LookSource, look_source
from engine.lora import AdapterShelf, adapters_root
from engine.profiles import ModelProfile
from engine.restorer import LazyRestorer
from engine.screening import LazyScreening, ScreeningModel
from engine.seeds import seed_latents
from engine.style_branch import branch_source
from engine.style_unit import StyleUnit

logger = logging.getLogger("inkwell.models")


class SamplingKey(NamedTuple):
    """Requests that share these settings can run in one pipeline call."""

    steps: int
    width: int
    height: int
    guidance_scale: float
    # Unstyled requests never touch the style branch: their pictures stay the base pipeline's.
    styled: bool = False
    # IP-Adapter's scale is one number per layer: styled requests share a call per strength.
    style_scale: float | None = None
    # The genre adapter (engine.lora): requests of different genres never share a call.
    genre: str | None = None
    # The cast's looks (engine.looks): the adapter's scale is one number per call and each
    # sample brings the same number of references, so both are part of the key.
    look_scale: float | None = None
    look_count: int = 0


@dataclass(frozen=True)
class _Candidate:
    request: int
    index: int
    prompt: str
    negative_prompt: str
    seed: int
    style: StyleRef | None = None
    looks: tuple[LookRef, ...] = ()
    look_strength: float | None = None
    look_method: str | None = None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class ModelRunner:
    """One profile's models on one device.

    Synchronous and thread-confined: torch modules and the pipeline's scheduler hold state
    between steps, so create and call a runner from a single thread (the engine's worker).
    """

    def __init__(
        self,
        profile: ModelProfile,
        pipe: StableDiffusionPipeline,
        clip_model: torch.nn.Module,
        clip_preprocess: Callable[[Image.Image], torch.Tensor],
        clip_tokenizer: Callable[[list[str]], torch.Tensor],
        device: torch.device,
        *,
        max_batch: int = 16,
        embed_batch: int = 64,
        style_loader: Callable[[], StyleUnit | IPAdapterStyle] | None = None,
        style_branch: StyleBranchState = "untrained",
        screening: LazyScreening | ScreeningModel | None = None,
        edit_settings: EditSettings | None = None,
        restorer: LazyRestorer | None = None,
        adapters: Path | None = None,
        look_source: LookSource | None = None,
        models_dir: Path | None = None,
    ) -> None:
        if max_batch < 1 or embed_batch < 1:
            raise ValueError("max_batch and embed_batch must be at least 1")
        self._profile = profile
        self._pipe = pipe
        self._clip = clip_model
        self._preprocess = clip_preprocess
        self._tokenizer = clip_tokenizer
        self._device = device
        self._max_batch = max_batch
        self._embed_batch = embed_batch
        self._style_loader = style_loader
        self._style: StyleUnit | IPAdapterStyle | None = None
        self._style_branch = style_branch
        self._screening = screening
        self._edit_settings = edit_settings or EditSettings()
        self._edit_settings.check_blocks(len(pipe.unet.up_blocks))  # fail at load, naming the key
        self._editor: Editor | None = None
        self._composer: Composer | None = None
        self._restorer = restorer
        self._refiner: StableDiffusionImg2ImgPipeline | None = None
        # Trained LoRA adapters (genres, attribute generators); a folder that may not exist yet.
        self._adapters = AdapterShelf(pipe, adapters, profile.name)
        self._look_source = look_source
        self._models_dir = models_dir
        self._looks: LookAdapter | None = None
        with torch.inference_mode():
            probe = self._clip.encode_text(self._tokenizer([""]).to(device))
        self._embed_dim = int(probe.shape[-1])

    @classmethod
    def load(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        device: str = "auto",
        *,
        max_batch: int = 16,
        edit_settings: EditSettings | None = None,
        adapters: Path | None = None,
    ) -> ModelRunner:
        """Load `profile`'s models; tiny ones are built under `models_dir` first if missing."""
        torch_device = resolve_device(device)
        dtype = torch.float16 if torch_device.type == "cuda" else torch.float32
        pipe, source = load_pipeline(profile, models_dir, torch_device, dtype)
        clip_model, preprocess, tokenizer, clip = load_clip(profile, models_dir, torch_device)
        style = branch_source(profile, Path(models_dir))  # logs when untrained
        style_state: StyleBranchState = style.state
        if style.state == "untrained" and profile.ip_adapter is not None:
            # No trained branch: IP-Adapter on the style layers carries references until then.
            style_state = "ip-adapter"

        def load_style() -> StyleUnit | IPAdapterStyle:
            if style_state == "ip-adapter":
                return IPAdapterStyle.load(profile, pipe)
            return StyleUnit.load(profile, style, Path(models_dir), pipe)

        precision = str(dtype).removeprefix("torch.")
        logger.info(
            "loaded model profile %r on %s (%s): generator from %s, %s",
            *(profile.name, torch_device, precision, source, clip),
        )
        return cls(
            *(profile, pipe, clip_model, preprocess, tokenizer, torch_device),
            max_batch=max_batch,
            style_loader=load_style,
            style_branch=style_state,
            screening=LazyScreening(
                lambda: ScreeningModel.load(profile, Path(models_dir), torch_device)
            ),
            edit_settings=edit_settings,
            restorer=LazyRestorer(Path(models_dir), torch_device),
            adapters=adapters or adapters_root("", Path(models_dir)),
            look_source=look_source(profile, Path(models_dir)),
            models_dir=Path(models_dir),
        )

    @property
    def profile(self) -> ModelProfile:
        return self._profile

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def embed_dim(self) -> int:
        return self._embed_dim

    @property
    def style_branch(self) -> StyleBranchState:
        return self._style_branch

    @property
    def style_method(self) -> str:
        """What carries style references, as provenance records it."""
        if self._style_branch == "ip-adapter":
            return IP_ADAPTER_METHOD
        return f"seed 004 style branch ({self._style_branch})"

    def look_method(self, request: GenerationRequest) -> str | None:
        """What carries the request's looks, or why they do not condition it; None: no looks."""
        if not request.looks or request.look_strength <= 0:
            return None
        if self._look_source is None:
            return f"none: no image-prompt adapter for {self._profile.name}"
        if request.style is not None and self._style_branch == "ip-adapter":
            # One IP-Adapter call has one set of scales: InstantStyle's are the style's.
            return "none: the IP-Adapter carries this story's style reference"
        return self._look_source.method

    def sampling_key(self, request: GenerationRequest) -> SamplingKey:
        """The request's settings with the profile's defaults filled in."""
        p = self._profile
        method = self.look_method(request)
        looked = method is not None and not method.startswith("none")
        return SamplingKey(
            steps=request.steps if request.steps is not None else p.steps,
            width=request.width if request.width is not None else p.width,
            height=request.height if request.height is not None else p.height,
            guidance_scale=float(
                request.guidance_scale if request.guidance_scale is not None else p.guidance_scale
            ),
            styled=request.style is not None,
            style_scale=(
                request.style.strength
                if request.style is not None and self._style_branch == "ip-adapter"
                else None
            ),
            genre=request.genre,
            look_scale=float(request.look_strength) if looked else None,
            look_count=len(request.looks) if looked else 0,
        )

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[list[GeneratedImage]]:
        """Draw every seed of every request; one pipeline call per settings group and chunk.

        `on_step(done, total)` counts denoising steps over all the calls this takes.
        `should_stop()` is checked after every step; True raises GenerationCancelled.
        """
        groups: dict[SamplingKey, list[_Candidate]] = {}
        for r, request in enumerate(requests):
            key = self.sampling_key(request)
            method = self.look_method(request)
            looks = request.looks if method is not None else ()
            for i, seed in enumerate(request.seeds):
                candidate = _Candidate(
                    *(r, i, request.prompt, request.negative_prompt, seed, request.style),
                    looks=looks,
                    look_strength=float(request.look_strength) if looks else None,
                    look_method=method,
                )
                groups.setdefault(key, []).append(candidate)
        calls = [
            (key, chunk)
            for key, candidates in groups.items()
            for chunk in _chunks(candidates, self._max_batch)
        ]

        results: list[list[GeneratedImage | None]] = [[None] * len(r.seeds) for r in requests]
        done = 0
        for n, (key, chunk) in enumerate(calls):
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            later = sum(k.steps for k, _ in calls[n + 1 :])
            images, timesteps = self._run_pipeline(key, chunk, done, later, on_step, should_stop)
            done += timesteps
            for candidate, image in zip(chunk, images, strict=True):
                provenance = Provenance(
                    profile=self._profile.name,
                    prompt=candidate.prompt,
                    negative_prompt=candidate.negative_prompt,
                    seed=candidate.seed,
                    steps=key.steps,
                    width=key.width,
                    height=key.height,
                    guidance_scale=key.guidance_scale,
                    style_ref=candidate.style.image_id if candidate.style else None,
                    style_strength=candidate.style.strength if candidate.style else None,
                    style_method=self.style_method if candidate.style else None,
                    genre=key.genre,
                    looks=tuple(look.element for look in candidate.looks),
                    look_images=tuple(look.image_id for look in candidate.looks),
                    look_strength=candidate.look_strength,
                    look_method=candidate.look_method,
                )
                results[candidate.request][candidate.index] = GeneratedImage(
                    _encode_png(image), provenance
                )
        return [[image for image in row if image is not None] for row in results]

    def _run_pipeline(
        self,
        key: SamplingKey,
        chunk: Sequence[_Candidate],
        done: int,
        later: int,
        on_step: StepCallback | None,
        should_stop: StopCheck | None,
    ) -> tuple[list[Image.Image], int]:
        """The chunk's images and how many denoising steps the call took."""

        def step_end(pipe: Any, step: int, timestep: Any, tensors: dict) -> dict:
            if on_step is not None:
                # num_timesteps, not key.steps: higher-order schedulers take more steps.
                on_step(done + step + 1, done + pipe.num_timesteps + later)
            if should_stop is not None and should_stop():
                raise GenerationCancelled()
            return tensors

        # Each candidate's starting latent depends on its seed alone, not on the batch (see
        # engine.seeds); its generator also drives any noise the scheduler adds later.
        unet = self._pipe.unet
        shape = (
            unet.config.in_channels,
            key.height // self._pipe.vae_scale_factor,
            key.width // self._pipe.vae_scale_factor,
        )
        latents = seed_latents([c.seed for c in chunk], shape, self._device, unet.dtype)
        generators = [torch.Generator(self._device).manual_seed(c.seed) for c in chunk]
        styles = [c.style for c in chunk if c.style is not None]
        styling = self._style_unit().applied(styles) if key.styled else nullcontext(self._pipe)
        genre = self._adapters.active("genre", key.genre, self._pipe)
        looking = nullcontext({})
        if key.look_count:
            assert key.look_scale is not None
            guided = key.guidance_scale > 1 and unet.config.time_cond_proj_dim is None
            looks = [c.looks for c in chunk]
            looking = self._look_adapter().applied(looks, key.look_scale, guided)
        with torch.inference_mode(), genre, looking as look_args, styling as pipe:
            output = pipe(
                prompt=[self._adapters.prompt("genre", key.genre, c.prompt) for c in chunk],
                negative_prompt=[c.negative_prompt for c in chunk],
                num_inference_steps=key.steps,
                guidance_scale=key.guidance_scale,
                width=key.width,
                height=key.height,
                latents=latents,
                generator=generators,
                callback_on_step_end=step_end,
                output_type="pil",
                **look_args,
            )
        return list(output.images), pipe.num_timesteps

    def _look_adapter(self) -> LookAdapter:
        if self._looks is None:
            source = self._look_source
            if source is None or self._models_dir is None:
                raise RuntimeError("this runner was built without a look adapter")
            p = self._profile
            same = (source.folder, source.weight) == (p.ip_adapter, p.ip_adapter_weight)
            if same and self._style_branch == "ip-adapter":
                # sd15 until a style branch is trained: one IP-Adapter for styles and looks.
                style = self._style_unit()
                assert isinstance(style, IPAdapterStyle)
                self._looks = LookAdapter.shared(source, self._pipe.unet, style.parts())
            else:
                self._looks = LookAdapter.load(
                    source, self._pipe, self._models_dir, self._clip_image_embeds
                )
        return self._looks

    def _clip_image_embeds(self, images: list[Image.Image]) -> torch.Tensor:
        """The profile CLIP's L2-normalised image features: what trained look adapters read."""
        pixels = torch.stack([self._preprocess(image) for image in images]).to(self._device)
        return F.normalize(self._clip.encode_image(pixels).float(), dim=-1)

    def edit(
        self,
        requests: Sequence[EditRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[GeneratedImage]:
        """One new version per edit request (see engine.editing.Editor)."""
        if self._editor is None:
            styling = (
                (lambda styles: self._style_unit().applied(styles)) if self._style_loader else None
            )
            self._editor = Editor(
                self._pipe,
                self._profile.name,
                self._edit_settings,
                styling,
                self.style_method,
                self._adapters,
            )
        return self._editor.edit(requests, on_step, should_stop)

    def compose(
        self,
        requests: Sequence[CompositionRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list[ComposedImage]:
        """Seed 001's composed pictures (see engine.composition.Composer)."""
        if self._composer is None:
            self._composer = Composer(
                self._pipe,
                self._profile.name,
                *controlnet_loader(self._profile, self._pipe),
                max_batch=self._max_batch,
            )
        return self._composer.compose(requests, on_step, should_stop)

    def _style_unit(self) -> StyleUnit | IPAdapterStyle:
        if self._style is None:
            if self._style_loader is None:
                raise RuntimeError("this runner was built without style support")
            self._style = self._style_loader()
        return self._style

    def screen(self, texts: Sequence[str]) -> list[Screening]:
        """Seed 000's screening of each text, in order (see ScreeningModel)."""
        if self._screening is None:
            raise RuntimeError("this runner was built without a screening model")
        return self._screening.screen(texts)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised CLIP text features, float32, shape (len(texts), embed_dim)."""
        outputs = [np.zeros((0, self._embed_dim), np.float32)]
        with torch.inference_mode():
            for chunk in _chunks(list(texts), self._embed_batch):
                tokens = self._tokenizer(list(chunk)).to(self._device)
                outputs.append(self._normalised(self._clip.encode_text(tokens)))
        return np.concatenate(outputs)

    def embed_images(self, pngs: Sequence[bytes]) -> np.ndarray:
        """L2-normalised CLIP image features of encoded images (any format PIL reads)."""
        outputs = [np.zeros((0, self._embed_dim), np.float32)]
        with torch.inference_mode():
            for start in range(0, len(pngs), self._embed_batch):
                chunk = pngs[start : start + self._embed_batch]
                decoded = [self._decode(data, start + i) for i, data in enumerate(chunk)]
                pixels = torch.stack([self._preprocess(image) for image in decoded])
                pixels = pixels.to(self._device)
                outputs.append(self._normalised(self._clip.encode_image(pixels)))
        return np.concatenate(outputs)

    def embed_regions(self, items: Sequence[tuple[bytes, tuple[Box, ...]]]) -> list[np.ndarray]:
        """Per (encoded image, boxes): the L2-normalised CLIP features of each box's crop,
        shape (len(boxes), embed_dim); boxes are (x0, y0, x1, y1) shares of the picture."""
        crops: list[Image.Image] = []
        for position, (data, boxes) in enumerate(items):
            image = self._decode(data, position)
            width, height = image.size
            for x0, y0, x1, y1 in boxes:
                box = (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))
                crops.append(image.crop(box))
        outputs = [np.zeros((0, self._embed_dim), np.float32)]
        with torch.inference_mode():
            for start in range(0, len(crops), self._embed_batch):
                chunk = crops[start : start + self._embed_batch]
                pixels = torch.stack([self._preprocess(crop) for crop in chunk]).to(self._device)
                outputs.append(self._normalised(self._clip.encode_image(pixels)))
        features = np.concatenate(outputs)
        found, offset = [], 0
        for _, boxes in items:
            found.append(features[offset : offset + len(boxes)])
            offset += len(boxes)
        return found

    @staticmethod
    def _decode(data: bytes, position: int) -> Image.Image:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return image.convert("RGB")
        except (OSError, ValueError) as error:
            raise ValueError(f"image {position} could not be decoded: {error}") from error

    @staticmethod
    def _normalised(features: torch.Tensor) -> np.ndarray:
        return F.normalize(features.float(), dim=-1).cpu().numpy().astype(np.float32)

    def adapters(self, _items: Sequence[Any] = ()) -> list[AdapterInfo]:
        """The trained adapters for this profile, read from disk now."""
        return self._adapters.available()

    @property
    def adapter_shelf(self) -> AdapterShelf:
        return self._adapters

    @property
    def restorer_state(self) -> RestorerState:
        """What the next `restore` runs: the trained restorer, img2img, or the untrained one."""
        state = self._restorer.state if self._restorer is not None else "untrained"
        if state == "untrained" and self._profile.enhance_strength is not None:
            return "img2img"
        return state

    def restore(self, pngs: Sequence[bytes]) -> list[bytes]:
        """Seed 002's restorer on each picture (see engine.restorer); until it is trained,
        profiles with an `enhance_strength` refine with img2img instead."""
        if self.restorer_state == "img2img":
            return [self._refine(data, position) for position, data in enumerate(pngs)]
        if self._restorer is None:
            raise RuntimeError("this runner was built without a restorer")
        return self._restorer.restore(pngs)

    def _refine(self, data: bytes, position: int) -> bytes:
        """img2img at the profile's low strength from the picture itself, no prompt: the
        generator redraws fine detail and keeps the composition."""
        strength = self._profile.enhance_strength
        assert strength is not None
        if self._refiner is None:
            self._refiner = StableDiffusionImg2ImgPipeline(
                **self._pipe.components, requires_safety_checker=False
            )
            self._refiner.set_progress_bar_config(disable=True)
        image = self._decode(data, position)
        # The VAE works on multiples of 8 pixels; the refined picture keeps the parent's size.
        size = image.size
        work = image.resize((max(8, size[0] // 8 * 8), max(8, size[1] // 8 * 8)))
        with torch.inference_mode():
            output = self._refiner(
                prompt="",
                image=work,
                strength=strength,
                num_inference_steps=global_steps(self._profile.steps, strength),
                guidance_scale=1.0,  # no prompt to guide toward
                generator=torch.Generator(self._device).manual_seed(0),
                output_type="pil",
            )
        refined = output.images[0].convert("RGB")
        return _encode_png(refined if refined.size == size else refined.resize(size))

    def close(self) -> None:
        """Drop the models so their memory can be freed."""
        self._pipe = None  # type: ignore[assignment]
        self._clip = None  # type: ignore[assignment]
        self._style = self._style_loader = self._screening = None  # type: ignore[assignment]
        self._editor = None
        self._composer = None
        self._restorer = None
        if self._device.type == "cuda":
            torch.cuda.empty_cache()


def controlnet_loader(
    profile: ModelProfile, pipe: StableDiffusionPipeline
) -> tuple[Callable[[], Any] | None, str | None]:
    """The profile's ControlNet for edges, loaded on first use (None: none is named)."""
    name = profile.controlnet
    if name is None:
        return None, None

    def load() -> Any:
        from diffusers import ControlNetModel

        logger.info("loading the ControlNet for edges %s", name)
        return ControlNetModel.from_pretrained(name, torch_dtype=pipe.unet.dtype)

    return load, name
