"""Training folders read as plain data (no torch): captioned pictures, exported edit pairs."""

from __future__ import annotations

import json
from pathlib import Path

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
PAIRS_FILE = "metadata.jsonl"  # `export-edit-pairs` writes it in the split folder `train/`


def captioned_pictures(folder: Path) -> list[tuple[bytes, str]]:
    """Every picture in `folder` (not its subfolders) as (encoded bytes, caption from its
    .txt sibling, "" without one), in name order."""
    found = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        caption_file = path.with_suffix(".txt")
        caption = caption_file.read_text(encoding="utf-8").strip() if caption_file.exists() else ""
        found.append((path.read_bytes(), caption))
    if not found:
        raise ValueError(f"no training images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return found


def pairs_file(folder: Path) -> Path:
    """The pairs' metadata.jsonl: in `folder`, or in its `train/` split as exported."""
    for candidate in (Path(folder) / "train" / PAIRS_FILE, Path(folder) / PAIRS_FILE):
        if candidate.is_file():
            return candidate
    raise ValueError(
        f"no {PAIRS_FILE} in {folder} or {Path(folder) / 'train'} "
        "(python -m bot export-edit-pairs OUT writes one)"
    )


def edit_pairs(folder: Path) -> list[tuple[bytes, bytes, str]]:
    """The exported edit pairs as (input picture, edited picture, edit prompt), in file order.

    Reads the layout `export-edit-pairs` writes and diffusers' `train_instruct_pix2pix.py`
    reads: one JSON line per pair with `input_image_file_name`, `edited_image_file_name` and
    `edit_prompt`, the file names relative to the metadata file's folder.
    """
    metadata = pairs_file(folder)
    root = metadata.parent
    pairs = []
    for number, line in enumerate(metadata.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            names = (row["input_image_file_name"], row["edited_image_file_name"])
            prompt = str(row["edit_prompt"]).strip()
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{metadata}, line {number}: not an edit pair ({error})") from None
        try:
            pictures = [(root / name).read_bytes() for name in names]
        except OSError as error:
            raise ValueError(f"{metadata}, line {number}: {error}") from None
        pairs.append((pictures[0], pictures[1], prompt))
    if not pairs:
        raise ValueError(f"{metadata} lists no edit pairs")
    return pairs
