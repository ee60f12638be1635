"""Seed 003's attribute generators: which trained attribute adapter an attribute edit uses."""

from __future__ import annotations

import re

from core.engine import Engine


def adapter_slug(text: str) -> str:
    """An attribute as an adapter name: "slicked-back hair" -> "slicked-back-hair"."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


async def attribute_generator(engine: Engine, attribute: str) -> str | None:
    """The trained attribute adapter for `attribute`, or None (the prompt-only branch).

    The adapter named like the whole attribute wins ("blue fur" -> "blue-fur"); otherwise one
    whose every word is a word of the attribute ("blue" for "blue fur"), the longest first.
    """
    names = [a.name for a in await engine.adapters() if a.kind == "attribute"]
    wanted = adapter_slug(attribute)
    if not wanted:
        return None
    if wanted in names:
        return wanted
    words = set(wanted.split("-"))
    fitting = [name for name in names if set(name.split("-")) <= words]
    return max(fitting, key=len) if fitting else None


def feature_branch_words(adapter: str | None) -> str:
    """How the edit's reading names its feature branch."""
    if adapter is None:
        return "feature branch: the attribute in the prompt (no trained generator)"
    return f"feature branch: the trained attribute generator {adapter}"
