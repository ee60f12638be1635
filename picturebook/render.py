"""Draws a scene as a picture-book illustration: places, things, time, weather and style.

Drawing happens at four times the asked size on a canvas of 256 design units per side, then is
downsampled, so edges stay clean at 64x64. Every shape is also painted into a region map, from
which the ink and hatched styles draw their outlines. Random details (stars, raindrops,
snowflakes) come from a generator seeded by the scene itself, so a scene always draws the same.
"""

from __future__ import annotations

import random
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from picturebook import figures
from picturebook.canvas import RGB, Canvas, mix
from picturebook.world import INDOOR, Scene

UNITS = 256  # design units per picture side
HORIZON = 140  # where the sky meets the ground outdoors (and the wall meets the floor inside)
GROUND = 226  # where things stand
SLOT_X = {"left": 46.0, "centre": 128.0, "right": 210.0}
SCALE = {"small": 0.72, "big": 1.2}

SKY: dict[str, RGB] = {"day": (125, 185, 240), "dusk": (245, 150, 95), "night": (35, 45, 105)}
SKY_LOW: dict[str, RGB] = {"day": (190, 225, 250), "dusk": (210, 110, 150), "night": (55, 60, 120)}
# Whole-picture light: night is dark and blue, dusk warm.
LIGHT: dict[str, tuple[float, float, float]] = {
    "day": (1.0, 1.0, 1.0),
    "dusk": (1.0, 0.82, 0.72),
    "night": (0.5, 0.52, 0.68),
}
PAPER: RGB = (246, 240, 222)
INK: RGB = (25, 22, 20)


def scene_seed(scene: Scene) -> int:
    """A stable seed for the scene's random details (Python's hash() differs between runs)."""
    return zlib.crc32(repr(scene).encode())


def render(scene: Scene, size: int = 64) -> Image.Image:
    """The scene drawn as a size x size RGB picture; the same scene always gives the same one."""
    rng = random.Random(scene_seed(scene))
    canvas = Canvas(size * 4, UNITS)
    sky = sky_colours(scene)
    if scene.place in INDOOR:
        draw_indoor(canvas, scene, sky, rng)
    else:
        draw_outdoor(canvas, scene, sky, rng)
    for thing in sorted(scene.things, key=lambda t: SLOT_X[t.position]):
        figures.draw(canvas, thing, SLOT_X[thing.position], GROUND, SCALE[thing.size])
    pixels = styled(canvas, scene.style)
    pixels = lit(pixels, scene.time)
    picture = Image.fromarray(pixels)
    picture = weathered(picture, canvas, scene, rng)
    return picture.resize((size, size), Image.Resampling.LANCZOS)


def sky_colours(scene: Scene) -> tuple[RGB, RGB]:
    """Top and bottom sky colours: the time of day, greyed by rain or snow."""
    top, low = SKY[scene.time], SKY_LOW[scene.time]
    if scene.weather == "rain":
        return mix(top, (95, 100, 110), 0.55), mix(low, (120, 125, 135), 0.55)
    if scene.weather == "snow":
        return mix(top, (200, 205, 215), 0.45), mix(low, (225, 228, 235), 0.45)
    return top, low


def draw_sky(canvas: Canvas, box: tuple[float, float, float, float], sky: tuple[RGB, RGB]) -> None:
    """A vertical sky gradient in bands inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    bands = 8
    for i in range(bands):
        top = y0 + (y1 - y0) * i / bands
        bottom = y0 + (y1 - y0) * (i + 1) / bands
        canvas.rect((x0, top, x1, bottom), mix(sky[0], sky[1], i / (bands - 1)), region=1)


def draw_night_sky(canvas: Canvas, box: tuple[float, float, float, float], rng: random.Random):
    """Stars and a moon inside box, for clear nights."""
    x0, y0, x1, y1 = box
    for _ in range(int((x1 - x0) * (y1 - y0) / 900)):
        x, y = rng.uniform(x0 + 3, x1 - 3), rng.uniform(y0 + 3, y1 - 3)
        canvas.ellipse((x - 2.2, y - 2.2, x + 2.2, y + 2.2), (250, 245, 200), region=1)
    mx, my = x0 + (x1 - x0) * 0.78, y0 + (y1 - y0) * 0.3
    r = min(x1 - x0, y1 - y0) * 0.13
    canvas.ellipse((mx - r, my - r, mx + r, my + r), (250, 245, 210))


def draw_outdoor(canvas: Canvas, scene: Scene, sky: tuple[RGB, RGB], rng: random.Random):
    """Sky, the place's background and its ground."""
    draw_sky(canvas, (0, 0, UNITS, HORIZON + 10), sky)
    if scene.time == "night" and scene.weather == "clear":
        draw_night_sky(canvas, (0, 0, UNITS, HORIZON - 40), rng)
    snowy = scene.weather == "snow"
    {
        "harbour": draw_harbour,
        "forest": draw_forest,
        "village": draw_village,
        "mountain": draw_mountain,
    }[scene.place](canvas, snowy, rng)


