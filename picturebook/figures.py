"""The characters and props: one drawing function per kind, each with its own silhouette.

A figure is drawn in local units (x to the right, y up from the ground, about 130 high for a
big knight) and placed at a slot by `Figure`. The thing's colour is its main colour: a
character's clothes or fur, a prop's body.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from picturebook.canvas import RGB, Canvas, Point, shade
from picturebook.world import Thing

PALETTE: dict[str, RGB] = {
    "red": (215, 45, 40),
    "blue": (45, 95, 215),
    "green": (50, 165, 60),
    "yellow": (240, 210, 50),
    "purple": (145, 60, 185),
    "white": (245, 245, 245),
}
SKIN: RGB = (240, 200, 160)
HAIR: RGB = (110, 70, 40)
STEEL: RGB = (165, 170, 182)
DARK: RGB = (45, 40, 42)
WOOD: RGB = (120, 80, 45)
GOLD: RGB = (235, 190, 60)
HAT: RGB = (55, 40, 35)
HAT_BAND: RGB = (235, 190, 60)


class Figure:
    """Local figure units mapped onto the canvas at a slot: x scaled, y flipped and scaled."""

    def __init__(
        self, canvas: Canvas, cx: float, base: float, scale: float, squeeze: float = 1.0
    ) -> None:
        self.canvas, self.cx, self.base, self.scale = canvas, cx, base, scale
        self.xscale = scale * squeeze  # long animals are narrowed to fit their slot

    def _p(self, points: Sequence[Point]) -> list[Point]:
        return [(self.cx + x * self.xscale, self.base - y * self.scale) for x, y in points]

    def poly(self, points: Sequence[Point], colour: RGB) -> None:
        self.canvas.polygon(self._p(points), colour)

    def rect(self, x0: float, y0: float, x1: float, y1: float, colour: RGB) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], colour)

    def circle(self, x: float, y: float, rx: float, colour: RGB, ry: float | None = None) -> None:
        ry = rx if ry is None else ry
        (x0, y1), (x1, y0) = self._p([(x - rx, y - ry), (x + rx, y + ry)])
        self.canvas.ellipse((x0, y0, x1, y1), colour)

    def line(self, points: Sequence[Point], colour: RGB, width: float) -> None:
        self.canvas.line(self._p(points), colour, width * self.scale)


def brimmed_hat(f: Figure, top: float, half: float = 20) -> None:
    """A dark hat with a gold band, sitting on a head whose top is at y=top."""
    f.rect(-half, top - 3, half, top + 4, HAT)
    f.rect(-half * 0.62, top + 4, half * 0.62, top + 28, HAT)
    f.rect(-half * 0.62, top + 4, half * 0.62, top + 9, HAT_BAND)


def pointed_hat(f: Figure, x: float, top: float, half: float = 13, height: float = 26) -> None:
    """A small cone hat with a gold band (animals, and the witch's taller one)."""
    f.poly([(x - half, top - 2), (x + half, top - 2), (x + 2, top + height)], HAT)
    f.rect(x - half * 0.8, top - 2, x + half * 0.8, top + 4, HAT_BAND)


def knight(f: Figure, c: RGB, hat: bool) -> None:
    f.rect(-15, 0, -5, 42, STEEL)
    f.rect(5, 0, 15, 42, STEEL)
    f.poly([(-24, 40), (24, 40), (20, 92), (-20, 92)], c)
    f.rect(-31, 52, -22, 88, STEEL)
    f.rect(22, 52, 31, 88, STEEL)
    f.poly([(-16, 90), (16, 90), (16, 116), (0, 126), (-16, 116)], STEEL)
    f.rect(-12, 104, 12, 108, DARK)
    if hat:
        brimmed_hat(f, 122, 22)
    else:
        f.poly([(-3, 124), (3, 124), (10, 140), (-6, 138)], shade(c, 0.7))


def girl(f: Figure, c: RGB, hat: bool) -> None:
    f.rect(-9, 0, -4, 24, SKIN)
    f.rect(4, 0, 9, 24, SKIN)
    f.poly([(-32, 20), (32, 20), (11, 84), (-11, 84)], c)
    f.line([(-9, 78), (-24, 52)], SKIN, 6)
    f.line([(9, 78), (24, 52)], SKIN, 6)
    f.poly([(-19, 112), (19, 112), (22, 66), (-22, 66)], HAIR)
    f.circle(0, 98, 15, SKIN)
    if hat:
        brimmed_hat(f, 110, 22)
    else:
        f.poly([(-16, 104), (16, 104), (12, 114), (-12, 114)], HAIR)


def old_man(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(30, 0), (30, 92), (22, 100)], WOOD, 5)
    f.poly([(-20, 0), (20, 0), (17, 86), (-17, 86)], c)
    f.line([(14, 76), (30, 64)], c, 8)
    f.circle(0, 100, 14, SKIN)
    f.poly([(-13, 96), (13, 96), (0, 64)], (228, 228, 232))
    f.rect(-15, 98, -11, 108, (200, 200, 205))
    f.rect(11, 98, 15, 108, (200, 200, 205))
    if hat:
        brimmed_hat(f, 110, 20)


