"""`python -m bot stysim A B` and `python -m bot train-style DIR` on the tiny profile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from engine.tiny import ensure_tiny_models


def save_noise(path: Path, seed: int, size: int = 96) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def test_stysim_prints_zero_for_a_picture_and_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = save_noise(tmp_path / "a.png", 1)
    b = tmp_path / "b.jpg"
    Image.new("CMYK", (120, 80), (0, 200, 200, 0)).save(b)  # normalised like an upload
    base = ["--profile", "tiny", "--data-dir", str(tmp_path / "data")]
    assert main([*base, "stysim", str(a), str(a)]) == 0
    same = capsys.readouterr()
    assert float(same.out) == 0.0
    assert "random VGG19 weights" in same.err
    assert main([*base, "stysim", str(a), str(b)]) == 0
    assert float(capsys.readouterr().out) > 0
    (tmp_path / "notes.txt").write_text("not a picture", encoding="utf-8")
    assert main([*base, "stysim", str(a), str(tmp_path / "notes.txt")]) == 2
    assert "isn't a picture" in capsys.readouterr().err


def test_train_style_writes_a_branch_the_bot_then_loads(tmp_path: Path, models_dir: Path) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    save_noise(folder / "one.png", 2)
    (folder / "one.txt").write_text("a harbour at dusk", encoding="utf-8")
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    # Reuse the session's tiny models rather than building them again.
    shared = ensure_tiny_models(models_dir).root
    (data / "models" / "tiny").symlink_to(shared, target_is_directory=True)
    args = ["--profile", "tiny", "--data-dir", str(data), "train-style", str(folder)]
    assert main([*args, "--steps", "2", "--batch-size", "1", "--checkpoint-every", "1"]) == 0
    branch = data / "models" / "style-branch" / "tiny"
    assert (branch / "config.json").is_file()
    assert sorted(os.listdir(branch / "checkpoints")) == ["step-0000001", "step-0000002"]

    from engine.profiles import resolve_profile
    from engine.style_branch import branch_source

    assert branch_source(resolve_profile("tiny"), data / "models").state == "trained"
    assert main([*args[:4], "train-style", str(tmp_path / "empty-nowhere")]) == 2
