"""Picks each sentence's illustration with the story's element library, then updates it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from core.engine import Box, Engine, GeneratedImage
from core.story.cast_settings import CastSettings
from core.story.consistency import (
    ELEMENT_KEEP,
    HISTORY_KEEP,
    LibraryElement,
    Selection,
    cosines,
    element_kind,
    ema,
    recognised,
    select,
)
from core.story.describing import read_description, reading_texts
from core.story.elements import head_noun, noun_elements
from core.story.regions import assign, crop_png, grid_boxes
from storage.base import ElementLook, ElementRecord, HistoryRecord, Storage

# Zero-shot prompts for an element's type; CLIP compares an element's name with each.
TYPE_PROMPTS = {
    "character": "a person or an animal, a character in a story",
    "environment": "a place, a landscape or a room, the setting of a scene",
    "prop": "an object, a thing someone holds, wears or uses",
}
# Reference crops an element keeps from the pictures it was drawn in (its first ones).
DRAWN_REFERENCES = 3


@dataclass(frozen=True)
class Crop:
    """Where an element was seen in a chosen picture, to be cut out as a reference."""

    png: bytes = field(repr=False)
    box: Box
    feature: np.ndarray = field(repr=False)
    illustration_id: str


@dataclass
class StoryMemory:
    """A story's library and history as loaded, with the changes made while choosing."""

    elements: dict[str, ElementRecord]
    history: HistoryRecord | None
    changed: set[str] = field(default_factory=set)
    crops: dict[str, Crop] = field(default_factory=dict)
    first_phrases: dict[str, str] = field(default_factory=dict)  # new entries: as first named

    async def save(self, storage: Storage) -> None:
        for name in sorted(self.changed):
            element = self.elements[name]
            crop = self.crops.get(name)
            drawn = [r for r in element.references if r.illustration_id is not None]
            if crop is not None and len(drawn) < DRAWN_REFERENCES:
                image_id = await storage.images.put(crop_png(crop.png, crop.box))
                look = ElementLook(image_id, crop.feature, crop.illustration_id)
                element = replace(element, references=(*element.references, look))
            await storage.elements.put(element)
        if self.history is not None:
            await storage.history.put(self.history)


@dataclass(frozen=True)
class Chosen:
    selection: Selection
    elements: tuple[str, ...]  # the library names this illustration was seen to contain
    # Recurring elements with a look: how alike the pick's region is to it (the drift check).
    looks: tuple[tuple[str, float], ...] = ()


