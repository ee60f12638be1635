"""Shared encodings: vectors as float32 bytes, times as UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def vector_from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32).copy()


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    """Sortable text: every stored time has the same offset, so text order is time order."""
    return utc(moment).isoformat(timespec="microseconds")


def now_utc() -> datetime:
    return datetime.now(UTC)
