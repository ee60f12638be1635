"""The kind of a request by its sentence-encoder feature: nearest labelled phrasings.

The engine's screening encoder (all-MiniLM-L6-v2, shipped with its weights, so this works on
every profile, `tiny` included) gives each request and each phrasing of `phrasings.tsv` a
feature (`Screening.feature`); a kind's score is the mean cosine of its two nearest
phrasings, and a softmax over kinds gives its share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.engine import Engine

PHRASINGS = Path(__file__).with_name("phrasings.tsv")
_NEAREST = 2
_TEMPERATURE = 0.05  # cosine differences of a few hundredths are clear preferences


def read_phrasings(path: Path = PHRASINGS) -> list[tuple[str, str]]:
    """(kind, phrasing) rows; '#' lines are comments."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            kind, phrasing = line.split("\t")
            rows.append((kind.strip(), phrasing.strip()))
    return rows


@dataclass(frozen=True)
class KindScores:
    """Each kind's share for one request, the best first."""

    shares: tuple[tuple[str, float], ...]

    @property
    def best(self) -> str:
        return self.shares[0][0]

    @property
    def confidence(self) -> float:
        return self.shares[0][1]

    def share(self, kind: str) -> float:
        return dict(self.shares).get(kind, 0.0)


class IntentModel:
    """Scores requests by kind; the phrasings are embedded once, on first use."""

    def __init__(self, engine: Engine, phrasings: list[tuple[str, str]] | None = None) -> None:
        self._engine = engine
        self._rows = phrasings if phrasings is not None else read_phrasings()
        self._features: np.ndarray | None = None
        self.available = True  # False once the engine showed it has no sentence features

    async def scores(self, texts: list[str]) -> list[KindScores] | None:
        """Per text, every kind's share; None when the engine gives no sentence features."""
        if not self.available or not texts:
            return None
        if self._features is None:
            phrasings = await self._embed([phrase for _, phrase in self._rows])
            if phrasings is None:
                self.available = False
                return None
            self._features = phrasings
        requests = await self._embed(texts)
        if requests is None:
            return None
        return [self._score(row) for row in requests @ self._features.T]

    async def _embed(self, texts: list[str]) -> np.ndarray | None:
        screenings = await self._engine.screen(texts)
        if not screenings or not all(s.feature for s in screenings):
            return None
        return np.asarray([s.feature for s in screenings], dtype=np.float32)

    def _score(self, similarities: np.ndarray) -> KindScores:
        kinds = list(dict.fromkeys(kind for kind, _ in self._rows))
        scores = []
        for kind in kinds:
            mine = np.sort(
                [s for (k, _), s in zip(self._rows, similarities, strict=True) if k == kind]
            )
            scores.append(float(mine[-_NEAREST:].mean()))
        logits = np.asarray(scores) / _TEMPERATURE
        shares = np.exp(logits - logits.max())
        shares /= shares.sum()
        order = np.argsort(-shares)
        return KindScores(tuple((kinds[i], float(shares[i])) for i in order))
