"""Composed pictures for the story: requests from the text and the cast, stages kept, edits."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from core.compose.reading import SceneReading, bare, head_word, layer_of, read_scene
from core.compose.settings import COMPOSED, CompositionSettings
from core.compose.tables import Tables, load_tables
from core.edit.understanding import EditIntent
from core.edit.vocabulary import DEFAULT_PLACE, PLACES
from core.engine import (
    CancelToken,
    ComposedImage,
    CompositionRequest,
    Engine,
    ForegroundElement,
    GeneratedImage,
    ProgressCallback,
    Provenance,
)
from storage.base import IllustrationRecord, Storage

log = logging.getLogger("inkwell.compose")

CUTOUTS_KEY = "composed_cutouts"  # the channel setting: {element name: cutout image id}
# The edits a composed picture takes stage by stage; the others edit its pixels (seed 001's
# img2img and inpainting, seed 003), as for a direct picture.
STAGED_EDITS = frozenset({"add", "remove", "move", "global", "style"})
_PROVENANCE_FIELDS = set(Provenance.__dataclass_fields__)


@dataclass(frozen=True)
class Cast:
    """What the story's cast gives a composition: layers, looks, descriptions, cutouts."""

    kinds: dict[str, str]
    references: dict[str, str]  # name -> image id of its latest look crop
    descriptions: dict[str, str]
    cutouts: dict[str, str]  # name -> image id of its earlier drawing alone

    @classmethod
    async def load(cls, storage: Storage, channel_key: str) -> Cast:
        elements = await storage.elements.list(channel_key)
        kinds, references, descriptions = {}, {}, {}
        for element in elements:
            for name in (element.name, *element.aliases):
                kinds[name] = element.kind
                if element.references:
                    references[name] = element.references[-1].image_id
                if element.description:
                    descriptions[name] = element.description
        record = await storage.channels.get(channel_key)
        raw = record.settings.get(CUTOUTS_KEY) if record is not None else None
        raw = raw if isinstance(raw, dict) else {}
        cutouts = {name: image_id for name, image_id in raw.items() if isinstance(image_id, str)}
        return cls(kinds, references, descriptions, cutouts)

    def find(self, table: dict[str, str], phrase: str) -> str | None:
        return table.get(phrase) or table.get(head_word(phrase))


@dataclass(frozen=True)
class Composed:
    """One composed picture, ready to store: its PNG and its provenance with every stage;
    `stage_bytes` is what its stages' pictures weigh (counted in the story's budget)."""

    png: bytes
    provenance: dict[str, Any]
    stage_bytes: int = 0

    @property
    def image_bytes(self) -> int:
        return len(self.png) + self.stage_bytes


def stage_image_ids(provenance: dict[str, Any]) -> list[str]:
    """The stored pictures of a composed picture's stages (none for a direct picture)."""
    stages = (provenance.get("composition") or {}).get("stages") or {}
    ids = [stages[name] for name in ("initial", "background", "merged", "sketch") if name in stages]
    return [*ids, *(stages.get("cutouts") or [])]


