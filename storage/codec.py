"""Shared encodings: vectors as float32 bytes, times as UTC."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import numpy as np

from storage.base import ElementLook


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


def looks_to_plain(looks: tuple[ElementLook, ...]) -> list[dict[str, Any]]:
    """An element's reference looks as JSON-able dicts (features as base64 float32)."""
    return [
        {
            "image_id": look.image_id,
            "feature": base64.b64encode(vector_to_bytes(look.feature)).decode("ascii"),
            "illustration_id": look.illustration_id,
        }
        for look in looks
    ]


def looks_from_plain(plain: list[dict[str, Any]] | None) -> tuple[ElementLook, ...]:
    return tuple(
        ElementLook(
            item["image_id"],
            vector_from_bytes(base64.b64decode(item["feature"])),
            item.get("illustration_id"),
        )
        for item in plain or ()
    )


def optional_vector(blob: bytes | None) -> np.ndarray | None:
    return None if blob is None else vector_from_bytes(bytes(blob))
