"""End-to-end fixtures: the tiny models and screening heads, prepared once for every bot."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def prepared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory with the tiny profile and trained screening heads.

    Made once with the real command (`python -m bot train-screening`); every bot here starts
    with a copy, instead of training the heads itself on its first paragraph.
    """
    root = tmp_path_factory.mktemp("prepared")
    command = [sys.executable, "-m", "bot", "--profile", "tiny", "--data-dir", str(root)]
    done = subprocess.run(
        [*command, "train-screening"],
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "models"


def seed_models(prepared: Path, data_dir: Path) -> None:
    """Give a bot's data directory the prepared models (a copy: bots may write there)."""
    shutil.copytree(prepared, data_dir / "models", dirs_exist_ok=True)