class Composing:
    """Seed 001 for the loop and the edits: reads texts, asks the engine, keeps the stages."""

    def __init__(self, engine: Engine, storage: Storage, settings: CompositionSettings) -> None:
        self._engine = engine
        self._storage = storage
        self._settings = settings

    @property
    def tables(self) -> Tables:
        return load_tables(self._settings.tables)

    def read(self, text: str, cast: Cast) -> SceneReading:
        return read_scene(text, self.tables, cast.kinds)

    def initial_prompt(self, prompt: str, reading: SceneReading) -> str:
        """The first drawing's prompt: the sentence's, plus what its topics and emotion add."""
        added = [w for w in reading.added_words if w not in prompt]
        return ", ".join([prompt, *added])

    async def compose(
        self,
        channel_key: str,
        texts: Sequence[str],
        initials: Sequence[GeneratedImage],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[Composed]:
        """Each chosen first drawing composed (one engine call for all), its stages stored."""
        cast = await Cast.load(self._storage, channel_key)
        readings = [self.read(text, cast) for text in texts]
        requests = []
        for reading, initial in zip(readings, initials, strict=True):
            foreground = []
            for phrase in reading.foreground[: self._settings.max_foreground]:
                foreground.append(await self._element(phrase, cast))
            requests.append(
                self._request(
                    initial.png,
                    initial.provenance,
                    tuple(foreground),
                    reading.background_prompt(),
                    reading.style,
                )
            )
        results = await self._engine.compose(requests, progress, cancel)
        composed = []
        for reading, initial, request, result in zip(
            readings, initials, requests, results, strict=True
        ):
            record = {"reading": reading.record(), "initial_prompt": initial.provenance.prompt}
            composed.append(await self._kept(channel_key, initial.png, request, result, record))
        return composed

    async def _element(self, phrase: str, cast: Cast) -> ForegroundElement:
        description = cast.find(cast.descriptions, phrase)
        prompt = f"{phrase}, {description}" if description else phrase
        cutout_id = cast.find(cast.cutouts, phrase) if self._settings.reuse_cutouts else None
        cutout = await self._storage.images.get(cutout_id) if cutout_id else None
        reference_id = cast.find(cast.references, phrase)
        reference = await self._storage.images.get(reference_id) if reference_id else None
        return ForegroundElement(head_word(phrase), prompt, cutout=cutout, reference=reference)

    def _request(
        self,
        initial: bytes,
        provenance: Provenance,
        foreground: tuple[ForegroundElement, ...],
        background_prompt: str,
        style: str,
        **changes: Any,
    ) -> CompositionRequest:
        s = self._settings
        return CompositionRequest(
            initial=initial,
            provenance=provenance,
            foreground=foreground,
            background_prompt=background_prompt,
            style=style,
            cutout=s.cutout,
            mask_threshold=s.mask_threshold,
            element_strength=s.element_strength,
            background_strength=s.background_strength,
            render_strength=s.render_strength,
            edge_threshold=s.edge_threshold,
            **changes,
        )

    async def _kept(
        self,
        channel_key: str,
        initial: bytes,
        request: CompositionRequest,
        result: ComposedImage,
        record: dict[str, Any],
    ) -> Composed:
        """Stores every stage's picture; new cutouts become the cast's for later pictures."""
        images = self._storage.images
        pictures = [initial, result.background, result.merged, result.sketch, *result.cutouts]
        stages = {
            "initial": await images.put(initial),
            "background": await images.put(result.background),
            "merged": await images.put(result.merged),
            "sketch": await images.put(result.sketch),
            "cutouts": [await images.put(cutout) for cutout in result.cutouts],
        }
        composition = {
            **(result.picture.provenance.composition or {}),
            **record,
            "stages": stages,
            "elements": [
                {"word": e.word, "prompt": e.prompt, "box": list(box) if box else None}
                for e, box in zip(request.foreground, result.boxes, strict=True)
            ],
            "background_prompt": request.background_prompt,
        }
        if self._settings.reuse_cutouts:
            await self._remember_cutouts(channel_key, request, result)
        provenance = {
            **result.picture.provenance.to_dict(),
            "composition": composition,
            "drawing_mode": COMPOSED,
        }
        return Composed(result.picture.png, provenance, sum(len(p) for p in pictures))

    async def _remember_cutouts(
        self,
        channel_key: str,
        request: CompositionRequest,
        result: ComposedImage,
    ) -> None:
        """The story keeps its own copy of each new element's cutout, so removing the
        picture it was drawn for (the byte budget) leaves it to later pictures."""
        record = await self._storage.channels.get(channel_key)
        if record is None:
            return
        known = dict(record.settings.get(CUTOUTS_KEY) or {})
        added = {}
        for element, box, cutout in zip(
            request.foreground, result.boxes, result.cutouts, strict=True
        ):
            if box is not None and element.cutout is None and element.word not in known:
                added[element.word] = await self._storage.images.put(cutout)
        if added:
            await self._storage.channels.update_settings(channel_key, {CUTOUTS_KEY: known | added})

    # ------------------------------------------------------------ additional input (edits)

    async def edit(
        self,
        target: IllustrationRecord,
        intent: EditIntent,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Composed | None:
        """Seed 001's additional input on a composed picture, re-entering at the stage it
        changes: a new foreground element is drawn and merged (the background reused); a new
        background element redraws the background and merges the foreground again; a style
        preference renders again. None: the stages are gone (the picture is edited as is)."""
        composition = target.provenance.get("composition") or {}
        stages = composition.get("stages") or {}
        images = self._storage.images
        background = await images.get(stages.get("background", "")) if stages else None
        initial = await images.get(stages.get("initial", "")) if stages else None
        if background is None or initial is None:
            return None
        elements = list(composition.get("elements") or [])
        cutout_ids = list(stages.get("cutouts") or [])
        foreground: list[ForegroundElement] = []
        for element, cutout_id in zip(elements, cutout_ids, strict=False):
            if element.get("box") is None:
                continue  # not found in the first drawing: it was never merged
            cutout = await images.get(cutout_id)
            if cutout is None:
                return None
            box = tuple(element["box"])
            foreground.append(
                ForegroundElement(element["word"], element["prompt"], cutout=cutout, box=box)
            )
        parent = Provenance.from_dict(
            {k: v for k, v in target.provenance.items() if k in _PROVENANCE_FIELDS}
        )
        initial_prompt = composition.get("initial_prompt", parent.prompt)
        provenance = replace(parent, prompt=initial_prompt, composition=None, edit=None)
        background_prompt = composition.get("background_prompt", "")
        style = composition.get("style", "")
        changes: dict[str, Any] = {"background": background}
        cast = await Cast.load(self._storage, target.channel_key)
        kind, what = intent.kind, bare(intent.element.strip().lower())
        if kind == "add" and what:
            if layer_of(what, self.tables, cast.kinds) == "background":
                background_prompt = f"{background_prompt}, {what}"
                changes = {"background": None, "redraw_background": True}
                initial = background
            else:
                added = await self._element(what, cast)
                region = intent.region or PLACES.get(intent.place, DEFAULT_PLACE)
                foreground.append(replace(added, box=tuple(region)))
        elif kind in ("remove", "move") and what:
            word = head_word(what)
            found = [e for e in foreground if e.word == word]
            if not found:
                if kind == "move" or layer_of(what, self.tables, cast.kinds) == "foreground":
                    return None  # not one of its drawn elements: edit the pixels instead
                background_prompt = ", ".join(
                    p for p in background_prompt.split(", ") if word not in p
                )
                changes = {"background": None, "redraw_background": True}
                initial = background
            elif kind == "remove":
                foreground = [e for e in foreground if e.word != word]
            else:
                region = PLACES.get(intent.place, DEFAULT_PLACE)
                foreground = [replace(e, box=region) if e.word == word else e for e in foreground]
        elif kind in ("global", "style"):
            words = intent.words or intent.style
            style = ", ".join(part for part in (style, words) if part)
        else:
            return None
        request = self._request(
            initial, provenance, tuple(foreground), background_prompt, style, **changes
        )
        [result] = await self._engine.compose([request], progress, cancel)
        record = {
            "reading": composition.get("reading", {}),
            "initial_prompt": initial_prompt,
            "additional_input": f"{kind}: {what or intent.words or intent.style}",
        }
        if changes.get("redraw_background"):
            # The first drawing stays the reference the next edit starts from.
            initial = await images.get(stages["initial"]) or initial
        return await self._kept(target.channel_key, initial, request, result, record)