class ConsistentChooser:
    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        thr_1: float,
        presence_threshold: float,
        cast: CastSettings | None = None,
        text_term: str = "nouns",
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._thr_1 = thr_1
        self._presence = presence_threshold
        self._cast = cast or CastSettings()
        self._with_sentence = text_term == "sentence+nouns"

    async def choose(
        self,
        channel_key: str,
        sentences: list[str],
        candidates: list[list[GeneratedImage]],
        illustration_ids: list[str],
        now: datetime,
        image_features: np.ndarray | None = None,
        forced: dict[int, int] | None = None,
        pronouns: dict[str, str] | None = None,
    ) -> tuple[list[Chosen], np.ndarray, StoryMemory]:
        """One embedding call for all candidates and one for all texts, then prompt by
        prompt in story order, each choice seeing the library the previous one left.

        `image_features` may bring the candidates' features already computed (rows in
        candidate order); `forced` fixes the pick of some prompts (prompt index -> candidate
        index), as for clauses illustrated by their similar picture. Forced picks still
        update the library.
        """
        phrases = [noun_elements(sentence) for sentence in sentences]
        unique = list(dict.fromkeys(p for found in phrases for p in found))
        texts = [*sentences, *unique, *TYPE_PROMPTS.values()]
        text_features = await self._engine.embed_texts(texts)
        pngs = [image.png for group in candidates for image in group]
        if image_features is None:
            image_features = await self._engine.embed_images(pngs)
        boxes = grid_boxes(self._cast.grid, self._cast.region_size)
        region_features = None
        if self._cast.mode == "looks" and unique:
            region_features = await self._engine.embed_regions(pngs, boxes)
        phrase_feature = {p: text_features[len(sentences) + i] for i, p in enumerate(unique)}
        prototypes = dict(zip(TYPE_PROMPTS, text_features[-len(TYPE_PROMPTS) :], strict=True))
        memory = StoryMemory(
            {e.name: e for e in await self._storage.elements.list(channel_key)},
            await self._storage.history.get(channel_key),
        )

        chosen: list[Chosen] = []
        offset = 0
        for index, group in enumerate(candidates):
            rows = image_features[offset : offset + len(group)]
            found = phrases[index]
            names = np.stack([phrase_feature[p] for p in found]) if found else None
            # Ours: each candidate's own region for each element the sentence names.
            places = regions = None
            if region_features is not None and names is not None:
                grids = region_features[offset : offset + len(group)]
                places = [assign(grid, names) for grid in grids]
                regions = np.stack(
                    [grid[place] for grid, place in zip(grids, places, strict=True)]
                )  # (candidates, found, dim)
            columns = self._named(memory, found)
            named = [element for element, _ in columns]
            selection = select(
                rows,
                names if names is not None else text_features[index][None],
                named,
                memory.history.feature if memory.history else None,
                self._thr_1,
                shown=recognised(rows, names[[k for _, k in columns]], self._presence)
                if columns
                else None,
                regions=regions[:, [k for _, k in columns]]
                if regions is not None and columns
                else None,
                sentence=text_features[index] if self._with_sentence and found else None,
            )
            if forced and index in forced:
                selection = Selection(
                    forced[index],
                    selection.image_text,
                    selection.image_text,
                    selection.retained,
                    "the clause's similar picture",
                    selection.element_scores,
                )
            picture = rows[selection.index]
            present = [
                p for p in found if cosines(picture[None], phrase_feature[p])[0] >= self._presence
            ]
            looks: list[tuple[str, float]] = []
            for phrase in present:
                crop = None
                if regions is not None and places is not None:
                    k = found.index(phrase)
                    known = memory.elements.get(head_noun(phrase))
                    if known is not None and known.look is not None:
                        alike = float(cosines(regions[selection.index, k][None], known.look)[0])
                        looks.append((known.name, alike))
                    crop = Crop(
                        group[selection.index].png,
                        boxes[places[selection.index][k]],
                        regions[selection.index, k],
                        illustration_ids[index],
                    )
                self._remember(
                    memory,
                    channel_key,
                    phrase,
                    phrase_feature[phrase],
                    crop,
                    prototypes,
                    illustration_ids[index],
                    now,
                )
            self._remember_history(memory, channel_key, picture, now)
            chosen.append(Chosen(selection, tuple(head_noun(p) for p in present), tuple(looks)))
            offset += len(group)
        await self._describe(memory)
        for name, pronoun in (pronouns or {}).items():
            element = memory.elements.get(name)
            if element is not None and not element.pronoun:
                memory.elements[name] = replace(element, pronoun=pronoun)
                memory.changed.add(name)
        return chosen, image_features, memory

    async def _describe(self, memory: StoryMemory) -> None:
        """Descriptions of the entries first seen now: the writers' words, then the crop's."""
        new = [memory.elements[name] for name in sorted(memory.first_phrases)]
        looked = [e for e in new if e.look is not None]
        texts = [text for e in looked for text in reading_texts(e.name)]
        features = await self._engine.embed_texts(texts) if texts else None
        per = len(reading_texts("x"))
        for element in new:
            phrase = memory.first_phrases[element.name]
            rows = None
            if element.look is not None and features is not None:
                at = looked.index(element) * per
                rows = features[at : at + per]
            description = read_description(phrase, element.look, rows)
            memory.elements[element.name] = replace(element, description=description)

    def _named(self, memory: StoryMemory, found: list[str]) -> list[tuple[LibraryElement, int]]:
        """The library elements a sentence names, each once, with its phrase's column."""
        columns: list[tuple[LibraryElement, int]] = []
        for column, phrase in enumerate(found):
            element = memory.elements.get(head_noun(phrase))
            if element is None or any(e.name == element.name for e, _ in columns):
                continue
            look = element.look if self._cast.mode == "looks" else None
            columns.append(
                (LibraryElement(element.name, element.kind, element.feature, look), column)
            )
        return columns

    @staticmethod
    def _remember(
        memory: StoryMemory,
        channel_key: str,
        phrase: str,
        name_feature: np.ndarray,
        crop: Crop | None,
        prototypes: dict[str, np.ndarray],
        illustration_id: str,
        now: datetime,
    ) -> None:
        """Claim 15: the element's feature (the noun's text feature, the seed's) and its look
        (its region's image feature, ours) move 0.4 toward what this picture shows."""
        name = head_noun(phrase)
        known = memory.elements.get(name)
        region = None if crop is None else np.asarray(crop.feature, np.float32)
        if known is None:
            memory.elements[name] = ElementRecord(
                channel_key=channel_key,
                name=name,
                kind=element_kind(name_feature, prototypes),
                feature=np.asarray(name_feature, np.float32),
                count=1,
                first_seen=now,
                last_seen=now,
                aliases=(phrase,) if phrase != name else (),
                first_illustration_id=illustration_id,
                look=region,
            )
            memory.first_phrases[name] = phrase
        else:
            aliases = (
                known.aliases if phrase in (name, *known.aliases) else (*known.aliases, phrase)
            )
            feature = ema(known.feature, name_feature, ELEMENT_KEEP)
            look = known.look
            # A pinned element keeps the look the writers chose.
            if region is not None and not known.pinned:
                look = region if look is None else ema(look, region, ELEMENT_KEEP)
            memory.elements[name] = replace(
                known,
                feature=feature,
                look=look,
                count=known.count + 1,
                last_seen=now,
                aliases=aliases,
            )
        if crop is not None:
            memory.crops.setdefault(name, crop)
        memory.changed.add(name)

    @staticmethod
    def _remember_history(
        memory: StoryMemory, channel_key: str, picture: np.ndarray, now: datetime
    ) -> None:
        if memory.history is None:
            memory.history = HistoryRecord(channel_key, np.asarray(picture, np.float32), 1, now)
        else:
            memory.history = replace(
                memory.history,
                feature=ema(memory.history.feature, picture, HISTORY_KEEP),
                count=memory.history.count + 1,
                updated_at=now,
            )
