"""The screening model: sentence encoder plus trained heads (trained by training.screening)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from core.engine import Screening
from core.story.screening import (
    read_examples,
)
from engine.profiles import ModelProfile
from engine.screening_heads import (
    ScreeningHeads,
    has_heads,
    load_heads,
    save_heads,
)
from engine.sentence_encoder import SentenceEncoder

logger = logging.getLogger("inkwell.models")


def default_heads_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "screening"


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
        from training.screening import fit_examples, shipped_dataset

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
        rows = zip(generability.tolist(), description.tolist(), features.tolist(), strict=True)
        for gen_row, type_row, feature in rows:
            results.append(
                Screening(
                    generability=max(range(3), key=gen_row.__getitem__),
                    verb_included=type_row[1] > type_row[0],
                    generability_probs=(gen_row[0], gen_row[1], gen_row[2]),
                    type_probs=(type_row[0], type_row[1]),
                    feature=tuple(feature),
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
