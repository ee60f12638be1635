"""Seed 001's pixel stages, without models: places, cut-out, merge and the edge sketch."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from core.engine import Box

SKETCH_METHOD = "Sobel edges of the merge, thresholded"


def mask_box(mask: np.ndarray) -> Box | None:
    """The box (shares of the picture) around a mask's set pixels; None when it is empty."""
    rows, cols = np.nonzero(mask > 0)
    if rows.size == 0:
        return None
    height, width = mask.shape
    return (
        float(cols.min() / width),
        float(rows.min() / height),
        float((cols.max() + 1) / width),
        float((rows.max() + 1) / height),
    )


def box_mask(box: Box, width: int, height: int) -> np.ndarray:
    """A 0/1 mask set inside `box`."""
    mask = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = _pixels(box, width, height)
    mask[y0:y1, x0:x1] = 1.0
    return mask


def _pixels(box: Box, width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    if not (0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0):
        raise ValueError(f"the place {box} is not a box inside the picture")
    left, top = int(np.floor(x0 * width)), int(np.floor(y0 * height))
    right = max(left + 1, int(np.ceil(x1 * width)))
    bottom = max(top + 1, int(np.ceil(y1 * height)))
    return left, top, min(right, width), min(bottom, height)


def cut_out(image: Image.Image, mask: np.ndarray) -> Image.Image:
    """The element alone: RGBA cropped to its mask's box, transparent outside the mask (an
    empty mask gives a fully transparent 1x1 picture, which merges as nothing)."""
    box = mask_box(mask)
    if box is None:
        return Image.new("RGBA", (1, 1), (0, 0, 0, 0))
    alpha = Image.fromarray((np.clip(mask, 0, 1) * 255).astype(np.uint8), "L")
    rgba = image.convert("RGB").copy()
    rgba.putalpha(alpha)
    return rgba.crop(_pixels(box, image.width, image.height))


def placed(cutout: Image.Image, box: Box, width: int, height: int) -> tuple[Image.Image, int, int]:
    """The cutout scaled to fit inside `box` (its aspect kept), centred across and standing on
    the box's bottom edge: (scaled cutout, left, top) in pixels."""
    x0, y0, x1, y1 = _pixels(box, width, height)
    room_w, room_h = x1 - x0, y1 - y0
    scale = min(room_w / cutout.width, room_h / cutout.height)
    size = (max(1, min(room_w, round(cutout.width * scale))),
            max(1, min(room_h, round(cutout.height * scale))))  # fmt: skip
    scaled = cutout.resize(size, Image.Resampling.BICUBIC)
    return scaled, x0 + (room_w - size[0]) // 2, y1 - size[1]


def merge(background: Image.Image, pieces: Sequence[tuple[Image.Image, Box | None]]) -> Image.Image:
    """The background with each cutout pasted (alpha-blended) inside its box, in order; a
    piece without a box, or with an empty cutout, leaves the background as it is."""
    merged = background.convert("RGB").copy()
    for cutout, box in pieces:
        if box is None or cutout.getchannel("A").getbbox() is None:
            continue
        scaled, left, top = placed(cutout.convert("RGBA"), box, merged.width, merged.height)
        merged.paste(scaled, (left, top), scaled)
    return merged


def edge_sketch(image: Image.Image, threshold: float) -> Image.Image:
    """Seed 001 [0051]'s edge sketch: white edges on black where the Sobel gradient of the
    grey picture reaches `threshold` of its largest value (a flat picture has no edges)."""
    grey = np.asarray(image.convert("L"), dtype=np.float32)
    padded = np.pad(grey, 1, mode="edge")
    gx = (
        padded[:-2, 2:] + 2 * padded[1:-1, 2:] + padded[2:, 2:]
        - padded[:-2, :-2] - 2 * padded[1:-1, :-2] - padded[2:, :-2]
    )  # fmt: skip
    gy = (
        padded[2:, :-2] + 2 * padded[2:, 1:-1] + padded[2:, 2:]
        - padded[:-2, :-2] - 2 * padded[:-2, 1:-1] - padded[:-2, 2:]
    )  # fmt: skip
    magnitude = np.hypot(gx, gy)
    peak = float(magnitude.max())
    edges = magnitude >= threshold * peak if peak > 0 else np.zeros_like(magnitude, bool)
    return Image.fromarray((edges * 255).astype(np.uint8), "L")


def backdrop_mask(image: Image.Image, tolerance: float = 0.12) -> np.ndarray:
    """A segmenter for an element drawn alone: the pixels unlike its backdrop, the median
    colour of the picture's border, by more than `tolerance` of the colour range."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    backdrop = np.median(border, axis=0)
    distance = np.abs(pixels - backdrop).max(-1)
    return (distance > tolerance).astype(np.float32)


def open_picture(data: bytes, size: tuple[int, int], what: str, mode: str = "RGB") -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as image:
            opened = image.convert(mode)
    except (OSError, ValueError) as error:
        raise ValueError(f"the {what} could not be read: {error}") from error
    if mode == "RGB" and opened.size != size:
        opened = opened.resize(size, Image.Resampling.BICUBIC)
    return opened


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
