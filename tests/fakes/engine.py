"""A scripted engine for core tests: chosen similarities in, predictable choices out.

The real tiny engine runs in the end-to-end tests; this one exists so a test can say
"candidate 2 matches best" and assert exactly which image the loop kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import asdict, replace

import numpy as np
from PIL import Image, ImageOps
from PIL.PngImagePlugin import PngInfo

from core.engine import (
    AdapterInfo,
    CancelToken,
    ComposedImage,
    CompositionRequest,
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    ProgressCallback,
    Provenance,
    Screening,
    StepProgress,
)
from engine.composition_pixels import SKETCH_METHOD, edge_sketch, merge, open_picture, png_bytes
from engine.tone import apply_tone

DIM = 8
# Where the scripted composition "finds" the initial prompt's elements, by their order.
FAKE_PLACES = ((0.0, 0.5, 0.5, 1.0), (0.5, 0.5, 1.0, 1.0), (0.25, 0.0, 0.75, 0.5))


def _png(prompt_index: int, candidate: int, seed: int) -> bytes:
    # Mid-range levels: a near-black picture (a seed ending in 0x00..0x02 once gave one) can't
    # be drawn visibly darker after 8-bit rounding, which made "darker" edits flaky.
    level = [48 + value % 192 for value in (prompt_index, candidate, seed)]
    image = Image.new("RGB", (8, 8), (level[0], level[1], level[2]))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _uploaded(png: bytes) -> np.ndarray:
    axis = int.from_bytes(hashlib.sha256(png).digest()[:4], "big") % DIM
    return np.eye(DIM, dtype=np.float32)[axis]


class ScriptedEngine:
    """`similarities[prompt]` lists each candidate's cosine to its prompt (default: 0.1 * j)."""

    profile_name = "scripted"
    style_branch = "trained"  # style references reach the (scripted) pictures
    look_method = "scripted looks"  # what provenance says carried the cast's looks

    def __init__(self, similarities: dict[str, list[float]] | None = None, steps: int = 3):
        self.similarities = similarities or {}
        self.steps = steps
        self.generate_calls: list[list[GenerationRequest]] = []
        self.fail_next: Exception | None = None
        self.failures: list[Exception] = []  # raised by the next calls, one each
        # Exact features, for tests of the story library: by text, and by (prompt, candidate).
        self.text_features: dict[str, np.ndarray] = {}
        self.image_features: dict[tuple[str, int], np.ndarray] = {}
        # Region features for the cast, by (prompt, candidate): one row per box asked for.
        self.region_features: dict[tuple[str, int], np.ndarray] = {}
        self._regions: dict[bytes, np.ndarray] = {}
        self.screenings: dict[str, Screening] = {}
        self.screen_calls: list[list[str]] = []
        self.gate: asyncio.Event | None = None  # when set, generate waits for it
        self.generating = asyncio.Event()  # set once a generate call has begun
        self.edits: list[EditRequest] = []  # every edit request, in the order received
        self.compositions: list[CompositionRequest] = []  # every composition request
        self._features: dict[bytes, np.ndarray] = {}
        self.restore_calls: list[list[bytes]] = []
        self.restore_error: Exception | None = None  # raised by the next restore call
        self.restorer_state = "trained"
        self.trained_adapters: list[AdapterInfo] = []  # what `adapters` lists

    async def generate(
        self,
        requests: Sequence[GenerationRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[list[GeneratedImage]]:
        self.generate_calls.append(list(requests))
        self.generating.set()
        if self.gate is not None:
            await self.gate.wait()
        await self._denoise(progress, cancel)
        results = []
        for index, request in enumerate(requests):
            scripted = self.similarities.get(request.prompt)
            looked = request.looks if request.look_strength > 0 else ()
            group = []
            for candidate, seed in enumerate(request.seeds):
                png = _png(index, candidate, seed)
                similarity = scripted[candidate] if scripted else 0.1 * candidate
                feature = self.image_features.get((request.prompt, candidate))
                if feature is None:
                    feature = np.array(
                        [similarity, np.sqrt(max(0.0, 1 - similarity**2))] + [0.0] * (DIM - 2),
                        dtype=np.float32,
                    )
                self._features[png] = np.asarray(feature, dtype=np.float32)
                regions = self.region_features.get((request.prompt, candidate))
                if regions is not None:
                    self._regions[png] = np.asarray(regions, dtype=np.float32)
                provenance = Provenance(
                    self.profile_name,
                    request.prompt,
                    request.negative_prompt,
                    seed,
                    self.steps,
                    8,
                    8,
                    0.0,
                    style_ref=request.style.image_id if request.style else None,
                    style_strength=request.style.strength if request.style else None,
                    genre=request.genre,
                    looks=tuple(look.element for look in looked),
                    look_images=tuple(look.image_id for look in looked),
                    look_strength=request.look_strength if looked else None,
                    look_method=self.look_method if looked else None,
                )
                group.append(GeneratedImage(png, provenance))
            results.append(group)
        return results

    async def _denoise(self, progress: ProgressCallback | None, cancel: CancelToken | None) -> None:
        """What a drawing call goes through: scripted failures, then steps that report
        progress and stop on cancel."""
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        if self.failures:
            raise self.failures.pop(0)
        for step in range(1, self.steps + 1):
            if cancel is not None and cancel.cancelled:
                raise GenerationCancelled
            if progress is not None:
                progress(StepProgress(step, self.steps))
            await asyncio.sleep(0)

    async def edit(
        self,
        requests: Sequence[EditRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[GeneratedImage]:
        """The parent picture with the request's tone applied (as the real engine's last step
        does), so "I prefer darker" is darker here too; provenance as the real engine's."""
        self.edits.extend(requests)
        await self._denoise(progress, cancel)
        results = []
        for number, request in enumerate(requests):
            with Image.open(io.BytesIO(request.image)) as opened:
                parent = opened.convert("RGB")
            picture = apply_tone(parent, parent, request.tone) if request.tone else parent.copy()
            # A text chunk keeps every version's bytes distinct without touching its pixels.
            info = PngInfo()
            info.add_text("inkwell-edit", f"{len(self.edits)}-{number}")  # edits so far, index
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG", pnginfo=info)
            png = buffer.getvalue()
            parent_feature = self._features.get(request.image)
            self._features[png] = (
                parent_feature if parent_feature is not None else np.eye(DIM, dtype=np.float32)[0]
            )
            edit = {"kind": request.kind, "strength": request.strength}
            if request.tone is not None:
                edit["tone"] = asdict(request.tone)
            styled = request.kind == "global" and request.style is not None
            provenance = replace(
                request.provenance,
                profile=self.profile_name,
                prompt=request.prompt,
                style_ref=request.style.image_id if styled else request.provenance.style_ref,
                style_strength=request.style.strength
                if styled
                else request.provenance.style_strength,
                edit=edit,
            )
            results.append(GeneratedImage(png, provenance))
        return results

    async def compose(
        self,
        requests: Sequence[CompositionRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[ComposedImage]:
        """Seed 001's stages without a model: each element the initial prompt names is "found"
        in a fixed place by its order, the background is the initial picture with those places
        filled with its mean colour, an element drawn alone is a square of a colour fixed by
        its prompt; the merge and the edge sketch are the engine's own (pixels only)."""
        self.compositions.extend(requests)
        await self._denoise(progress, cancel)
        return [self._composed(number, request) for number, request in enumerate(requests)]

    def _composed(self, number: int, request: CompositionRequest) -> ComposedImage:
        p = request.provenance
        initial = open_picture(request.initial, (p.width, p.height), "initial picture")
        boxes = [
            element.box
            if element.box is not None
            else FAKE_PLACES[n % len(FAKE_PLACES)]
            if element.word in p.prompt
            else None
            for n, element in enumerate(request.foreground)
        ]
        if request.background is not None:
            background = open_picture(request.background, initial.size, "background")
            how = "reused, not redrawn"
        elif request.redraw_background:
            background = ImageOps.invert(initial)
            how = "redrawn by img2img from the previous background"
        else:
            background = initial.copy()
            mean = tuple(int(v) for v in np.asarray(initial).reshape(-1, 3).mean(0))
            for box in boxes:
                if box is not None:
                    x0, y0, x1, y1 = box
                    w, h = background.size
                    background.paste(mean, (int(x0 * w), int(y0 * h), int(x1 * w), int(y1 * h)))
            how = "the foreground inpainted away from the initial picture"
        cutouts = []
        for element in request.foreground:
            if element.cutout is not None:
                cutouts.append(open_picture(element.cutout, (0, 0), "cutout", mode="RGBA"))
                continue
            level = hashlib.sha256(element.prompt.encode()).digest()[:3]
            cutouts.append(Image.new("RGBA", (4, 4), (*level, 255)))
        merged = merge(background, list(zip(cutouts, boxes, strict=True)))
        sketch = edge_sketch(merged, request.edge_threshold)
        prompt = f"{p.prompt}, {request.style}" if request.style else p.prompt
        info = PngInfo()
        info.add_text("inkwell-composed", f"{len(self.compositions)}-{number}")
        buffer = io.BytesIO()
        merged.save(buffer, format="PNG", pnginfo=info)
        png = buffer.getvalue()
        self._features[png] = self._features.get(request.initial, np.eye(DIM, dtype=np.float32)[0])
        composition = {
            "background": {"how": how, "prompt": request.background_prompt},
            "foreground": [
                {"word": e.word, "drawn": "reused" if e.cutout else "alone", "box": box}
                for e, box in zip(request.foreground, boxes, strict=True)
            ],
            "sketch": SKETCH_METHOD,
            "render": {"method": "scripted: the merge as is", "strength": request.render_strength},
            "style": request.style,
        }
        provenance = replace(p, prompt=prompt, composition=composition)
        return ComposedImage(
            GeneratedImage(png, provenance),
            background=png_bytes(background),
            cutouts=tuple(png_bytes(cutout) for cutout in cutouts),
            boxes=tuple(boxes),
            merged=png_bytes(merged),
            sketch=png_bytes(sketch),
        )

    async def screen(self, texts: Sequence[str]) -> list[Screening]:
        """Scripted in `screenings` by text; anything else is drawable and verb-excluded."""
        self.screen_calls.append(list(texts))
        return [self.screenings.get(text, Screening(2, False)) for text in texts]

    async def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        features = np.zeros((len(texts), DIM), dtype=np.float32)
        features[:, 0] = 1.0
        for row, text in enumerate(texts):
            if text in self.text_features:
                features[row] = self.text_features[text]
        return features

    async def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        """The feature each drawn picture was given; a picture it never drew (an upload) gets
        a unit vector picked by its bytes."""
        return np.stack([self._features.get(png, _uploaded(png)) for png in images])

    async def embed_regions(self, images: Sequence[bytes], boxes: Sequence) -> np.ndarray:
        """Scripted rows where given; otherwise the picture's feature nudged a little toward
        a different axis per box, so every region of a picture has its own feature."""
        found = []
        for png in images:
            scripted = self._regions.get(png)
            if scripted is not None:
                found.append(scripted[: len(boxes)])
                continue
            rows = np.repeat(self._features[png][None], len(boxes), axis=0)
            for number in range(len(boxes)):
                rows[number, (number + 2) % DIM] += 0.05 * (1 + number // DIM)
            found.append(rows / np.linalg.norm(rows, axis=1, keepdims=True))
        return np.stack(found).astype(np.float32)

    async def restore(self, images: Sequence[bytes]) -> list[bytes]:
        """Deterministic and visibly different: each picture's colours inverted (no model)."""
        self.restore_calls.append(list(images))
        if self.restore_error is not None:
            error, self.restore_error = self.restore_error, None
            raise error
        restored = []
        for data in images:
            with Image.open(io.BytesIO(data)) as image:
                changed = ImageOps.invert(image.convert("RGB"))
            buffer = io.BytesIO()
            changed.save(buffer, format="PNG")
            restored.append(buffer.getvalue())
        return restored

    async def adapters(self) -> list[AdapterInfo]:
        return list(self.trained_adapters)

    async def close(self) -> None:
        return None


def luminance(png: bytes) -> float:
    """A picture's mean luma in 0..255, for tests of edits such as "I prefer darker"."""
    from engine.tone import mean_luminance

    with Image.open(io.BytesIO(png)) as image:
        return mean_luminance(image)
