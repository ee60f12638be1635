"""What a Ray Serve replica streams back for one engine call: step events, then the result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepEvent:
    """Streamed from a replica while a call runs: `step` of `total` denoising steps done."""

    step: int
    total: int


@dataclass(frozen=True)
class CallResult:
    """The last item a replica streams for one call: the caller's results."""

    value: Any
    batch_size: int = 0  # items (candidates for generate) in the model call it shared
