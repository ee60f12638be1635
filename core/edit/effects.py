"""What the engine draws for each kind of request: one or more of its four edit kinds.

Style, resize and correction reuse seed 001/003's edits (a named style is a global change;
a size or a corrected look is an attribute edit inside the element's own word mask); a move
is a removal then an addition in the named place; framing changes the picture first (a crop
for zooming in, a shrunken copy on a blurred canvas for zooming out, a shift for panning)
and then lets the engine redraw it (img2img) or fill the uncovered strip (inpainting).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, replace

from PIL import Image, ImageFilter

from core.edit.understanding import EditIntent
from core.edit.vocabulary import DEFAULT_PLACE, PLACES, WHOLE_PICTURE

ZOOM = 1.5  # zooming in keeps the middle 1/ZOOM of the picture; zooming out shows ZOOM times more
PAN = 0.25  # panning shifts the picture by this share of its size
ZOOM_IN_STRENGTH = 0.3  # img2img after the crop: details redrawn, the scene kept
ZOOM_OUT_STRENGTH = 0.6  # img2img over the blurred border: the border becomes scenery


@dataclass(frozen=True)
class Step:
    """One engine edit: the intent it draws and how the picture is prepared for it."""

    intent: EditIntent
    prepare: Callable[[bytes], bytes] | None = None
    strength: float | None = None  # None: the policy's strength


def steps_for(intent: EditIntent, owner: str = "") -> list[Step]:
    """The engine edits that make `intent` happen, in order."""
    kind = intent.kind
    if kind in ("global", "add", "remove", "attribute"):
        return [Step(intent)]
    if kind == "style":
        return [Step(replace(intent, kind="global", words=intent.words or intent.style))]
    if kind in ("resize", "correction"):
        return [Step(replace(intent, kind="attribute", element=owner or intent.element))]
    if kind == "move":
        region = PLACES.get(intent.place, DEFAULT_PLACE)
        return [
            Step(replace(intent, kind="remove", region=WHOLE_PICTURE)),
            Step(replace(intent, kind="add", region=region)),
        ]
    if kind == "framing":
        return [_framing(intent.direction)]
    raise ValueError(f"{kind!r} is not drawn")


def _framing(direction: str) -> Step:
    plain = EditIntent("global")
    if direction == "in":
        return Step(plain, zoomed_in, ZOOM_IN_STRENGTH)
    if direction == "out":
        return Step(plain, zoomed_out, ZOOM_OUT_STRENGTH)
    strip = uncovered(direction)
    return Step(EditIntent("add", region=strip), lambda png: panned(png, direction))


def uncovered(direction: str) -> tuple[float, float, float, float]:
    """The strip a pan uncovers: looking left shows new scenery on the left."""
    return {
        "left": (0.0, 0.0, PAN, 1.0),
        "right": (1.0 - PAN, 0.0, 1.0, 1.0),
        "up": (0.0, 0.0, 1.0, PAN),
        "down": (0.0, 1.0 - PAN, 1.0, 1.0),
    }[direction]


def zoomed_in(png: bytes) -> bytes:
    """The middle of the picture, scaled back to its size."""
    picture = _open(png)
    w, h = picture.size
    cw, ch = round(w / ZOOM), round(h / ZOOM)
    box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    return _png(picture.crop(box).resize((w, h), Image.Resampling.LANCZOS))


def zoomed_out(png: bytes) -> bytes:
    """The picture shrunk into the middle of a blurred, stretched copy of itself."""
    picture = _open(png)
    w, h = picture.size
    canvas = picture.filter(ImageFilter.GaussianBlur(max(w, h) / 16))
    small = picture.resize((round(w / ZOOM), round(h / ZOOM)), Image.Resampling.LANCZOS)
    canvas.paste(small, ((w - small.width) // 2, (h - small.height) // 2))
    return _png(canvas)


def panned(png: bytes, direction: str) -> bytes:
    """The picture shifted away from `direction`; the uncovered strip repeats the edge."""
    picture = _open(png)
    w, h = picture.size
    dx = {"left": 1, "right": -1}.get(direction, 0) * round(w * PAN)
    dy = {"up": 1, "down": -1}.get(direction, 0) * round(h * PAN)
    canvas = picture.copy()
    canvas.paste(picture, (dx, dy))
    if dx > 0:
        canvas.paste(picture.crop((0, 0, 1, h)).resize((dx, h)), (0, 0))
    elif dx < 0:
        canvas.paste(picture.crop((w - 1, 0, w, h)).resize((-dx, h)), (w + dx, 0))
    if dy > 0:
        canvas.paste(picture.crop((0, 0, w, 1)).resize((w, dy)), (0, 0))
    elif dy < 0:
        canvas.paste(picture.crop((0, h - 1, w, h)).resize((w, -dy)), (0, h + dy))
    return _png(canvas)


def _open(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as opened:
        return opened.convert("RGB")


def _png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
