"""Calibration on a constructed set with a known answer, and writing it to config.toml."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.calibrate_verb import calibrate_folder, read_pairs
from core.story.calibration import with_thresholds
from core.story.thresholds import image_difference, row_means
from tests.fakes.engine import DIM, ScriptedEngine


class PictureEngine(ScriptedEngine):
    """Features by picture bytes, so a test decides every picture-caption similarity."""

    def __init__(self, by_picture: dict[bytes, np.ndarray]) -> None:
        super().__init__()
        self.by_picture = by_picture

    async def embed_images(self, images):  # type: ignore[override]
        return np.stack([self.by_picture[png] for png in images])


def _picture(gray: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (8, 8), gray).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.asyncio
async def test_a_constructed_set_gives_the_known_thresholds(tmp_path: Path) -> None:
    # Ten captions whose noun is "boat"; pictures at a chosen cosine to the word "boat":
    # eight at 0.6 or more and two at 0.3, so thr_1 is 0.6 and 8 pairs are recalled.
    cosines = [0.65, 0.7, 0.61, 0.9, 0.6, 0.62, 0.75, 0.66, 0.3, 0.35]
    boat = np.zeros(DIM, np.float32)
    boat[0] = 1.0
    by_picture = {}
    for number, cosine in enumerate(cosines):
        png = _picture(20 * number)
        feature = np.zeros(DIM, np.float32)
        feature[:2] = cosine, np.sqrt(1 - cosine**2)
        by_picture[png] = feature
        (tmp_path / f"{number:02}.png").write_bytes(png)
        (tmp_path / f"{number:02}.txt").write_text("A boat at sea.")
    (tmp_path / "stray.png").write_bytes(_picture(255))  # no caption: not a pair
    engine = PictureEngine(by_picture)
    engine.text_features = {"boat": boat}

    result = await calibrate_folder(engine, tmp_path, "variance")
    assert result.thr_1 == 0.6 and result.recalled == 8
    recalled = [row_means(_picture(20 * n)) for n, c in enumerate(cosines) if c >= 0.6]
    assert result.thr_2 == pytest.approx(image_difference(recalled))


def test_thresholds_are_written_into_the_story_table() -> None:
    config = (
        '[bot]\nlog_level = "INFO"\n\n[story]\ncandidates = 4\nthr_1 = 0.2\n\n[web]\nport = 1\n'
    )
    written = tomllib.loads(with_thresholds(config, 0.6, 123.45))
    assert written["story"] == {"candidates": 4, "thr_1": 0.6, "thr_2": 123.5}
    assert written["web"] == {"port": 1} and written["bot"] == {"log_level": "INFO"}
    fresh = tomllib.loads(with_thresholds("", 0.3, 10.0))
    assert fresh["story"] == {"thr_1": 0.3, "thr_2": 10.0}


def test_a_folder_without_pairs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no picture"):
        read_pairs(tmp_path)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        read_pairs(tmp_path / "missing")
