"""`python -m bot train-genre` / `train-attribute` on the tiny profile: the engine then lists it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from engine.lora import METADATA_FILE, list_adapters
from engine.tiny import ensure_tiny_models


def data_dir(tmp_path: Path, models_dir: Path) -> Path:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    # Reuse the session's tiny models rather than building them again.
    shared = ensure_tiny_models(models_dir).root
    (data / "models" / "tiny").symlink_to(shared, target_is_directory=True)
    return data


def test_train_genre_writes_an_adapter_the_engine_lists(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    for index in range(2):
        pixels = np.random.default_rng(index).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"p{index}.png")
    (folder / "p0.txt").write_text("a swordsman on a bridge", encoding="utf-8")
    data = data_dir(tmp_path, models_dir)
    base = ["--profile", "tiny", "--data-dir", str(data)]
    train = ["train-genre", str(folder), "--name", "wuxia", "--steps", "2", "--batch-size", "1"]
    assert main([*base, *train]) == 0
    assert (
        "genre adapter 'wuxia' for profile 'tiny': 2 steps on 2 pictures" in capsys.readouterr().out
    )
    root = data / "models" / "adapters"
    [info] = list_adapters(root, "tiny")
    assert (info.name, info.kind, info.phrase, info.steps, info.pictures) == (
        "wuxia",
        "genre",
        "wuxia style",
        2,
        2,
    )
    # A second run with more steps resumes from the checkpoint.
    assert main([*base, *train[:-4], "--steps", "3", "--batch-size", "1"]) == 0
    saved = json.loads((root / "tiny" / "genre" / "wuxia" / METADATA_FILE).read_text())
    assert saved["steps"] == 3

    assert main([*base, "train-attribute", str(folder), "--name", "Blue Fur"]) == 2
    assert "--name 'Blue Fur'" in capsys.readouterr().err
    assert main([*base, "train-genre", str(tmp_path / "nowhere"), "--name", "x"]) == 2


def test_train_edit_model_reads_exported_pairs_and_the_engine_lists_it(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split = tmp_path / "pairs" / "train"
    for folder in ("input", "edited"):
        (split / folder).mkdir(parents=True)
    lines = []
    for index in range(2):
        rng = np.random.default_rng(index)
        for folder in ("input", "edited"):
            pixels = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(split / folder / f"{index}.png")
        row = {
            "input_image_file_name": f"input/{index}.png",
            "edited_image_file_name": f"edited/{index}.png",
            "edit_prompt": "make the fox blue",
        }
        lines.append(json.dumps(row) + "\n")
    (split / "metadata.jsonl").write_text("".join(lines), encoding="utf-8")
    data = data_dir(tmp_path, models_dir)
    base = ["--profile", "tiny", "--data-dir", str(data)]
    train = ["train-edit-model", str(tmp_path / "pairs"), "--name", "pairs", "--steps", "2"]
    assert main([*base, *train, "--batch-size", "2"]) == 0
    assert (
        "edit model 'pairs' for profile 'tiny': 2 steps on 2 edit pairs" in capsys.readouterr().out
    )
    [info] = list_adapters(data / "models" / "adapters", "tiny")
    assert (info.name, info.kind, info.pictures, info.steps) == ("pairs", "edit-model", 2, 2)

    assert main([*base, "train-edit-model", str(tmp_path), "--name", "x"]) == 2
    assert "export-edit-pairs" in capsys.readouterr().err
