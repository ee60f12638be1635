"""The screening model: sentence encoder plus trained heads, and training them from a TSV."""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from core.engine import Screening
from core.models.profiles import ModelProfile
from core.models.screening import (
    SEED_SCHEDULE,
    HeadsInfo,
    ScreeningHeads,
    TrainingSettings,
    accuracies,
    has_heads,
    load_heads,
    save_heads,
    train_heads,
)
from core.models.sentence_encoder import SentenceEncoder
from core.story.screening import (
    ScreeningExample,
    held_out_split,
    majority_accuracy,
    read_examples,
)

logger = logging.getLogger("inkwell.models")

HELD_OUT = 0.2
SPLIT_SEED = 0


def shipped_dataset() -> Path:
    """The hand-labelled dataset shipped as package data of `bot` (bot/datasets/)."""
    return Path(str(importlib.resources.files("bot").joinpath("datasets/screening.tsv")))


def default_heads_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "screening"


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


class ScreeningModel:
    """Screens prompts: encoder feature -> generability index and description type."""

    def __init__(self, encoder: SentenceEncoder, heads: ScreeningHeads) -> None:
        if heads.dim != encoder.dim:
            raise ValueError(f"heads take {heads.dim}-d features, encoder gives {encoder.dim}")
        self._encoder = encoder
        self._heads = heads.to(encoder.device).eval()

    @classmethod
    def load(
        cls,
        profile: ModelProfile,
        models_dir: Path,
        device: torch.device,
        dataset: Path | None = None,
    ) -> ScreeningModel:
        """The profile's encoder and the heads in <models>/screening, trained there if missing."""
        encoder = SentenceEncoder(profile.screening_encoder, device)
        directory = default_heads_dir(models_dir)
        if has_heads(directory):
            heads, info = load_heads(directory, device)
            if info.encoder != encoder.name or info.dim != encoder.dim:
                raise RuntimeError(
                    f"screening heads in {directory} were trained on {info.encoder!r}, but "
                    f"profile {profile.name!r} screens with {encoder.name!r}: run "
                    "`python -m bot train-screening` for this encoder"
                )
            logger.info("loaded screening heads from %s (%s)", directory, info.encoder)
            return cls(encoder, heads)
        source = dataset or shipped_dataset()
        logger.warning(
            "no trained screening heads in %s: training them now from %s", directory, source
        )
        report = fit_examples(encoder, read_examples(source))
        save_heads(report.heads, report.info, directory)
        logger.warning(
            "trained screening heads on %d examples and saved them to %s; held-out accuracy "
            "generability %.2f (majority %.2f), description type %.2f (majority %.2f)",
            *(report.train_size, directory, report.generability_accuracy),
            *(report.generability_baseline, report.type_accuracy, report.type_baseline),
        )
        return cls(encoder, report.heads)

    def screen(self, texts: Sequence[str]) -> list[Screening]:
        """One Screening per text, in order; one encoder pass per batch of texts."""
        if not texts:
            return []
        features = self._encoder.encode(list(texts))
        with torch.inference_mode():
            generability, description = self._heads.probabilities(features)
        results = []
        for gen_row, type_row in zip(generability.tolist(), description.tolist(), strict=True):
            results.append(
                Screening(
                    generability=max(range(3), key=gen_row.__getitem__),
                    verb_included=type_row[1] > type_row[0],
                    generability_probs=(gen_row[0], gen_row[1], gen_row[2]),
                    type_probs=(type_row[0], type_row[1]),
                )
            )
        return results


class LazyScreening:
    """A ScreeningModel loaded on its first use.

    The encoder (and, the first time, training the heads) costs seconds that runs which never
    screen, such as style-only tests, should not pay.
    """

    def __init__(self, load: Callable[[], ScreeningModel]) -> None:
        self._load = load
        self._model: ScreeningModel | None = None

    def screen(self, texts: Sequence[str]) -> list[Screening]:
        if self._model is None:
            self._model = self._load()
        return self._model.screen(texts)
