"""Checking a writer's style picture: refuse what cannot be read safely, normalise the rest."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Only these decoders are tried: every extra Pillow plugin is more parser exposed to uploads.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_SEND_INSTEAD = "Send a PNG, JPEG or WebP picture."
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})


class StyleImageRefused(ValueError):
    """The picture cannot be a style reference; the message is for the writer."""


@dataclass(frozen=True)
class StyleLimits:
    max_bytes: int = 10 * 1024 * 1024
    # Checked from the header before any pixel is decoded: a small file can declare a huge
    # canvas (a decompression bomb) and would take gigabytes once decoded.
    max_pixels: int = 40_000_000
    # Smaller pictures would be blown up to the 512x512 the style statistics use, and their
    # blur would pass for the style.
    min_side: int = 128
    # What is stored and shown back; the models resize to their own size anyway.
    max_stored_side: int = 1024


@dataclass(frozen=True)
class StyleImage:
    """A refused-or-fixed upload: 8-bit RGB PNG bytes, its size, and what was changed."""

    png: bytes
    width: int
    height: int
    notes: tuple[str, ...] = ()


def normalise_style_image(data: bytes, limits: StyleLimits | None = None) -> StyleImage:
    """The upload as an 8-bit RGB PNG, or StyleImageRefused saying why and what to send.

    Not an image, an unsupported format, animated, over `max_bytes`, over `max_pixels` or
    under `min_side` are refused. CMYK, 16-bit, palette and alpha (filled with white) are
    converted; EXIF rotation is applied; large pictures are scaled down for storage.
    """
    limits = limits or StyleLimits()
    if not data:
        raise StyleImageRefused("The upload was empty. " + _SEND_INSTEAD)
    if len(data) > limits.max_bytes:
        raise StyleImageRefused(
            f"That file is {len(data) / 2**20:.1f} MB; a style picture can be at most "
            f"{limits.max_bytes / 2**20:.0f} MB."
        )
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; we refuse either way.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, limits)
        with image:
            image = _decoded(image)
    notes: list[str] = []
    image = ImageOps.exif_transpose(image)
    image, converted = _to_rgb(image)
    notes.extend(converted)
    width, height = image.size
    if max(width, height) > limits.max_stored_side:
        image.thumbnail((limits.max_stored_side,) * 2, Image.LANCZOS)
        notes.append(f"Scaled down from {width}×{height} to {image.width}×{image.height}.")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return StyleImage(buffer.getvalue(), image.width, image.height, tuple(notes))


def _open(data: bytes, limits: StyleLimits) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise StyleImageRefused(_too_large(None, limits)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise StyleImageRefused(
            "That file isn't a picture Inkwell can read. " + _SEND_INSTEAD
        ) from None
    width, height = image.size
    problem = None
    if width * height > limits.max_pixels:
        problem = _too_large((width, height), limits)
    elif getattr(image, "is_animated", False):
        problem = (
            "Animated pictures can't set a style: the look would change frame by frame. "
            "Send a still picture (a screenshot of one frame works)."
        )
    elif min(width, height) < limits.min_side:
        problem = (
            f"That picture is only {width}×{height} pixels; a style picture needs at least "
            f"{limits.min_side} pixels on each side so its texture shows."
        )
    if problem is not None:
        image.close()
        raise StyleImageRefused(problem)
    return image


def _decoded(image: Image.Image) -> Image.Image:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError):
        raise StyleImageRefused(
            "That picture is damaged or cut short and couldn't be read completely. " + _SEND_INSTEAD
        ) from None
    return image.copy()


def _too_large(size: tuple[int, int] | None, limits: StyleLimits) -> str:
    declared = f"{size[0]}×{size[1]} pixels" if size else "far too many pixels"
    return (
        f"That picture declares {declared}, too large to open safely; a style picture can "
        f"have at most {limits.max_pixels / 1e6:.0f} megapixels."
    )


def _to_rgb(image: Image.Image) -> tuple[Image.Image, list[str]]:
    """8-bit RGB, saying what changed in a way the writer can check against their file."""
    mode = image.mode
    if mode.startswith("I"):
        # 16-bit greyscale ("I;16*", or "I" holding 16-bit values): keep the top 8 bits;
        # a plain convert("RGB") would clip everything above 255 to white.
        values = np.asarray(image, dtype=np.int64)
        if mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values >> 8
        grey = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
        return grey.convert("RGB"), ["16-bit greyscale was reduced to 8-bit."]
    if mode == "CMYK":
        return image.convert("RGB"), ["Converted from CMYK print colours to RGB."]
    has_alpha = mode in _ALPHA_MODES or (mode == "P" and "transparency" in image.info)
    if has_alpha:
        rgba = image.convert("RGBA")
        alpha_min, _ = rgba.getchannel("A").getextrema()
        if alpha_min < 255:
            # The style statistics see no alpha; white is what a page behind it would show.
            canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            canvas.alpha_composite(rgba)
            return canvas.convert("RGB"), ["Transparent areas were filled with white."]
        return rgba.convert("RGB"), []
    return (image if mode == "RGB" else image.convert("RGB")), []
