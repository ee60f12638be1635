"""bench/gpu.py's CPU dry run (tiny profile, tiny sizes): the GPU script stays runnable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_benchmark_dry_run_measures_every_number() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.gpu", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("gpu_bench: dry_run=1 ")
    numbers = dict(item.split("=") for item in last.split()[1:])
    for key in ("first_picture_s", "last_picture_s", "images_per_s_b1", "ratio_b4"):
        assert float(numbers[key]) > 0, key
    assert "4 pictures posted together" in done.stdout