def boy(f: Figure, c: RGB, hat: bool) -> None:
    f.rect(-13, 0, -3, 38, (60, 62, 85))
    f.rect(3, 0, 13, 38, (60, 62, 85))
    f.rect(-17, 36, 17, 74, c)
    f.rect(-25, 46, -17, 72, c)
    f.rect(17, 46, 25, 72, c)
    f.circle(0, 87, 14, SKIN)
    if hat:
        brimmed_hat(f, 98, 20)
    else:
        f.poly(
            [(-15, 90), (-10, 104), (-4, 98), (2, 105), (8, 98), (15, 92), (10, 100), (-12, 100)],
            HAIR,
        )


def witch(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(22, 2), (40, 84)], WOOD, 5)
    f.poly([(16, 0), (30, 0), (27, 18), (19, 18)], GOLD)
    f.poly([(-30, 0), (30, 0), (6, 92), (-6, 92)], c)
    f.poly([(-16, 104), (16, 104), (19, 68), (-19, 68)], (40, 32, 42))
    f.circle(0, 98, 13, SKIN)
    f.line([(6, 76), (30, 54)], c, 7)
    if hat:
        f.rect(-24, 106, 24, 112, HAT)
        f.poly([(-14, 111), (14, 111), (10, 152)], HAT)
        f.rect(-13, 111, 13, 117, HAT_BAND)


def fox(f: Figure, c: RGB, hat: bool) -> None:
    for x in (-24, -12, 10, 20):
        f.line([(x, 0), (x, 22)], DARK, 5)
    f.poly([(-30, 36), (-48, 64), (-56, 58), (-44, 30)], c)
    f.poly([(-56, 58), (-48, 64), (-58, 72)], (245, 245, 245))
    f.circle(-4, 32, 32, c, 14)
    f.circle(30, 46, 12, c)
    f.poly([(38, 52), (56, 42), (38, 38)], c)
    f.circle(55, 42, 3, DARK)
    f.poly([(21, 54), (24, 72), (30, 56)], c)
    f.poly([(31, 56), (38, 72), (40, 52)], c)
    if hat:
        pointed_hat(f, 30, 60, 11, 22)


def cat(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(14, 6), (34, 14), (38, 44)], c, 7)
    f.circle(0, 26, 20, c, 27)
    f.circle(0, 64, 17, c)
    f.poly([(-16, 68), (-14, 90), (-4, 78)], c)
    f.poly([(16, 68), (14, 90), (4, 78)], c)
    f.circle(-6, 66, 3, DARK)
    f.circle(6, 66, 3, DARK)
    if hat:
        pointed_hat(f, 0, 80, 11, 22)


def dragon(f: Figure, c: RGB, hat: bool) -> None:
    wing = shade(c, 0.72)
    f.poly([(-14, 56), (-44, 118), (-20, 100), (4, 112), (10, 58)], wing)
    f.poly([(-30, 30), (-62, 10), (-66, 2), (-30, 20)], c)
    for x in (-22, -8, 6, 16):
        f.rect(x, 0, x + 8, 22, c)
    f.circle(-4, 38, 30, c, 20)
    f.poly([(14, 44), (26, 92), (38, 88), (30, 36)], c)
    f.circle(36, 96, 14, c, 10)
    f.poly([(44, 102), (58, 94), (44, 88)], c)
    f.circle(38, 99, 2.5, DARK)
    for x in (-24, -12, 0):
        f.poly([(x - 5, 56), (x + 5, 56), (x, 66)], shade(c, 0.6))
    if hat:
        pointed_hat(f, 34, 104, 10, 20)


def lantern(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(-10, 64), (-8, 74), (8, 74), (10, 64)], DARK, 4)
    f.rect(-17, 0, 17, 8, c)
    f.rect(-13, 8, 13, 52, (255, 230, 130))
    f.circle(0, 28, 6, (255, 250, 210))
    f.rect(-15, 8, -10, 52, c)
    f.rect(10, 8, 15, 52, c)
    f.poly([(-18, 52), (18, 52), (8, 64), (-8, 64)], c)


