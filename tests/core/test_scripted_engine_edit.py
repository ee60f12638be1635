"""The scripted engine's edit: what core tests of edits by reply can rely on."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.engine import EditRequest, Provenance, ToneShift
from engine.tone import mean_luminance
from tests.fakes.engine import ScriptedEngine


def png(level: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (level, level // 2, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.asyncio
async def test_scripted_edits_apply_the_tone_and_record_the_edit() -> None:
    engine = ScriptedEngine()
    parent = Provenance("scripted", "a fox", "", 4, 3, 8, 8, 0.0, edit_chain=("p0",))
    darker = EditRequest("global", png(120), parent, "a fox, gloomy", tone=ToneShift(0.7))
    hat = EditRequest("add", png(120), parent, "a fox in a hat", region=(0, 0, 0.5, 0.5))
    dark, added = await engine.edit([darker, hat])
    assert engine.edits == [darker, hat]
    with Image.open(io.BytesIO(dark.png)) as a, Image.open(io.BytesIO(png(120))) as b:
        assert mean_luminance(a) == pytest.approx(0.7 * mean_luminance(b), abs=0.6)
    with Image.open(io.BytesIO(added.png)) as a, Image.open(io.BytesIO(png(120))) as b:
        assert a.tobytes() == b.tobytes()  # no tone: the parent's pixels
    assert added.png != png(120) and added.png != dark.png
    assert (dark.provenance.prompt, dark.provenance.seed) == ("a fox, gloomy", 4)
    assert dark.provenance.edit_chain == ("p0",)  # the core appends the parent's id
    assert dark.provenance.edit["tone"]["brightness"] == 0.7
    assert added.provenance.edit["kind"] == "add"
