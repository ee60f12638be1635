"""`python -m bot train-look-adapter`: trains where the engine looks, resumes, refuses others."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from engine.looks import TRAINED_MARKER, default_look_dir, look_source
from engine.profiles import resolve_profile
from engine.tiny import ensure_tiny_models


def test_train_look_adapter_writes_where_the_engine_looks_and_resumes(
    tmp_path: Path, models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models").mkdir()
    # Reuse the session's tiny models rather than building them again.
    shared = ensure_tiny_models(models_dir).root
    (tmp_path / "models" / "tiny").symlink_to(shared, target_is_directory=True)
    base = ["--data-dir", str(tmp_path), "--profile"]
    small = ["--scenes", "8", "--batch-size", "2"]
    assert main([*base, "tiny", "train-look-adapter", "--steps", "2", *small]) == 0
    folder = default_look_dir(tmp_path / "models", "tiny")
    meta = json.loads((folder / TRAINED_MARKER).read_text())
    assert (meta["profile"], meta["steps"], meta["image_encoder"]) == ("tiny", 2, "open_clip")
    source = look_source(resolve_profile("tiny"), tmp_path / "models")
    assert source is not None and source.method == "look adapter trained for tiny (2 steps)"
    # A rerun with more steps continues from the checkpoint.
    assert main([*base, "tiny", "train-look-adapter", "--steps", "4", *small]) == 0
    assert json.loads((folder / TRAINED_MARKER).read_text())["steps"] == 4
    # Only the picture-book world's profiles: its renders are the training data.
    assert main([*base, "sd-turbo", "train-look-adapter"]) == 2
    assert "no IP-Adapter is published for SD 2.x" in capsys.readouterr().err
