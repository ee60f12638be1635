"""Where an element is in a picture: a grid of regions, each element given its own region.

The engine embeds the regions (`Engine.embed_regions`); here they are laid out, matched to
the elements' names, and cut out as reference crops. Matching is greedy over the cosines
between region features and name features, best pair first, and a region serves one element,
so two elements of one picture never share a look (while there are regions enough).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from core.engine import Box
from core.story.consistency import cosines


def grid_boxes(per_side: int, size: float) -> tuple[Box, ...]:
    """per_side x per_side square regions of side `size`, evenly spread (x0, y0, x1, y1)."""
    if per_side == 1:
        offsets = [(1 - size) / 2]
    else:
        offsets = [n * (1 - size) / (per_side - 1) for n in range(per_side)]
    return tuple((x, y, x + size, y + size) for y in offsets for x in offsets)


def assign(regions: np.ndarray, names: np.ndarray) -> list[int]:
    """For each name (row of `names`), the index of its region (row of `regions`)."""
    names = np.atleast_2d(names)
    scores = np.stack([cosines(regions, name) for name in names])  # (names, regions)
    chosen: dict[int, int] = {}
    taken: set[int] = set()
    for flat in np.argsort(-scores, axis=None, kind="stable"):
        name, region = divmod(int(flat), len(regions))
        if name not in chosen and region not in taken:
            chosen[name] = region
            taken.add(region)
    for name in range(len(names)):  # more names than regions: the rest take their best
        chosen.setdefault(name, int(np.argmax(scores[name])))
    return [chosen[name] for name in range(len(names))]


def crop_png(png: bytes, box: Box) -> bytes:
    """The region of an encoded picture, as PNG (a reference crop for the cast)."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGB")
    width, height = image.size
    x0, y0, x1, y1 = box
    pixels = (round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height))
    cropped = image.crop(pixels)
    buffer = io.BytesIO()
    cropped.save(buffer, format="PNG")
    return buffer.getvalue()
