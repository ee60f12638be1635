"""Training seed 000's screening heads from a labelled TSV, with a fixed held-out split."""

from __future__ import annotations

import importlib.resources
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from core.story.screening import ScreeningExample, held_out_split, majority_accuracy
from engine.screening_heads import (
    SEED_SCHEDULE,
    HeadsInfo,
    ScreeningHeads,
    TrainingSettings,
    accuracies,
    train_heads,
)
from engine.sentence_encoder import SentenceEncoder


def shipped_dataset() -> Path:
    """The hand-labelled dataset shipped as package data (training/datasets/screening.tsv)."""
    return Path(str(importlib.resources.files("training").joinpath("datasets/screening.tsv")))


HELD_OUT = 0.2
SPLIT_SEED = 0


@dataclass(frozen=True)
class FitReport:
    """Trained heads with their loss curve and held-out accuracies against the baselines."""

    heads: ScreeningHeads
    info: HeadsInfo
    losses: list[float]
    train_size: int
    test_size: int
    generability_accuracy: float
    type_accuracy: float
    generability_baseline: float  # majority class of the training rows, on the held-out rows
    type_baseline: float


def fit_examples(
    encoder: SentenceEncoder,
    examples: Sequence[ScreeningExample],
    settings: TrainingSettings = SEED_SCHEDULE,
    on_epoch: Callable[[int, float], None] | None = None,
) -> FitReport:
    """Encode the examples, hold out a fixed 20%, train on the rest, score the held-out rows."""
    features = encoder.encode([e.text for e in examples])
    generability = torch.tensor([e.generability for e in examples], device=features.device)
    verb = torch.tensor([e.verb_included for e in examples], device=features.device)
    train, test = held_out_split(len(examples), HELD_OUT, SPLIT_SEED)
    train_rows = torch.tensor(train, device=features.device)
    test_rows = torch.tensor(test, device=features.device)
    # Encoder outputs come from inference mode; training needs ordinary tensors.
    features = features.clone()
    heads, losses = train_heads(
        features[train_rows], generability[train_rows], verb[train_rows], settings, on_epoch
    )
    gen_acc, type_acc = accuracies(
        heads, features[test_rows], generability[test_rows], verb[test_rows]
    )
    info = HeadsInfo(encoder.name, encoder.dim, len(train), settings.epochs, gen_acc, type_acc)
    return FitReport(
        heads=heads,
        info=info,
        losses=losses,
        train_size=len(train),
        test_size=len(test),
        generability_accuracy=gen_acc,
        type_accuracy=type_acc,
        generability_baseline=majority_accuracy(
            [examples[i].generability for i in train], [examples[i].generability for i in test]
        ),
        type_baseline=majority_accuracy(
            [examples[i].verb_included for i in train], [examples[i].verb_included for i in test]
        ),
    )
