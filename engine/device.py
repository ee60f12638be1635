"""Which torch device a configured name ("auto", "cpu", "cuda:1") means on this machine."""

from __future__ import annotations

import torch


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def free_cuda_cache() -> None:
    """Give cached CUDA blocks back after an out-of-memory error, so a smaller retry can fit."""
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
