"""Stage checkpoints: modules, optimiser and step written atomically, read back on resume."""

from __future__ import annotations

import math
from pathlib import Path

import torch


def save_checkpoint(
    path: Path,
    step: int,
    modules: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    extra: dict[str, object] | None = None,
) -> None:
    """Write the stage's state to `path` through a temporary file (a crash keeps the old one)."""
    state = {
        "step": step,
        "modules": {name: module.state_dict() for name, module in modules.items()},
        "optimizer": optimizer.state_dict(),
        "extra": extra or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(path)


def load_checkpoint(
    path: Path, modules: dict[str, torch.nn.Module], optimizer: torch.optim.Optimizer
) -> tuple[int, dict[str, object]]:
    """Restore what `save_checkpoint` wrote; (0, {}) when there is no checkpoint."""
    if not path.exists():
        return 0, {}
    state = torch.load(path, map_location="cpu", weights_only=False)
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), dict(state["extra"])


def warmup_cosine(step: int, total: int, warmup: int, floor: float = 0.1) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to `floor` at the last step."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def warmup_constant(step: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then constant, so a run may be extended on resume."""
    return min(1.0, (step + 1) / warmup)


class Ema:
    """An exponential moving average of a module's parameters, with diffusers' warm-up."""

    def __init__(self, module: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in module.state_dict().items()}

    def update(self, module: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for key, value in module.state_dict().items():
                if value.dtype.is_floating_point:
                    self.shadow[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
                else:
                    self.shadow[key].copy_(value)

    def copy_to(self, module: torch.nn.Module) -> None:
        module.load_state_dict(self.shadow)
