"""Runs `python -m bot` as a real child process for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BotProcess:
    """One bot with a model profile (tiny unless told); its output goes to `log_path`."""

    def __init__(
        self,
        data_dir: Path,
        config: Path,
        log_path: Path,
        port: int | None = None,
        profile: str = "tiny",
    ):
        self.profile = profile
        self.data_dir = data_dir
        self.config = config
        self.log_path = log_path
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180) -> BotProcess:
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "--config",
                    str(self.config),
                    "--profile",
                    self.profile,
                    "--data-dir",
                    str(self.data_dir),
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the bot exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as response:
                    if json.load(response)["profile"] == self.profile:
                        return self
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"the bot did not come up:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine dies."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""
