"""Seed 000's image difference (claim 6) and threshold calibration (claim 7)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

CALIBRATION_POINTS = tuple(round(0.1 * step, 1) for step in range(11))
TARGET_RECALL = 0.8


def row_means(png: bytes, size: int = 64) -> np.ndarray:
    """The image's feature for claim 6: grayscale, then the mean of every pixel row.

    Pictures are brought to one size first so images of different sizes compare row by row.
    """
    with Image.open(io.BytesIO(png)) as image:
        gray = image.convert("L").resize((size, size), Image.BILINEAR)
        return np.asarray(gray, dtype=np.float32).mean(axis=1)


def image_difference(features: Sequence[np.ndarray], mode: str = "variance") -> float:
    """How different a set of images is, from their row-mean features.

    "variance" (the SPEC's decision, claim 6 and [0083]): per row, the variance across the
    images; averaged over rows. "pairwise" ([0084], [0266]): each image's eigenvalue is the
    variance of its own row means; the difference is the largest gap between two images'
    eigenvalues (a picture and its vertical flip differ by 0 there).
    """
    if len(features) < 2:
        return 0.0
    stacked = np.stack([np.asarray(f, dtype=np.float64) for f in features])
    if mode == "variance":
        return float(stacked.var(axis=0).mean())
    if mode == "pairwise":
        eigenvalues = stacked.var(axis=1)
        return float(eigenvalues.max() - eigenvalues.min())  # the largest pairwise gap
    raise ValueError(f"unknown image difference mode {mode!r} (variance or pairwise)")


@dataclass(frozen=True)
class Calibration:
    thr_1: float
    thr_2: float
    recall: dict[float, float]  # threshold point -> share of pairs at or above it
    recalled: int  # pairs whose similarity reaches thr_1


def calibrate(
    similarities: Sequence[float],
    features: Sequence[np.ndarray],
    mode: str = "variance",
) -> Calibration:
    """thr_1: the highest point (0.0, 0.1, ... 1.0) whose recall is at least 80%;
    thr_2: the image difference of the images of the pairs recalled at thr_1."""
    if not similarities:
        raise ValueError("calibration needs at least one image-text pair")
    scores = np.asarray(similarities, dtype=np.float32)
    recall = {point: float(np.mean(scores >= point - 1e-6)) for point in CALIBRATION_POINTS}
    reaching = [point for point, share in recall.items() if share >= TARGET_RECALL]
    thr_1 = max(reaching) if reaching else 0.0
    recalled = [feature for feature, s in zip(features, scores, strict=True) if s >= thr_1 - 1e-6]
    return Calibration(thr_1, image_difference(recalled, mode), recall, len(recalled))
