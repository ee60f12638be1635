"""What a Ray Serve replica streams back for one burst of calls: step events, then each result.

A burst carries several callers' calls (engine.ray_burst); `part` says whose each event is.
The replica streams lists of these, everything that happened since its last message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepEvent:
    """Streamed while a call runs: `step` of `total` denoising steps done for caller `part`."""

    step: int
    total: int
    part: int = 0


@dataclass(frozen=True)
class CallResult:
    """Caller `part`'s answer: its results, or the error its call failed with on the replica."""

    value: Any = None
    batch_size: int = 0  # items (candidates for generate) in the model call it shared
    part: int = 0
    error: BaseException | None = None
