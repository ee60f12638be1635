"""Seed 002's restorer: a small residual CNN that sharpens, denoises and fills scratches.

Trained from scratch by `python -m bot train-restorer` (see restorer_training.py); the
checkpoint lives in `<models>/restorer/restorer.pt`. Without one the network is random and
every caller is told so: `RestorerState` is "untrained" and a warning is logged.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from core.engine import RestorerState

logger = logging.getLogger("inkwell.models")

CHECKPOINT = "restorer.pt"


@dataclass(frozen=True)
class RestorerShape:
    width: int = 32
    blocks: int = 4


def restorer_dir(models_dir: Path) -> Path:
    return Path(models_dir) / "restorer"


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RestorerNet(nn.Module):
    """Pictures in 0..1 -> restored pictures in 0..1; predicts a correction to its input."""

    def __init__(self, shape: RestorerShape | None = None) -> None:
        super().__init__()
        self.shape = shape or RestorerShape()
        width = self.shape.width
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(*(_Block(width) for _ in range(self.shape.blocks)))
        self.tail = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # starts as the identity: never worse than its input
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.relu(self.head(x * 2 - 1))
        return (x + self.tail(self.body(features))).clamp(0, 1)


def save_restorer(net: RestorerNet, directory: Path, meta: dict | None = None) -> Path:
    """Write the checkpoint atomically (a half-written file is never loaded)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT
    partial = path.with_suffix(".partial")
    payload = {"shape": asdict(net.shape), "state": net.state_dict(), "meta": meta or {}}
    torch.save(payload, partial)
    partial.replace(path)
    return path


def load_restorer(models_dir: Path, device: torch.device) -> tuple[RestorerNet, RestorerState]:
    """The trained restorer if one is on disk; else a fresh one, with a warning saying so."""
    path = restorer_dir(models_dir) / CHECKPOINT
    if path.is_file():
        payload = torch.load(path, map_location="cpu", weights_only=True)
        net = RestorerNet(RestorerShape(**payload["shape"]))
        net.load_state_dict(payload["state"])
        logger.info("restorer loaded from %s (%s)", path, payload.get("meta", {}))
        return net.to(device).eval(), "trained"
    logger.warning(
        "no trained restorer at %s: 'enhance' runs an UNTRAINED restorer (it returns the "
        "picture almost unchanged) until `python -m bot train-restorer` trains one",
        path,
    )
    return RestorerNet().to(device).eval(), "untrained"


def png_to_tensor(data: bytes) -> torch.Tensor:
    """An encoded picture as a (3, H, W) float tensor in 0..1."""
    with Image.open(io.BytesIO(data)) as image:
        array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def tensor_to_png(image: torch.Tensor) -> bytes:
    array = (image.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round()
    buffer = io.BytesIO()
    Image.fromarray(array.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def restore_pngs(net: RestorerNet, pngs: Sequence[bytes], device: torch.device) -> list[bytes]:
    """Run the restorer on each picture at its own size (the network is fully convolutional)."""
    restored = []
    with torch.inference_mode():
        for position, data in enumerate(pngs):
            try:
                image = png_to_tensor(data)
            except (OSError, ValueError) as error:
                raise ValueError(f"image {position} could not be decoded: {error}") from error
            restored.append(tensor_to_png(net(image[None].to(device))[0]))
    return restored


def restorer_state(models_dir: Path) -> RestorerState:
    return "trained" if (restorer_dir(models_dir) / CHECKPOINT).is_file() else "untrained"


class LazyRestorer:
    """Loads the restorer on first use and again whenever training wrote a newer checkpoint."""

    def __init__(self, models_dir: Path, device: torch.device) -> None:
        self._models_dir = Path(models_dir)
        self._device = device
        self._net: RestorerNet | None = None
        self._loaded_mtime: float | None = None
        if self.state == "untrained":
            logger.warning(
                "no trained restorer in %s: 'enhance' will run an UNTRAINED restorer",
                restorer_dir(self._models_dir),
            )

    @property
    def state(self) -> RestorerState:
        """What the next `restore` runs: training may have written a checkpoint since."""
        return restorer_state(self._models_dir)

    def _checkpoint_mtime(self) -> float | None:
        path = restorer_dir(self._models_dir) / CHECKPOINT
        return path.stat().st_mtime if path.is_file() else None

    def restore(self, pngs: Sequence[bytes]) -> list[bytes]:
        mtime = self._checkpoint_mtime()
        if self._net is None or mtime != self._loaded_mtime:
            self._net, _ = load_restorer(self._models_dir, self._device)
            self._loaded_mtime = mtime
        return restore_pngs(self._net, pngs, self._device)
