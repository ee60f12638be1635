"""What the restorer trains on: clean pictures from a folder, and writers' feedback texts."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from core.feedback.training_settings import TrainingSettings
from engine.profiles import ModelProfile
from engine.restorer import RestorerNet, load_restorer, restorer_dir, restorer_state
from training.damage import synthetic_scenes
from training.feedback_scorer import load_scorer
from training.restorer import RestorerTrainer, ScorerExample, labelled_texts, make_pairs

logger = logging.getLogger("inkwell.training")

PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})


def picture_tensor(data: bytes | Path, size: int) -> torch.Tensor:
    """A picture cropped to a centred square of `size` pixels, (3, size, size) in 0..1."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    with Image.open(source) as image:
        square = ImageOps.fit(image.convert("RGB"), (size, size), Image.Resampling.BICUBIC)
    array = np.asarray(square, dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def clean_pictures(folder: Path | None, size: int, limit: int, seed: int = 0) -> torch.Tensor:
    """Up to `limit` pictures from `folder`; synthetic scenes where it has none (logged)."""
    paths = []
    if folder is not None and folder.is_dir():
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES)
    pictures = []
    for path in paths[:limit]:
        try:
            pictures.append(picture_tensor(path, size))
        except (OSError, ValueError) as error:
            logger.warning("skipping %s: %s", path, error)
    if pictures:
        logger.info("training on %d clean pictures from %s", len(pictures), folder)
        return torch.stack(pictures)
    logger.warning(
        "no clean pictures in %s: training on %d synthetic scenes instead", folder, limit
    )
    return synthetic_scenes(limit, size, torch.Generator().manual_seed(seed))


def feedback_examples(feedback: Iterable[tuple[str, bytes, str]], size: int) -> list[ScorerExample]:
    """Each (id, picture, text) of writers' feedback, and its generated opposite, labelled
    [0188]-[0198]; feedback whose picture can't be read is skipped (logged)."""
    examples = []
    for feedback_id, data, text in feedback:
        try:
            image = picture_tensor(data, size)
        except (OSError, ValueError):
            logger.warning("feedback %s: its picture can't be read", feedback_id)
            continue
        examples += labelled_texts(image, text)
    return examples


def prepare_trainer(
    profile: ModelProfile,
    models_dir: Path,
    clean: torch.Tensor,
    settings: TrainingSettings,
    device: torch.device,
    examples: list[ScorerExample] | None = None,
    fresh: bool = False,
) -> RestorerTrainer:
    """A trainer that continues the saved restorer and scorer (or starts them, if `fresh`)."""
    checkpoints = restorer_dir(models_dir)
    if fresh or restorer_state(models_dir) == "untrained":
        net = RestorerNet().to(device)
    else:
        net, _ = load_restorer(models_dir, device)
    scorer = load_scorer(profile, models_dir, device)
    pairs = make_pairs(clean, seed=settings.seed)
    fixed = list(examples or [])
    return RestorerTrainer(
        net, scorer, pairs, settings, device, checkpoints, extra_examples=lambda: fixed
    )
