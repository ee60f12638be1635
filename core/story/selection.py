"""Chooses among candidate images by their CLIP similarity to the text they illustrate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Choice:
    index: int
    score: float
    scores: tuple[float, ...]


def cosine_similarities(image_features: np.ndarray, text_feature: np.ndarray) -> np.ndarray:
    """Cosine of each image feature row with one text feature (inputs need not be unit length)."""
    images = np.asarray(image_features, dtype=np.float32)
    text = np.asarray(text_feature, dtype=np.float32)
    image_norms = np.linalg.norm(images, axis=1)
    text_norm = np.linalg.norm(text)
    denominator = np.maximum(image_norms * text_norm, 1e-12)
    return (images @ text) / denominator


def best_by_text_similarity(image_features: np.ndarray, text_feature: np.ndarray) -> Choice:
    """The candidate most similar to the text; ties go to the earliest candidate."""
    scores = cosine_similarities(image_features, text_feature)
    index = int(np.argmax(scores))
    return Choice(index=index, score=float(scores[index]), scores=tuple(float(s) for s in scores))
