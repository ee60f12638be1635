"""Seed 000's consistent selection: score candidates against the story so far, then remember.

All pure functions over feature arrays (rows L2-normalised or not; cosines are computed):
- image-text similarity: mean cosine to the prompt's noun elements (claim 10, [0130]);
- first prompt: the highest image-text similarity wins (claim 11);
- recognition ([0128], [0139]): a named element is *shown* by a candidate when the cosine
  between the candidate and the element's name (its CLIP text feature) reaches the presence
  threshold (CLIP zero-shot with a threshold as the classifier);
- later prompts: candidates above thr_1 are retained; element similarity is the type-weighted
  sum over the library elements the prompt names (environment 0.5, character 0.4, prop 0.1
  [0153], renormalised over the types the prompt names, each type's weight shared by its
  elements) of each element's similarity to the candidate, counted only where the candidate
  shows the element [0139]-[0145]: an element a candidate does not show adds nothing to it.
  An element's similarity is, in the seed's mode, the cosine between the candidate and the
  element's historical feature, the CLIP text feature of the noun ([0136], [0153]); in the
  looks mode, where the element has a look, the cosine between the candidate's region of the
  element and the element's look (the CLIP image feature of its region where it was drawn).
  History similarity is the cosine to the historical illustration feature; sequence
  similarity is their mean; total = 0.5 image-text + 0.5 sequence [0157];
- updates (claim 15): element feature (and look) 0.6 old + 0.4 new, history 0.8 old + 0.2 new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TYPE_WEIGHTS = {"environment": 0.5, "character": 0.4, "prop": 0.1}
ELEMENT_KEEP = 0.6
HISTORY_KEEP = 0.8


@dataclass(frozen=True)
class LibraryElement:
    name: str
    kind: str
    feature: np.ndarray  # the seed's: the CLIP text feature of the noun, updated by EMA
    look: np.ndarray | None = None  # ours: the CLIP image feature of its region


@dataclass(frozen=True)
class Selection:
    index: int
    image_text: tuple[float, ...]
    total: tuple[float, ...]
    retained: tuple[int, ...]
    rule: str  # "first prompt" or "consistency"
    element_scores: tuple[float, ...] = ()  # per candidate; () when no named element is known

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


def recognised(images: np.ndarray, names: np.ndarray, threshold: float) -> np.ndarray:
    """[0128]: which candidate (row) shows which named element (column of `names`' rows)."""
    names = np.atleast_2d(np.asarray(names, np.float32))
    return np.stack([cosines(images, name) >= threshold for name in names], axis=1)


def type_weights(named: Sequence[LibraryElement]) -> np.ndarray:
    """Each named element's weight: its type's [0153] weight, renormalised over the types
    named, shared equally by the elements of one type."""
    kinds = [element.kind for element in named]
    present = {kind: TYPE_WEIGHTS.get(kind, 0.0) for kind in kinds}
    total = sum(present.values()) or 1.0
    return np.array([present[kind] / total / kinds.count(kind) for kind in kinds], dtype=np.float32)


def element_similarity(
    images: np.ndarray,
    named: Sequence[LibraryElement],
    shown: np.ndarray | None = None,
    regions: np.ndarray | None = None,
) -> np.ndarray | None:
    """Per candidate, the type-weighted similarity to the named library elements it shows;
    None when none is named.

    `shown[i, j]`: candidate i shows element j (default: every candidate shows every one);
    `regions[i, j]`: candidate i's region feature of element j, compared with the element's
    look where it has one (the looks mode); otherwise the whole candidate is compared with
    the element's text feature (the seed's mode).
    """
    if not named:
        return None
    images = np.asarray(images, np.float32)
    if shown is None:
        shown = np.ones((len(images), len(named)), dtype=bool)
    weights = type_weights(named)
    total = np.zeros(len(images), dtype=np.float32)
    for j, element in enumerate(named):
        if regions is not None and element.look is not None:
            scores = cosines(regions[:, j], element.look)
        else:
            scores = cosines(images, element.feature)
        total += weights[j] * np.where(shown[:, j], scores, 0.0).astype(np.float32)
    return total


def select(
    images: np.ndarray,
    texts: np.ndarray,
    named: list[LibraryElement],
    history: np.ndarray | None,
    thr_1: float,
    shown: np.ndarray | None = None,
    regions: np.ndarray | None = None,
    sentence: np.ndarray | None = None,
) -> Selection:
    """Choose one candidate image for a prompt (rows of `images`).

    `texts` are the prompt's noun features (seed 000); with `sentence`, the whole sentence's
    feature, the text term that ranks candidates is the mean of the two similarities (thr_1
    still retains by the nouns, the scale it is calibrated on).
    """
    image_text = image_text_similarity(images, texts)
    ranking_text = image_text
    if sentence is not None:
        ranking_text = 0.5 * image_text + 0.5 * cosines(images, sentence)
    everyone = tuple(range(len(images)))
    if history is None and not named:
        index = int(np.argmax(ranking_text))
        scores = tuple(float(s) for s in ranking_text)
        return Selection(index, scores, scores, everyone, "first prompt")
    retained = tuple(int(i) for i in np.flatnonzero(image_text > thr_1)) or everyone
    elements = element_similarity(images, named, shown, regions)
    terms = [term for term in (elements,) if term is not None]
    if history is not None:
        terms.append(cosines(images, history))
    sequence = np.mean(terms, axis=0)
    total = 0.5 * ranking_text + 0.5 * sequence
    index = max(retained, key=lambda i: total[i])
    return Selection(
        index,
        tuple(float(s) for s in image_text),
        tuple(float(s) for s in total),
        retained,
        "consistency",
        tuple(float(s) for s in elements) if elements is not None else (),
    )


def ema(old: np.ndarray, new: np.ndarray, keep: float) -> np.ndarray:
    return (keep * np.asarray(old, np.float32) + (1 - keep) * np.asarray(new, np.float32)).astype(
        np.float32
    )


def element_kind(name_feature: np.ndarray, prototypes: dict[str, np.ndarray]) -> str:
    """Zero-shot element type ([0128]): the nearest of the type prototypes."""
    return max(prototypes, key=lambda kind: float(cosines(prototypes[kind][None], name_feature)[0]))
