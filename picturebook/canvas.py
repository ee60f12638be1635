"""A drawing surface in design units that also records which shape covers each pixel."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

RGB = tuple[int, int, int]
Point = tuple[float, float]


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """The colour a fraction t of the way from a to b."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def shade(colour: RGB, factor: float) -> RGB:
    """A darker (factor < 1) or lighter (factor > 1) version of a colour."""
    if factor <= 1:
        return tuple(round(c * factor) for c in colour)  # type: ignore[return-value]
    return mix(colour, (255, 255, 255), factor - 1)


class Canvas:
    """Shapes in design units, drawn on an RGB picture and on a region map of shape ids.

    The region map lets the styles outline every shape; shapes that should carry no outline
    between them (the bands of one sky) share a region id.
    """

    def __init__(self, pixels: int, units: int) -> None:
        self.pixels_per_unit = pixels / units
        self.image = Image.new("RGB", (pixels, pixels), (0, 0, 0))
        self.regions = Image.new("I", (pixels, pixels), 0)
        self._draw = ImageDraw.Draw(self.image)
        self._regions = ImageDraw.Draw(self.regions)
        self._next = 2  # 0: nothing yet, 1: the sky

    def _region(self, region: int | None) -> int:
        if region is not None:
            return region
        self._next += 1
        return self._next

    def _xy(self, points: Sequence[Point]) -> list[Point]:
        p = self.pixels_per_unit
        return [(x * p, y * p) for x, y in points]

    def rect(self, box: tuple[float, float, float, float], colour: RGB, region=None) -> None:
        x0, y0, x1, y1 = box
        self.polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour, region)

    def polygon(self, points: Sequence[Point], colour: RGB, region=None) -> None:
        xy = self._xy(points)
        self._draw.polygon(xy, fill=colour)
        self._regions.polygon(xy, fill=self._region(region))

    def ellipse(self, box: tuple[float, float, float, float], colour: RGB, region=None) -> None:
        (x0, y0), (x1, y1) = self._xy([(box[0], box[1]), (box[2], box[3])])
        self._draw.ellipse((x0, y0, x1, y1), fill=colour)
        self._regions.ellipse((x0, y0, x1, y1), fill=self._region(region))

    def line(self, points: Sequence[Point], colour: RGB, width: float, region=None) -> None:
        w = max(1, round(width * self.pixels_per_unit))
        xy = self._xy(points)
        self._draw.line(xy, fill=colour, width=w, joint="curve")
        self._regions.line(xy, fill=self._region(region), width=w, joint="curve")

    def edges(self, width: int) -> np.ndarray:
        """Pixels on a boundary between two regions, thickened to about width pixels."""
        ids = np.asarray(self.regions, dtype=np.int64)
        edge = np.zeros(ids.shape, dtype=bool)
        edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
        edge[1:, :] |= ids[1:, :] != ids[:-1, :]
        if width > 1:
            mask = Image.fromarray(edge.astype(np.uint8) * 255)
            mask = mask.filter(ImageFilter.MaxFilter(width if width % 2 else width + 1))
            edge = np.asarray(mask) > 127
        return edge
