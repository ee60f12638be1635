"""ModelRunner.edit on the tiny profile: global updates, element edits, attribute edits."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.engine import (
    EditRequest,
    GeneratedImage,
    GenerationCancelled,
    GenerationRequest,
    Provenance,
    StyleRef,
    ToneShift,
)
from engine.edit_settings import EditSettings
from engine.editing import global_steps, region_mask
from engine.profiles import ModelProfile
from engine.seeds import pictures_match
from engine.tone import mean_luminance

PROMPT = "a knight with long hair in a forest"


@pytest.fixture(scope="module")
def parent(runner) -> GeneratedImage:
    [[drawn]] = runner.generate([GenerationRequest(PROMPT, (5,))])
    return drawn


def pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


def flat_png(level: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (level, level, level)).save(buffer, format="PNG")
    return buffer.getvalue()


def luminance(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return mean_luminance(image)


def test_darker_is_darker_and_the_same_seed_redraws_the_same(runner, parent) -> None:
    request = EditRequest(
        "global", parent.png, parent.provenance, f"{PROMPT}, dark", tone=ToneShift(brightness=0.7)
    )
    first, again = runner.edit([request, request])
    assert luminance(first.png) < luminance(parent.png)
    assert luminance(first.png) == pytest.approx(0.7 * luminance(parent.png), abs=1.0)
    assert pictures_match(pixels(first.png), pixels(again.png))  # two rows of one batch
    p = first.provenance
    assert (p.prompt, p.seed, p.edit_chain) == (f"{PROMPT}, dark", 5, ())
    assert p.edit == {
        "kind": "global",
        "strength": 0.6,
        "steps": 2,
        "tone": {"brightness": 0.7, "saturation": 1.0, "warmth": 0.0},
    }
    assert Provenance.from_dict(p.to_dict()) == p


def test_a_global_update_redraws_from_the_parent_not_from_scratch(runner, parent) -> None:
    lighter = EditRequest("global", parent.png, parent.provenance, PROMPT, strength=0.5)
    other = replace(lighter, image=flat_png(255))
    near, far = runner.edit([lighter, other])
    assert (
        np.abs(pixels(near.png) - pixels(parent.png)).mean()
        < np.abs(pixels(far.png) - pixels(parent.png)).mean()
    )


@pytest.mark.parametrize("kind", ["add", "remove"])
def test_element_edits_change_the_region_and_keep_the_rest(runner, parent, kind) -> None:
    request = EditRequest(
        kind,
        parent.png,
        parent.provenance,
        f"{PROMPT}, a dragon" if kind == "add" else "a forest",
        region=(0.5, 0.5, 1.0, 1.0),
        element="dragon" if kind == "add" else "knight",
    )
    [edited] = runner.edit([request])  # the session runner has the default settings
    before, after = pixels(parent.png), pixels(edited.png)
    mask = np.asarray(region_mask(request.region, 64, 64, EditSettings().region_feather))
    assert np.array_equal(after[mask == 0], before[mask == 0])  # far outside: untouched
    assert np.abs(after[mask == 255] - before[mask == 255]).mean() > 5  # inside: redrawn
    assert edited.provenance.edit["region"] == [0.5, 0.5, 1.0, 1.0]
    if kind == "remove":
        assert edited.provenance.negative_prompt == "knight"


def test_an_attribute_edit_fuses_both_branches_into_the_original(runner, parent) -> None:
    request = EditRequest(
        "attribute",
        parent.png,
        parent.provenance,
        "a knight with long red hair in a forest",
        attribute="red hair",
        attribute_word="hair",
    )
    [edited] = runner.edit([request])
    edit = edited.provenance.edit
    assert edit["kind"] == "attribute" and edit["attribute_word"] == "hair"
    assert edit["alpha"] == 0.2 and 0.0 < edit["mask_area"] <= 1.0
    assert edited.provenance.seed == parent.provenance.seed
    assert pixels(edited.png).shape == (64, 64, 3)
    assert not np.array_equal(pixels(edited.png), pixels(parent.png))


def test_progress_counts_every_step_and_cancel_stops(runner, parent) -> None:
    requests = [
        EditRequest("global", parent.png, parent.provenance, PROMPT, strength=1.0),
        EditRequest("add", parent.png, parent.provenance, PROMPT, region=(0, 0, 0.5, 0.5)),
    ]
    seen: list[tuple[int, int]] = []
    runner.edit(requests, lambda done, total: seen.append((done, total)))
    assert [done for done, _ in seen] == list(range(1, len(seen) + 1))
    assert seen[-1][0] == seen[-1][1] == 4
    with pytest.raises(GenerationCancelled):
        runner.edit(requests, should_stop=lambda: True)


def test_edits_that_cannot_be_done_say_why(runner, parent) -> None:
    base = EditRequest("add", parent.png, parent.provenance, PROMPT)
    with pytest.raises(ValueError, match="needs the region"):
        runner.edit([base])
    with pytest.raises(ValueError, match="not a box"):
        runner.edit([replace(base, region=(0.6, 0.0, 0.2, 1.0))])
    with pytest.raises(ValueError, match="not in the picture's prompt"):
        runner.edit([replace(base, kind="attribute", attribute_word="beard")])
    with pytest.raises(ValueError, match="strength must be in"):
        runner.edit([replace(base, kind="global", strength=0.0)])
    with pytest.raises(ValueError, match="could not be read"):
        runner.edit([replace(base, kind="global", image=b"not a picture")])


def test_one_step_models_still_get_an_img2img_step() -> None:
    assert global_steps(1, 0.6) == 2
    assert global_steps(25, 0.6) == 25


def test_decoder_blocks_beyond_the_unet_fail_at_load(models_dir: Path, tiny_profile: ModelProfile):
    from engine.runner import ModelRunner

    with pytest.raises(ValueError, match=r"'edit_engine\.complex_blocks'"):
        ModelRunner.load(
            tiny_profile, models_dir, "cpu", edit_settings=EditSettings(complex_blocks=(0, 3))
        )


@pytest.mark.parametrize(
    "bad",
    [{"fusion_alpha": 0.31}, {"mask_combine": "xor"}, {"fusion_steps": (0.5, 0.5)}],
)
def test_edit_settings_out_of_range_are_refused(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        EditSettings(**bad)


def test_a_global_update_keeps_the_style_reference(runner, parent) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 90)).save(buffer, format="PNG")
    style = StyleRef("ref-1", buffer.getvalue(), strength=1.0)
    plain = EditRequest("global", parent.png, parent.provenance, PROMPT, strength=0.8)
    plain_edit, styled_edit = runner.edit([plain, replace(plain, style=style)])
    assert runner.style_branch == "random"  # tiny's branch changes pictures
    assert plain_edit.png != styled_edit.png
    assert (styled_edit.provenance.style_ref, styled_edit.provenance.style_strength) == (
        "ref-1",
        1.0,
    )
    assert plain_edit.provenance.style_ref is None
