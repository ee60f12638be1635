"""`python -m bot doctor`: offline, exit 0 when the profile has what it needs, else what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def doctor(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        # An empty Hugging Face and torch cache: nothing downloaded on this machine.
        "HF_HOME": str(tmp_path / "hf"),
        "TORCH_HOME": str(tmp_path / "torch"),
    }
    for secret in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "INKWELL_WEB_TOKEN"):
        env.pop(secret, None)
    command = [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), *flags]
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_doctor_passes_for_the_tiny_profile(tmp_path: Path) -> None:
    done = doctor(tmp_path, "--profile", "tiny", "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "profile 'tiny'" in done.stdout
    assert "MISSING" not in done.stdout
    for line in ("device: cpu", "storage: SQLite", "engine: local", "platforms: enabled: web"):
        assert line in done.stdout
    assert "INKWELL_WEB_TOKEN unset" in done.stdout


def test_doctor_lists_what_to_download_for_a_real_profile(tmp_path: Path) -> None:
    done = doctor(tmp_path, "--profile", "sd15", "doctor")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "MISSING generator: stable-diffusion-v1-5/stable-diffusion-v1-5 is not in" in out
    assert "hf download stable-diffusion-v1-5/stable-diffusion-v1-5" in out
    assert "hf download laion/CLIP-ViT-B-32-laion2B-s34B-b79K" in out
    assert "hf download h94/IP-Adapter models/ip-adapter_sd15.safetensors" in out
    assert "vgg19-dcbb9e9d.pth" in out
    # The memory estimate counts the published architecture: 860M + 84M + 123M parameters.
    assert "1066M parameters" in out
    assert str(tmp_path / "hf") in out  # where the cache is looked for


def test_doctor_passes_for_an_architecture_profile(tmp_path: Path) -> None:
    done = doctor(tmp_path, "--profile", "sd-turbo-arch", "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sd-turbo architecture with random weights" in done.stdout
    assert "1290M parameters" in done.stdout
