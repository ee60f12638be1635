"""Seed 001's word tables as data: element layers, topics, emotions and styles (TSV files)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SHIPPED = Path(__file__).resolve().parent
LAYERS = ("background", "foreground")


class TableError(ValueError):
    """A table file a writer or operator gave can't be read; the message names the line."""


@dataclass(frozen=True)
class StyleRule:
    when: str  # "emotion:sad", "element:night" or "*"
    style: str

    def matches(self, emotions: set[str], words: set[str]) -> bool:
        if self.when == "*":
            return True
        kind, _, value = self.when.partition(":")
        return value in (emotions if kind == "emotion" else words)


@dataclass(frozen=True)
class Tables:
    layers: dict[str, str]  # word -> background | foreground
    topics: dict[str, tuple[str, ...]]  # topic word -> picture elements
    emotions: dict[str, tuple[str, tuple[str, ...]]]  # word -> (emotion, picture elements)
    styles: tuple[StyleRule, ...]


def _rows(path: Path, columns: int) -> list[list[str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != columns or not all(cells):
            raise TableError(f"{path}:{number}: expected {columns} tab-separated columns")
        rows.append(cells)
    return rows


def _elements(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _file(folder: str, name: str) -> Path:
    given = Path(folder).expanduser() / name if folder else None
    return given if given is not None and given.is_file() else SHIPPED / name


@lru_cache(maxsize=8)
def load_tables(folder: str = "") -> Tables:
    """The tables in `folder` ("" or a missing file: the shipped ones)."""
    layers = {}
    for word, layer in _rows(_file(folder, "elements.tsv"), 2):
        if layer not in LAYERS:
            raise TableError(f"elements.tsv: {word!r} has layer {layer!r}, not one of {LAYERS}")
        layers[word.lower()] = layer
    topics = {w.lower(): _elements(e) for w, e in _rows(_file(folder, "topics.tsv"), 2)}
    emotions = {
        word.lower(): (emotion.lower(), _elements(elements))
        for word, emotion, elements in _rows(_file(folder, "emotions.tsv"), 3)
    }
    styles = tuple(StyleRule(w.lower(), s) for w, s in _rows(_file(folder, "styles.tsv"), 2))
    return Tables(layers, topics, emotions, styles)
