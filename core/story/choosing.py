"""Picks each sentence's illustration with the story's element library, then updates it."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from core.engine import Engine, GeneratedImage
from core.story.consistency import (
    ELEMENT_KEEP,
    HISTORY_KEEP,
    LibraryElement,
    Selection,
    cosines,
    element_kind,
    ema,
    select,
)
from core.story.elements import head_noun, noun_elements
from storage.base import ElementRecord, HistoryRecord, Storage

# Zero-shot prompts for an element's type; CLIP compares an element's name with each.
TYPE_PROMPTS = {
    "character": "a person or an animal, a character in a story",
    "environment": "a place, a landscape or a room, the setting of a scene",
    "prop": "an object, a thing someone holds, wears or uses",
}


@dataclass
class StoryMemory:
    """A story's library and history as loaded, with the changes made while choosing."""

    elements: dict[str, ElementRecord]
    history: HistoryRecord | None
    changed: set[str] = field(default_factory=set)

    async def save(self, storage: Storage) -> None:
        for name in sorted(self.changed):
            await storage.elements.put(self.elements[name])
        if self.history is not None:
            await storage.history.put(self.history)


@dataclass(frozen=True)
class Chosen:
    selection: Selection
    elements: tuple[str, ...]  # the library names this illustration was seen to contain


class ConsistentChooser:
    def __init__(
        self, engine: Engine, storage: Storage, thr_1: float, presence_threshold: float
    ) -> None:
        self._engine = engine
        self._storage = storage
        self._thr_1 = thr_1
        self._presence = presence_threshold

    async def choose(
        self,
        channel_key: str,
        sentences: list[str],
        candidates: list[list[GeneratedImage]],
        illustration_ids: list[str],
        now: datetime,
        image_features: np.ndarray | None = None,
        forced: dict[int, int] | None = None,
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
        if image_features is None:
            image_features = await self._engine.embed_images(
                [image.png for group in candidates for image in group]
            )
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
            offset += len(group)
            found = phrases[index]
            texts_for = np.stack([phrase_feature[p] for p in found]) if found else None
            named = [
                LibraryElement(e.name, e.kind, e.feature)
                for e in (memory.elements.get(head_noun(p)) for p in found)
                if e is not None
            ]
            selection = select(
                rows,
                texts_for if texts_for is not None else text_features[index][None],
                named,
                memory.history.feature if memory.history else None,
                self._thr_1,
            )
            if forced and index in forced:
                selection = Selection(
                    forced[index],
                    selection.image_text,
                    selection.image_text,
                    selection.retained,
                    "the clause's similar picture",
                )
            picture = rows[selection.index]
            present = [
                p for p in found if cosines(picture[None], phrase_feature[p])[0] >= self._presence
            ]
            for phrase in present:
                self._remember(
                    memory,
                    channel_key,
                    phrase,
                    phrase_feature[phrase],
                    picture,
                    prototypes,
                    illustration_ids[index],
                    now,
                )
            self._remember_history(memory, channel_key, picture, now)
            chosen.append(Chosen(selection, tuple(head_noun(p) for p in present)))
        return chosen, image_features, memory

    @staticmethod
    def _remember(
        memory: StoryMemory,
        channel_key: str,
        phrase: str,
        name_feature: np.ndarray,
        picture: np.ndarray,
        prototypes: dict[str, np.ndarray],
        illustration_id: str,
        now: datetime,
    ) -> None:
        name = head_noun(phrase)
        known = memory.elements.get(name)
        if known is None:
            memory.elements[name] = ElementRecord(
                channel_key=channel_key,
                name=name,
                kind=element_kind(name_feature, prototypes),
                feature=np.asarray(picture, np.float32),
                count=1,
                first_seen=now,
                last_seen=now,
                aliases=(phrase,) if phrase != name else (),
                first_illustration_id=illustration_id,
            )
        else:
            aliases = (
                known.aliases if phrase in (name, *known.aliases) else (*known.aliases, phrase)
            )
            # A pinned element keeps the look the writers chose.
            feature = known.feature if known.pinned else ema(known.feature, picture, ELEMENT_KEEP)
            memory.elements[name] = replace(
                known, feature=feature, count=known.count + 1, last_seen=now, aliases=aliases
            )
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
