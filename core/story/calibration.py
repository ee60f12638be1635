"""Calibrating thr_1 and thr_2 from image-text pairs through the engine (claim 7)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.engine import Engine
from core.story.consistency import image_text_similarity
from core.story.elements import noun_elements
from core.story.thresholds import Calibration, calibrate, row_means


async def calibrate_pairs(
    engine: Engine, pairs: Sequence[tuple[bytes, str]], mode: str = "variance"
) -> Calibration:
    """Similarity of each picture to its text, measured as the story loop measures it (the
    text's nouns, or the whole text when it has none), then `calibrate`."""
    texts = [text for _, text in pairs]
    nouns = [noun_elements(text) or [text] for text in texts]
    flat = [noun for found in nouns for noun in found]
    text_features = await engine.embed_texts(flat)
    image_features = await engine.embed_images([png for png, _ in pairs])
    similarities, offset = [], 0
    for row, found in zip(image_features, nouns, strict=True):
        own = text_features[offset : offset + len(found)]
        offset += len(found)
        similarities.append(float(image_text_similarity(row[None], own)[0]))
    return calibrate(similarities, [row_means(png) for png, _ in pairs], mode)


def with_thresholds(config_text: str, thr_1: float, thr_2: float) -> str:
    """config.toml's text with [story] thr_1 and thr_2 set, everything else untouched."""
    lines = config_text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[story]"), None)
    if start is None:
        lines += ["", "[story]"]
        start = len(lines) - 1
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    for key, value in (("thr_1", f"{thr_1:.2f}"), ("thr_2", f"{thr_2:.1f}")):
        pattern = re.compile(rf"^\s*{key}\s*=")
        found = next((i for i in range(start + 1, end) if pattern.match(lines[i])), None)
        line = f"{key} = {value}  # set by `python -m bot calibrate`"
        if found is None:
            lines.insert(start + 1, line)
            end += 1
        else:
            lines[found] = line
    return "\n".join(lines) + "\n"


def recall_table(result: Calibration) -> str:
    rows = [
        f"  similarity >= {point:.1f}: recall {share:6.1%}"
        for point, share in sorted(result.recall.items())
    ]
    return "\n".join(rows)
