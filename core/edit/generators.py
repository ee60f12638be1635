"""Seed 003's trained helpers of an attribute edit: the attribute generator (a LoRA on the
feature branch) or the edit model ([0123]-[0131], InstructPix2Pix) that draws it instead."""

from __future__ import annotations

import logging
import re

from core.engine import EDIT_MODEL, AdapterInfo, Engine

log = logging.getLogger("inkwell.edit")

NEWEST = "newest"  # `[edit] edit_model`: the most recently trained edit model
NO_EDIT_MODEL = "none"  # `[edit] edit_model`: always fuse the two branches


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


def pick_edit_model(trained: list[AdapterInfo], choice: str) -> str | None:
    """The edit model an attribute edit is drawn with: `choice` is a name, "newest" (the
    latest trained) or "none"; None when the choice is not trained (then the branches fuse)."""
    models = [info for info in trained if info.kind == EDIT_MODEL]
    if choice == NO_EDIT_MODEL or not models:
        return None
    if choice == NEWEST:
        return max(models, key=lambda info: (info.trained_at, info.name)).name
    if choice in {info.name for info in models}:
        return choice
    log.error("edit model %r is not among the engine's; attribute edits fuse branches", choice)
    return None


async def edit_model(engine: Engine, choice: str) -> str | None:
    """See `pick_edit_model`, over the engine's trained adapters now."""
    if choice == NO_EDIT_MODEL:
        return None
    return pick_edit_model(await engine.adapters(), choice)


def edit_method_words(model: str | None, adapter: str | None) -> str:
    """How the edit's reading names what drew it."""
    if model is not None:
        return f"drawn by the trained edit model {model} (InstructPix2Pix, from your words)"
    return f"two branches fused; {feature_branch_words(adapter)}"
