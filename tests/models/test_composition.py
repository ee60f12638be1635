"""Seed 001's composition on the tiny profile: each stage, and the invariants of the merge."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.engine import (
    CompositionRequest,
    ForegroundElement,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
)
from engine.composition import IMG2IMG_RENDER, Composer
from engine.composition_pixels import (
    backdrop_mask,
    box_mask,
    cut_out,
    edge_sketch,
    mask_box,
    merge,
    placed,
)

PROMPT = "a red fox beside a small boat in a snowy forest"


def pixels(png: bytes, mode: str = "RGB") -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert(mode), dtype=np.int16)


def picture(level: int | tuple[int, int, int], size: int = 64) -> Image.Image:
    colour = (level, level, level) if isinstance(level, int) else level
    return Image.new("RGB", (size, size), colour)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- pixel stages


def test_a_merge_with_an_empty_foreground_mask_gives_the_background() -> None:
    rng = np.random.default_rng(0)
    background = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    element = Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    empty = cut_out(element, np.zeros((64, 64), np.float32))
    merged = merge(background, [(empty, (0.1, 0.1, 0.9, 0.9))])
    assert np.array_equal(np.asarray(merged), np.asarray(background))
    # An element the initial picture did not show has no place: nothing is merged either.
    whole = cut_out(element, np.ones((64, 64), np.float32))
    assert np.array_equal(np.asarray(merge(background, [(whole, None)])), np.asarray(background))


PLACES = [(0.0, 0.0, 0.5, 0.5), (0.55, 0.3, 0.95, 0.9), (0.2, 0.6, 0.4, 1.0), (0.1, 0.1, 0.9, 0.3)]


@pytest.mark.parametrize("box", PLACES)
def test_an_element_pasted_at_a_place_lies_inside_that_places_box(box) -> None:
    background = picture(0)
    alone = picture(255)
    mask = np.zeros((64, 64), np.float32)
    mask[10:50, 20:40] = 1.0  # a tall element
    merged = np.asarray(merge(background, [(cut_out(alone, mask), box)]))
    changed = merged.max(-1) > 0
    assert changed.any()
    x0, y0, x1, y1 = box
    rows, cols = np.nonzero(changed)
    assert cols.min() >= np.floor(x0 * 64) and cols.max() < np.ceil(x1 * 64)
    assert rows.min() >= np.floor(y0 * 64) and rows.max() < np.ceil(y1 * 64)
    # Its aspect is kept and it stands on the box's bottom edge.
    scaled, _, top = placed(cut_out(alone, mask), box, 64, 64)
    assert top + scaled.height == int(np.ceil(y1 * 64))
    assert abs(scaled.width / scaled.height - 20 / 40) < 0.2


def test_mask_boxes_and_box_masks_agree() -> None:
    mask = box_mask((0.25, 0.5, 0.75, 1.0), 64, 64)
    assert mask_box(mask) == (0.25, 0.5, 0.75, 1.0)
    assert mask_box(np.zeros((8, 8))) is None
    with pytest.raises(ValueError, match="not a box"):
        box_mask((0.5, 0.5, 0.2, 0.9), 64, 64)


def test_the_edge_sketch_finds_the_edges_and_nothing_on_a_flat_picture() -> None:
    assert not np.asarray(edge_sketch(picture(128), 0.2)).any()
    half = np.zeros((64, 64, 3), np.uint8)
    half[:, 32:] = 255
    sketch = np.asarray(edge_sketch(Image.fromarray(half), 0.2))
    columns = np.nonzero(sketch.any(0))[0]
    assert set(columns) <= {30, 31, 32, 33} and len(columns) >= 1
    assert set(np.unique(sketch)) <= {0, 255}


def test_backdrop_segmentation_cuts_the_element_from_its_plain_backdrop() -> None:
    image = picture(255)
    image.paste((200, 30, 30), (20, 24, 44, 60))
    mask = backdrop_mask(image)
    assert mask_box(mask) == pytest.approx((20 / 64, 24 / 64, 44 / 64, 60 / 64))


# ---------------------------------------------------------------- on the tiny pipeline


@pytest.fixture(scope="module")
def initial(runner) -> GeneratedImage:
    [[drawn]] = runner.generate([GenerationRequest(PROMPT, (11,))])
    return drawn


def request_for(initial: GeneratedImage, **changes) -> CompositionRequest:
    fields = {
        "initial": initial.png,
        "provenance": initial.provenance,
        "foreground": (
            ForegroundElement("fox", "a red fox"),
            ForegroundElement("boat", "a small boat"),
        ),
        "background_prompt": "a snowy forest",
        "style": "watercolor painting, soft light",
        "edge_threshold": 0.2,
    }
    return CompositionRequest(**{**fields, **changes})


def test_every_stage_runs_and_is_recorded(runner, initial) -> None:
    steps: list[tuple[int, int]] = []
    [composed] = runner.compose([request_for(initial)], lambda d, t: steps.append((d, t)))
    record = composed.picture.provenance.composition
    assert record is not None
    assert record["background"]["how"].startswith(("the foreground inpainted", "the initial"))
    assert [e["word"] for e in record["foreground"]] == ["fox", "boat"]
    assert all(e["drawn"] == "alone, from its words" for e in record["foreground"])
    assert record["render"]["method"] == IMG2IMG_RENDER
    assert record["style"] == "watercolor painting, soft light"
    assert composed.picture.provenance.prompt.endswith("watercolor painting, soft light")
    assert composed.picture.provenance.seed == initial.provenance.seed
    for stage in (composed.picture.png, composed.background, composed.merged):
        assert pixels(stage).shape == (64, 64, 3)
    assert set(np.unique(pixels(composed.sketch, "L"))) <= {0, 255}
    assert len(composed.cutouts) == len(composed.boxes) == 2
    # The random tiny UNet still attends somewhere: each word found a place and was merged.
    for box, element in zip(composed.boxes, record["foreground"], strict=True):
        assert (box is None) == (element["box"] is None)
    assert steps and steps[-1][0] == steps[-1][1]  # progress reaches its planned total


def test_a_given_background_is_reused_not_redrawn(runner, initial) -> None:
    rng = np.random.default_rng(3)
    given = png(Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)))
    placed_fox = ForegroundElement("fox", "a red fox", box=(0.1, 0.5, 0.4, 1.0))
    request = request_for(initial, foreground=(placed_fox,), background=given)
    composer = runner._composer or Composer(runner._pipe, "tiny")
    # Only the element alone and the render are drawn: no mask pass, no inpainting.
    steps = initial.provenance.steps
    assert composer.planned_steps([request]) == steps + max(1, int(steps * 0.5))
    [composed] = runner.compose([request])
    assert np.array_equal(pixels(composed.background), pixels(given))
    record = composed.picture.provenance.composition
    assert record["background"] == {"how": "reused, not redrawn"}
    assert composed.boxes == ((0.1, 0.5, 0.4, 1.0),)
    # The merge differs from the background only inside the element's box.
    outside = box_mask((0.1, 0.5, 0.4, 1.0), 64, 64) == 0
    difference = np.abs(pixels(composed.merged) - pixels(given)).max(-1)
    assert not difference[outside].any()


def test_a_reused_cutout_is_merged_as_it_was(runner, initial) -> None:
    cutout = picture((250, 20, 20), 16).convert("RGBA")
    element = ForegroundElement("fox", "a red fox", cutout=png(cutout), box=(0.5, 0.5, 1.0, 1.0))
    request = request_for(initial, foreground=(element,), background=png(picture(0)))
    [composed] = runner.compose([request])
    merged = pixels(composed.merged)
    assert (merged[32:, 32:] == (250, 20, 20)).all()
    assert not merged[:32].any() and not merged[:, :32].any()
    assert composed.picture.provenance.composition["foreground"][0]["drawn"].endswith("reused")


def test_a_new_background_element_redraws_the_background(runner, initial) -> None:
    element = ForegroundElement("fox", "a red fox", cutout=png(picture(9, 8).convert("RGBA")),
                                box=(0.0, 0.0, 0.2, 0.2))  # fmt: skip
    request = request_for(
        initial,
        foreground=(element,),
        background_prompt="a snowy forest, a full moon",
        redraw_background=True,
    )
    [composed] = runner.compose([request])
    record = composed.picture.provenance.composition["background"]
    assert record["how"] == "redrawn by img2img from the previous background"
    assert record["prompt"] == "a snowy forest, a full moon"


def test_an_element_drawn_from_its_cast_look(runner, initial) -> None:
    element = ForegroundElement("fox", "a red fox", reference=png(picture((200, 90, 20))))
    [composed] = runner.compose([request_for(initial, foreground=(element,), cutout="backdrop")])
    drawn = composed.picture.provenance.composition["foreground"][0]
    assert drawn["drawn"] == "from its cast look by img2img (strength 0.6)"
    assert drawn["cut_out"] == "by its difference from the backdrop"


def test_cancelling_stops_a_composition(runner, initial) -> None:
    with pytest.raises(GenerationCancelled):
        runner.compose([request_for(initial)], None, lambda: True)


def test_the_controlnet_path_renders_the_sketch(runner, initial) -> None:
    """Real profiles render the sketch with a ControlNet for edges (sd15: its hub id is in the
    profile); here a random one made from the tiny UNet, so the code path runs offline."""
    from diffusers import ControlNetModel

    pipe = runner._pipe
    blocks = len(pipe.vae.config.block_out_channels)

    def load() -> ControlNetModel:
        return ControlNetModel.from_unet(
            pipe.unet, conditioning_embedding_out_channels=(4, 8, 16, 32)[:blocks]
        )

    composer = Composer(pipe, "tiny", load, "random ControlNet from the tiny UNet")
    [composed] = composer.compose([request_for(initial)])
    record = composed.picture.provenance.composition["render"]
    assert record["method"].startswith("ControlNet for edges (random ControlNet")
    assert pixels(composed.picture.png).shape == (64, 64, 3)


def test_requests_of_one_call_share_batched_stages(runner, initial) -> None:
    [[other]] = runner.generate([GenerationRequest("a small boat on a lake", (12,))])
    first = request_for(initial)
    second = request_for(other, foreground=(ForegroundElement("boat", "a small boat"),))
    composer = runner._composer
    assert composer is not None
    # Same steps, guidance and size: each stage is one call for both, not one each.
    assert composer.planned_steps([first, second]) == composer.planned_steps([first])
    steps: list[tuple[int, int]] = []
    a, b = runner.compose([first, second], lambda d, t: steps.append((d, t)))
    assert a.picture.provenance.seed == 11 and b.picture.provenance.seed == 12
    assert [e["word"] for e in b.picture.provenance.composition["foreground"]] == ["boat"]
    assert steps[-1] == (composer.planned_steps([first]),) * 2
