"""`import core` must stay light: no torch, no model or platform libraries."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "diffusers", "transformers", "open_clip", "pymongo", "discord", "slack_bolt"]
CORE_MODULES = [
    "core",
    "core.events",
    "core.adapter",
    "core.router",
    "core.engine",
    "core.inbox",
    "core.story.queue",
    "core.story.posting",
    "core.inkwell",
    "core.testing",
    "core.story.loop",
    "core.story.clauses",
    "core.story.paragraphs",
    "core.story.consistency",
    "core.story.choosing",
    "core.story.elements",
    "core.story.screening",
    "core.story.screening_labels",
    "core.models.profiles",
]


def test_importing_core_loads_no_heavy_library() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}: importlib.import_module(name)\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"core imported {result.stdout.strip()}"
