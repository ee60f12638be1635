"""Shared test set-up: no hub downloads, ever."""

from __future__ import annotations

import os

# Must be set before diffusers, transformers or huggingface_hub are imported anywhere.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
