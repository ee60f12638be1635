"""Shared test set-up: no hub downloads, ever."""

from __future__ import annotations

import os

# Must be set before diffusers, transformers or huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Before torch starts its OpenMP threads: idle threads sleep instead of spinning, so torch tests
# stay fast on a busy 2-core machine (spinning made them 10-50x slower under load).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