def boat(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(0, 22), (0, 100)], WOOD, 4)
    f.poly([(4, 96), (4, 30), (40, 30)], (245, 238, 215))
    f.poly([(-4, 90), (-4, 36), (-30, 36)], (245, 238, 215))
    f.poly([(-48, 24), (48, 24), (34, 0), (-34, 0)], c)
    f.rect(-44, 18, 44, 24, shade(c, 0.7))


def sword(f: Figure, c: RGB, hat: bool) -> None:
    f.poly([(-6, 8), (6, 8), (6, 80), (-6, 80)], STEEL)
    f.poly([(-6, 8), (6, 8), (0, -4)], STEEL)
    f.rect(-1, 12, 1, 78, (215, 220, 230))
    f.rect(-26, 78, 26, 92, c)
    f.rect(-6, 92, 6, 116, c)
    f.circle(0, 120, 9, c)


def tree(f: Figure, c: RGB, hat: bool) -> None:
    f.poly([(-10, 0), (10, 0), (7, 62), (-7, 62)], WOOD)
    f.line([(4, 50), (20, 66)], WOOD, 5)
    f.circle(-20, 80, 24, c)
    f.circle(20, 82, 24, c)
    f.circle(0, 104, 28, c)
    f.circle(-8, 96, 10, shade(c, 0.8))


def house(f: Figure, c: RGB, hat: bool) -> None:
    f.rect(-36, 0, 36, 62, c)
    f.poly([(-44, 60), (44, 60), (0, 104)], (125, 55, 40))
    f.rect(18, 78, 28, 100, (90, 80, 80))
    f.rect(-10, 0, 10, 34, WOOD)
    f.rect(-30, 30, -16, 46, (250, 225, 130))
    f.rect(16, 30, 30, 46, (250, 225, 130))


def chest(f: Figure, c: RGB, hat: bool) -> None:
    f.rect(-34, 0, 34, 36, c)
    f.circle(0, 36, 34, shade(c, 0.82), 20)
    f.rect(-34, 32, 34, 37, shade(c, 0.6))
    f.rect(-24, 0, -17, 55, GOLD)
    f.rect(17, 0, 24, 55, GOLD)
    f.rect(-6, 24, 6, 40, GOLD)


def gull(f: Figure, c: RGB, hat: bool) -> None:
    lift = 96  # a gull flies above the ground
    wing = shade(c, 0.8)
    f.poly([(-4, lift + 4), (-46, lift + 30), (-38, lift + 36), (-2, lift + 12)], wing)
    f.poly([(4, lift + 4), (46, lift + 30), (38, lift + 36), (2, lift + 12)], wing)
    f.circle(0, lift, 22, c, 9)
    f.poly([(-20, lift), (-32, lift + 8), (-32, lift - 6)], c)
    f.circle(20, lift + 5, 8, c)
    f.poly([(27, lift + 7), (38, lift + 3), (27, lift + 1)], (245, 160, 40))
    f.circle(22, lift + 7, 2, DARK)


def cup(f: Figure, c: RGB, hat: bool) -> None:
    f.line([(20, 44), (36, 44), (36, 16), (18, 14)], c, 7)
    f.poly([(-24, 0), (24, 0), (28, 52), (-28, 52)], c)
    f.circle(0, 52, 28, shade(c, 0.7), 6)
    f.circle(0, 52, 22, (110, 65, 40), 4)
    f.line([(-6, 62), (-2, 72), (-6, 82)], (235, 235, 240), 3)
    f.line([(6, 62), (10, 72), (6, 82)], (235, 235, 240), 3)


# Figures wider than about +-42 local units are narrowed so a big one stays inside its slot.
SQUEEZE: dict[str, float] = {"fox": 0.75, "dragon": 0.68, "boat": 0.88, "gull": 0.9, "house": 0.95}

DRAWERS: dict[str, Callable[[Figure, RGB, bool], None]] = {
    "knight": knight,
    "girl": girl,
    "old man": old_man,
    "fox": fox,
    "cat": cat,
    "dragon": dragon,
    "boy": boy,
    "witch": witch,
    "lantern": lantern,
    "boat": boat,
    "sword": sword,
    "tree": tree,
    "house": house,
    "chest": chest,
    "gull": gull,
    "cup": cup,
}


def draw(canvas: Canvas, thing: Thing, cx: float, base: float, scale: float) -> None:
    """Draw a thing standing at (cx, base) in canvas units."""
    figure = Figure(canvas, cx, base, scale, SQUEEZE.get(thing.kind, 1.0))
    DRAWERS[thing.kind](figure, PALETTE[thing.colour], thing.hat)
