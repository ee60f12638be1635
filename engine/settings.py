"""The engine's own sections: `[models]`, `[batching]` and `[engine]` (torch-free, plain data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.settings import setting


@dataclass(frozen=True)
class ModelSettings:
    """Which models run, and on which device."""

    profile: str = setting(
        "sd-turbo", "the model profile: sd-turbo, sd15, tiny (see engine/profiles.py)"
    )
    device: str = setting(
        "auto",
        "auto (CUDA when present), cpu, cuda, cuda:N",
        pattern=r"auto|cpu|cuda(:\d+)?",
        expect="auto, cpu or cuda[:N]",
    )
    adapters_dir: str = setting(
        "",
        "trained LoRA adapters (genres, attribute generators), one folder per profile; "
        '"": <data_dir>/models/adapters',
    )
    # Each override replaces the named field of the chosen profile (see engine/profiles.py).
    overrides: dict[str, Any] = setting(doc="replace profile fields", factory=dict)


@dataclass(frozen=True)
class BatchingSettings:
    """How engine calls of all stories are gathered into shared model calls."""

    # No wait setting: a batch is every call waiting when the model is free (engine.batching).
    max_batch: int = setting(16, "most candidate images drawn in one pipeline call", at_least=1)


@dataclass(frozen=True)
class EngineSettings:
    """Where the engine runs: in this process, or as a Ray Serve application and its replicas."""

    mode: str = setting("local", "local (in this process) or ray", choices=("local", "ray"))
    ray_address: str = setting(
        "", '"": start Ray here; "auto": this node\'s cluster; "ray://head:10001" or "head:6379"'
    )
    app_name: str = setting(
        "inkwell", "the Serve application", pattern=r".*\S.*", expect="a non-empty name"
    )
    num_gpus: float = setting(0.0, "GPUs per replica", at_least=0)
    num_cpus: float = setting(1.0, "CPUs per replica", at_least=0)
    min_replicas: int = setting(1, "autoscaling lower bound", at_least=1)
    max_replicas: int = setting(1, "autoscaling upper bound (equal bounds: fixed)", at_least=1)
    max_ongoing_requests: int = setting(64, "calls one replica holds at once", at_least=1)
