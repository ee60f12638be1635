"""Seed 000's consistent selection: score candidates against the story so far, then remember.

All pure functions over feature arrays (rows L2-normalised or not; cosines are computed):
- image-text similarity: mean cosine to the prompt's noun elements (claim 10, [0130]);
- first prompt: the highest image-text similarity wins (claim 11);
- later prompts: candidates above thr_1 are retained; element similarity is the type-weighted
  cosine to the library's features of the elements the prompt names (environment 0.5,
  character 0.4, prop 0.1 [0153], renormalised over the types present); history similarity
  is the cosine to the historical illustration feature; sequence similarity is their mean;
  total = 0.5 image-text + 0.5 sequence [0157];
- updates (claim 15): element feature 0.6 old + 0.4 new, history 0.8 old + 0.2 new.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TYPE_WEIGHTS = {"environment": 0.5, "character": 0.4, "prop": 0.1}
ELEMENT_KEEP = 0.6
HISTORY_KEEP = 0.8


@dataclass(frozen=True)
class LibraryElement:
    name: str
    kind: str
    feature: np.ndarray


@dataclass(frozen=True)
class Selection:
    index: int
    image_text: tuple[float, ...]
    total: tuple[float, ...]
    retained: tuple[int, ...]
    rule: str  # "first prompt" or "consistency"

    @property
    def score(self) -> float:
        return self.total[self.index]


def cosines(rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    vector = np.asarray(vector, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1) * np.linalg.norm(vector)
    return (rows @ vector) / np.maximum(norms, 1e-12)


def image_text_similarity(images: np.ndarray, texts: np.ndarray) -> np.ndarray:
    """Per candidate, the mean cosine to each text feature (the prompt's nouns)."""
    return np.mean([cosines(images, text) for text in np.atleast_2d(texts)], axis=0)


def element_similarity(images: np.ndarray, named: list[LibraryElement]) -> np.ndarray | None:
    """Type-weighted cosine to the named library elements; None when none is named."""
    by_kind: dict[str, list[np.ndarray]] = {}
    for element in named:
        by_kind.setdefault(element.kind, []).append(cosines(images, element.feature))
    if not by_kind:
        return None
    weights = {kind: TYPE_WEIGHTS.get(kind, 0.0) for kind in by_kind}
    total_weight = sum(weights.values()) or 1.0
    return sum(
        weights[kind] / total_weight * np.mean(scores, axis=0) for kind, scores in by_kind.items()
    )


def select(
    images: np.ndarray,
    texts: np.ndarray,
    named: list[LibraryElement],
    history: np.ndarray | None,
    thr_1: float,
) -> Selection:
    """Choose one candidate image for a prompt (rows of `images`)."""
    image_text = image_text_similarity(images, texts)
    everyone = tuple(range(len(images)))
    if history is None and not named:
        index = int(np.argmax(image_text))
        scores = tuple(float(s) for s in image_text)
        return Selection(index, scores, scores, everyone, "first prompt")
    retained = tuple(int(i) for i in np.flatnonzero(image_text > thr_1)) or everyone
    terms = [term for term in (element_similarity(images, named),) if term is not None]
    if history is not None:
        terms.append(cosines(images, history))
    sequence = np.mean(terms, axis=0)
    total = 0.5 * image_text + 0.5 * sequence
    index = max(retained, key=lambda i: total[i])
    return Selection(
        index,
        tuple(float(s) for s in image_text),
        tuple(float(s) for s in total),
        retained,
        "consistency",
    )


def ema(old: np.ndarray, new: np.ndarray, keep: float) -> np.ndarray:
    return (keep * np.asarray(old, np.float32) + (1 - keep) * np.asarray(new, np.float32)).astype(
        np.float32
    )


def element_kind(name_feature: np.ndarray, prototypes: dict[str, np.ndarray]) -> str:
    """Zero-shot element type ([0128]): the nearest of the type prototypes."""
    return max(prototypes, key=lambda kind: float(cosines(prototypes[kind][None], name_feature)[0]))