def ground(colour: RGB, snowy: bool) -> RGB:
    """Ground colour, whitened by snow."""
    return mix(colour, (238, 240, 246), 0.6) if snowy else colour


def draw_harbour(canvas: Canvas, snowy: bool, rng: random.Random) -> None:
    canvas.rect((0, HORIZON - 20, UNITS, 190), (40, 100, 170))
    for row in range(5):
        y = HORIZON - 10 + row * 13
        for x in range(-10 + (row % 2) * 18, UNITS, 36):
            canvas.line([(x, y), (x + 9, y - 4), (x + 18, y)], (150, 200, 235), 3)
    canvas.rect((0, 190, UNITS, UNITS), ground((150, 115, 80), snowy))
    for y in (204, 220, 238):
        canvas.line([(0, y), (UNITS, y)], (105, 78, 55), 3)
    for x in (20, 100, 180, 240):
        canvas.rect((x, 178, x + 9, 192), (95, 70, 50))


def draw_forest(canvas: Canvas, snowy: bool, rng: random.Random) -> None:
    canvas.rect((0, HORIZON, UNITS, UNITS), ground((85, 120, 55), snowy))
    for i, x in enumerate(range(-10, UNITS + 20, 30)):
        top = 40 + (i * 37) % 30
        base = HORIZON + 12
        canvas.rect((x - 4, base - 15, x + 4, base + 4), (90, 60, 40))
        leaves = (30, 85, 50) if i % 2 else (25, 105, 60)
        canvas.polygon([(x - 24, base - 8), (x + 24, base - 8), (x, top)], leaves)
        if snowy:
            canvas.polygon([(x - 9, top + 28), (x + 9, top + 28), (x, top)], (235, 238, 245))


