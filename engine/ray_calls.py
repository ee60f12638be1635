"""The engine calls a Ray Serve replica forwards to its ModelRunner, and how each is batched."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BatchedCall:
    """One runner method the deployment batches across callers.

    `steps`: the method takes `(items, on_step, should_stop)` and reports denoising steps, so
    its callers get progress and can cancel. `size_of` counts one caller's share of a batch.
    """

    name: str
    steps: bool = False
    candidates: bool = False  # a batch's size counts seeds (generate), not requests

    def size_of(self, items: Sequence[Any]) -> int:
        if self.candidates:
            return sum(len(getattr(item, "seeds", ())) for item in items)
        return len(items)


# Forwarded by name (getattr) to ModelRunner: a runner method added later works unchanged.
BATCHED_CALLS: dict[str, BatchedCall] = {
    call.name: call
    for call in (
        BatchedCall("generate", steps=True, candidates=True),
        BatchedCall("embed_texts"),
        BatchedCall("embed_images"),
        BatchedCall("screen"),
        BatchedCall("edit", steps=True),
        BatchedCall("restore"),
    )
}


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
