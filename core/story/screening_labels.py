"""Labels prompts the way seed 000 builds its screening data: draw 10 images, count conforming.

[0237]-[0240]: each text is drawn under 10 seeds; an image conforms when every concrete
element of the text is present in it (90% with more than five elements), and the text's
generability index follows from how many images conform. Presence is judged with CLIP:
an element is present when its text feature's cosine with the image passes a threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.engine import Engine, GenerationRequest
from core.story.elements import noun_elements
from core.story.screening import (
    UNLABELLED,
    ScreeningExample,
    generability_index,
    image_conforms,
)

log = logging.getLogger("inkwell.story")

IMAGES_PER_TEXT = 10


@dataclass(frozen=True)
class LabelledText:
    """A text's elements, how many of its images conform, and the index that gives."""

    text: str
    elements: tuple[str, ...]
    conforming: int
    generability: int

    def example(self, genre: str = "") -> ScreeningExample:
        # The description type is a person's judgement [0241]: left for them to fill in.
        return ScreeningExample(self.text, self.generability, UNLABELLED, genre)


def elements_to_find(text: str) -> list[str]:
    """The concrete elements an image must show; the whole text when no noun is found.

    Without the fallback a text with no nouns would conform vacuously and score 2, while the
    seed gives 0 to texts with nothing concrete; the whole text keeps CLIP as the judge.
    """
    return noun_elements(text) or [text]


def conforming_images(
    element_features: np.ndarray, image_features: np.ndarray, presence_threshold: float
) -> int:
    """How many images (rows of `image_features`) show enough of the elements to conform."""
    similarities = image_features @ element_features.T  # features are L2-normalised
    present = similarities >= presence_threshold
    return sum(image_conforms(list(row)) for row in present)


async def label_texts(
    engine: Engine,
    texts: Sequence[str],
    presence_threshold: float,
    *,
    images_per_text: int = IMAGES_PER_TEXT,
    batch: int = 4,
    on_text: Callable[[LabelledText], None] | None = None,
) -> list[LabelledText]:
    """Label every text; `batch` texts share one generate call (images_per_text seeds each)."""
    labelled: list[LabelledText] = []
    seeds = tuple(range(images_per_text))
    for start in range(0, len(texts), batch):
        chunk = list(texts[start : start + batch])
        drawn = await engine.generate([GenerationRequest(text, seeds) for text in chunk])
        for text, images in zip(chunk, drawn, strict=True):
            elements = elements_to_find(text)
            element_features = await engine.embed_texts(elements)
            image_features = await engine.embed_images([image.png for image in images])
            count = conforming_images(element_features, image_features, presence_threshold)
            result = LabelledText(text, tuple(elements), count, generability_index(count))
            log.info(
                "labelled %r: %d of %d images conform -> index %d",
                *(text[:60], count, len(images), result.generability),
            )
            if on_text is not None:
                on_text(result)
            labelled.append(result)
    return labelled