def draw_village(canvas: Canvas, snowy: bool, rng: random.Random) -> None:
    canvas.rect((0, HORIZON, UNITS, UNITS), ground((165, 155, 140), snowy))
    for y in range(HORIZON + 18, UNITS, 22):
        for x in range((y // 22 % 2) * 14, UNITS, 28):
            canvas.rect((x + 2, y, x + 24, y + 3), (130, 120, 108))
    for i, x in enumerate(range(0, UNITS, 52)):
        h = 34 + (i * 13) % 16
        wall = ((225, 205, 165), (205, 185, 150), (235, 220, 190))[i % 3]
        canvas.rect((x + 4, HORIZON - h, x + 46, HORIZON + 4), wall)
        roof = (235, 238, 245) if snowy else (150, 70, 50)
        canvas.polygon([(x, HORIZON - h), (x + 50, HORIZON - h), (x + 25, HORIZON - h - 24)], roof)
        canvas.rect((x + 19, HORIZON - h + 10, x + 31, HORIZON - h + 22), (80, 90, 110))


def draw_mountain(canvas: Canvas, snowy: bool, rng: random.Random) -> None:
    peaks = [(-20, 60, 120), (70, 25, 110), (170, 45, 120), (260, 70, 100)]
    for x, top, half in peaks:
        canvas.polygon(
            [(x - half, HORIZON + 10), (x + half, HORIZON + 10), (x, top)], (120, 115, 130)
        )
        cap = 0.3
        canvas.polygon(
            [
                (x - half * cap, top + (HORIZON + 10 - top) * cap),
                (x + half * cap, top + (HORIZON + 10 - top) * cap),
                (x, top),
            ],
            (245, 246, 250),
        )
    canvas.rect((0, HORIZON + 10, UNITS, UNITS), ground((130, 110, 95), snowy))
    for x, y in ((30, 175), (150, 168), (215, 240), (95, 245)):
        canvas.ellipse((x - 12, y - 6, x + 12, y + 6), (100, 92, 88))


def draw_indoor(canvas: Canvas, scene: Scene, sky: tuple[RGB, RGB], rng: random.Random):
    """Wall, windows onto the sky (so time and weather show), and the floor."""
    if scene.place == "castle hall":
        canvas.rect((0, 0, UNITS, 170), (120, 120, 128))
        for y in range(0, 170, 20):
            for x in range(-((y // 20) % 2) * 20, UNITS, 40):
                canvas.rect((x + 2, y + 2, x + 38, y + 18), (140, 140, 148))
        windows = [(22, 28, 82, 128), (174, 28, 234, 128)]
        for x0, y0, x1, y1 in windows:
            canvas.rect((x0 - 6, y0 - 6, x1 + 6, y1 + 4), (90, 88, 95))
            canvas.ellipse((x0 - 6, y0 - 36, x1 + 6, y0 + 24), (90, 88, 95))
        panes = [(x0, y0, x1, y1) for x0, y0, x1, y1 in windows]
        for pane in panes:
            draw_window(canvas, scene, pane, sky, rng, arched=True)
        canvas.rect((110, 20, 146, 100), (150, 30, 40))
        canvas.polygon([(110, 100), (146, 100), (128, 84)], (120, 120, 128))
        canvas.rect((0, 170, UNITS, UNITS), (85, 80, 85))
        for i, x in enumerate(range(0, UNITS, 32)):
            for j, y in enumerate(range(170, UNITS, 22)):
                if (i + j) % 2:
                    canvas.rect((x, y, x + 32, y + 22), (105, 100, 105))
    else:
        canvas.rect((0, 0, UNITS, 175), (230, 200, 150))
        for x in range(8, UNITS, 24):
            canvas.rect((x, 0, x + 7, 175), (215, 180, 125))
        pane = (88, 26, 168, 106)
        canvas.rect((pane[0] - 8, pane[1] - 8, pane[2] + 8, pane[3] + 8), (120, 80, 50))
        draw_window(canvas, scene, pane, sky, rng, arched=False)
        canvas.rect((16, 40, 60, 80), (120, 80, 50))
        canvas.rect((22, 46, 54, 74), (90, 150, 110))
        canvas.rect((0, 175, UNITS, UNITS), (150, 100, 60))
        for y in range(185, UNITS, 18):
            canvas.line([(0, y), (UNITS, y)], (115, 75, 45), 3)


def draw_window(canvas, scene, pane, sky, rng, arched: bool) -> None:
    """A window showing the sky, its stars, and its rain or snow."""
    x0, y0, x1, y1 = pane
    draw_sky(canvas, pane, sky)
    if arched:
        canvas.ellipse((x0, y0 - 30, x1, y0 + 30), sky[0], region=1)
    if scene.time == "night" and scene.weather == "clear":
        draw_night_sky(canvas, pane, rng)
    if scene.weather == "rain":
        for _ in range(14):
            x, y = rng.uniform(x0 + 4, x1 - 10), rng.uniform(y0 + 2, y1 - 20)
            canvas.line([(x, y), (x + 6, y + 16)], (200, 215, 240), 4)
    elif scene.weather == "snow":
        for _ in range(16):
            x, y = rng.uniform(x0 + 5, x1 - 5), rng.uniform(y0 + 5, y1 - 5)
            canvas.ellipse((x - 4.5, y - 4.5, x + 4.5, y + 4.5), (255, 255, 255))
        canvas.rect((x0, y1 - 12, x1, y1), (240, 242, 248))
    mid = (x0 + x1) / 2
    frame = (90, 88, 95) if arched else (120, 80, 50)
    canvas.line([(mid, y0 - (30 if arched else 0)), (mid, y1)], frame, 5)
    canvas.line([(x0, (y0 + y1) / 2), (x1, (y0 + y1) / 2)], frame, 5)


def styled(canvas: Canvas, style: str) -> np.ndarray:
    """The drawing in its style: flat colour, thick ink outlines, or hatching on paper."""
    pixels = np.asarray(canvas.image, dtype=np.float32)
    if style == "flat":
        return pixels.astype(np.uint8)
    px = canvas.pixels_per_unit
    if style == "ink":
        edges = canvas.edges(width=max(1, round(4.5 * px)))
        pixels[edges] = INK
        return pixels.astype(np.uint8)
    # hatched: diagonal strokes of the colour on paper, and a thin outline
    h, w = pixels.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    period = 16 * px  # four pixels at 64x64: finer strokes alias into moiré
    stroke = ((xx + yy) % period) < period * 0.5
    paper = np.array(PAPER, dtype=np.float32)
    washed = pixels * 0.5 + paper * 0.5
    out = np.where(stroke[..., None], pixels * 0.85, washed)
    out[canvas.edges(width=max(1, round(2 * px)))] = (70, 60, 55)
    return out.clip(0, 255).astype(np.uint8)


def lit(pixels: np.ndarray, time: str) -> np.ndarray:
    """The light of the time of day over the whole picture."""
    light = np.array(LIGHT[time], dtype=np.float32)
    return (pixels.astype(np.float32) * light).clip(0, 255).astype(np.uint8)


def weathered(picture: Image.Image, canvas: Canvas, scene: Scene, rng: random.Random):
    """Rain streaks or snowflakes over an outdoor picture (indoors they fall past the windows)."""
    if scene.place in INDOOR or scene.weather == "clear":
        return picture
    px = canvas.pixels_per_unit
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if scene.weather == "rain":
        for _ in range(90):
            x, y = rng.uniform(-10, UNITS), rng.uniform(-20, UNITS)
            draw.line(
                [(x * px, y * px), ((x + 7) * px, (y + 22) * px)],
                fill=(205, 220, 245, 210),
                width=max(1, round(3.5 * px)),
            )
    else:
        for _ in range(85):
            x, y = rng.uniform(0, UNITS), rng.uniform(0, UNITS)
            r = rng.uniform(3.5, 5.5) * px
            draw.ellipse(
                (x * px - r, y * px - r, x * px + r, y * px + r), fill=(255, 255, 255, 235)
            )
    layer = layer.filter(ImageFilter.GaussianBlur(0.4 * px))
    return Image.alpha_composite(picture.convert("RGBA"), layer).convert("RGB")
