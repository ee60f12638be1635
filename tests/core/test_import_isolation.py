"""Layering: `core` is torch- and platform-free; model code imports neither `bot` nor `storage`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = [
    *("torch", "diffusers", "transformers", "open_clip", "pymongo", "discord", "slack_bolt"),
    "spacy",  # the request parser is imported lazily, on first use
]


def test_every_core_module_imports_without_heavy_libraries() -> None:
    # A fresh interpreter walks the whole package, so a new module is checked without a list.
    code = (
        "import importlib, pkgutil, sys\n"
        "import core\n"
        "names = ['core'] + [m.name for m in pkgutil.walk_packages(core.__path__, 'core.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "print(len(names))\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    count, heavy = result.stdout.split("\n")[:2]
    assert int(count) > 40, f"walked only {count} modules of core"
    assert heavy == "", f"core imported {heavy}"


def imported_packages(path: Path) -> set[str]:
    """Top-level packages a module imports anywhere in it (function-level imports included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_model_code_imports_neither_bot_nor_storage() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & {"bot", "storage"})
        for package in ("engine", "training")
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_core_never_imports_the_engine_or_training_packages() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & {"engine", "training"})
        for path in sorted((ROOT / "core").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}
