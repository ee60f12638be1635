"""Trained LoRA adapters on disk and in the pipeline: where they live, which one a call uses."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from core.engine import ADAPTER_KINDS, ADAPTER_NAME, EDIT_MODEL, AdapterInfo

logger = logging.getLogger("inkwell.models")

ADAPTER_FILE = "pytorch_lora_weights.safetensors"  # diffusers' own LoRA weight name
METADATA_FILE = "inkwell-adapter.json"  # written last by the trainer: the folder is complete
# An edit model is a whole UNet in diffusers' layout (`UNet2DConditionModel.from_pretrained`).
EDIT_MODEL_UNET = "unet"
EDIT_MODEL_FILE = f"{EDIT_MODEL_UNET}/diffusion_pytorch_model.safetensors"
_INFO_FIELDS = frozenset(f.name for f in fields(AdapterInfo))


def adapters_root(setting: str, models_dir: Path) -> Path:
    """The adapters folder: `[models] adapters_dir`, or `<models_dir>/adapters` when empty."""
    return Path(setting).expanduser() if setting else Path(models_dir) / "adapters"


def adapter_dir(root: Path, profile: str, kind: str, name: str) -> Path:
    """Where the `kind` adapter `name` for `profile` lives: adapters fit one profile's UNet."""
    if kind not in ADAPTER_KINDS:
        raise ValueError(f"unknown adapter kind {kind!r}; kinds: {', '.join(ADAPTER_KINDS)}")
    if not re.fullmatch(ADAPTER_NAME, name):
        raise ValueError(
            f"adapter name {name!r}: use lower-case letters, digits and dashes (at most 40)"
        )
    return Path(root) / profile / kind / name


def read_info(directory: Path) -> AdapterInfo | None:
    """The adapter in `directory`, or None when it is incomplete or not an adapter."""
    try:
        raw = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    weights = EDIT_MODEL_FILE if raw.get("kind") == EDIT_MODEL else ADAPTER_FILE
    if not (directory / weights).is_file():
        return None
    try:
        return AdapterInfo(**{k: v for k, v in raw.items() if k in _INFO_FIELDS})
    except TypeError:
        return None


def list_adapters(root: Path, profile: str) -> list[AdapterInfo]:
    """Every complete adapter for `profile` under `root`, by kind then name."""
    found = []
    for kind in ADAPTER_KINDS:
        folder = Path(root) / profile / kind
        if not folder.is_dir():
            continue
        for directory in sorted(folder.iterdir()):
            info = read_info(directory)
            if info is not None and info.kind == kind and info.name == directory.name:
                found.append(info)
    return found


def with_phrase(phrase: str, caption: str) -> str:
    """`phrase, caption` unless the caption says it already: training captions and drawing
    prompts are both made so."""
    if not phrase or phrase in caption:
        return caption
    return f"{phrase}, {caption}" if caption else phrase


class AdapterShelf:
    """The adapters a pipeline has loaded, and which one is active for a call.

    Thread-confined like the runner that owns it. An adapter is loaded on first use with
    `pipe.load_lora_weights(dir, adapter_name=...)` and kept; a call without an adapter
    disables LoRA, so its pictures are the base model's. An adapter retrained on disk is
    loaded again on its next use.
    """

    def __init__(self, pipe: Any, root: Path | None, profile: str) -> None:
        self._pipe = pipe
        self.root = root  # None: no adapters folder (a runner built by hand)
        self.profile = profile
        self._loaded: dict[str, float] = {}  # pipeline adapter name -> metadata mtime

    def available(self) -> list[AdapterInfo]:
        return list_adapters(self.root, self.profile) if self.root is not None else []

    def directory(self, kind: str, name: str) -> Path:
        if self.root is None:
            raise ValueError("this engine has no adapters folder")
        return adapter_dir(self.root, self.profile, kind, name)

    def prompt(self, kind: str, name: str | None, prompt: str) -> str:
        """The prompt an adapter draws from: its training phrase first, as it was trained
        (DreamBooth's instance prompt); the prompt itself without an adapter."""
        if name is None:
            return prompt
        info = read_info(self.directory(kind, name))
        phrase = info.phrase if info is not None else ""
        return with_phrase(phrase, prompt)

    @contextmanager
    def active(self, kind: str, name: str | None, pipe: Any = None) -> Iterator[None]:
        """Within the block the pipeline draws with adapter `name` alone (None: with none)."""
        pipe = pipe if pipe is not None else self._pipe
        if name is None:
            if self._loaded:
                pipe.disable_lora()
            yield
            return
        key = self._load(pipe, kind, name)
        pipe.enable_lora()
        pipe.set_adapters([key])
        try:
            yield
        finally:
            pipe.disable_lora()

    @contextmanager
    def per_branch(self, pipe: Any, feature: str, original: str | None) -> Iterator[None]:
        """Seed 003's two branches in one batch, each with its own adapter: rows alternate
        original, feature (the pipeline's [negatives..., prompts...] of the pair), so the
        attribute generator `feature` acts on the feature branch only and the original branch
        keeps the picture's genre `original` (None: the base model). Uses peft's mixed-batch
        LoRA (`adapter_names` per row), passed to every LoRA layer of the UNet."""
        from peft.tuners.lora import LoraLayer

        feature_key = self._load(pipe, "attribute", feature)
        base_key = self._load(pipe, "genre", original) if original else "__base__"

        def rows(module: Any, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
            batch = args[0].shape[0] if args else kwargs["x"].shape[0]
            names = [base_key if row % 2 == 0 else feature_key for row in range(batch)]
            return args, {**kwargs, "adapter_names": names}

        hooks = [
            module.register_forward_pre_hook(rows, with_kwargs=True)
            for module in pipe.unet.modules()
            if isinstance(module, LoraLayer)
        ]
        pipe.enable_lora()
        try:
            yield
        finally:
            for hook in hooks:
                hook.remove()
            pipe.disable_lora()

    def _load(self, pipe: Any, kind: str, name: str) -> str:
        directory = self.directory(kind, name)
        info = read_info(directory)
        if info is None or info.profile != self.profile:
            raise ValueError(f"no trained {kind} adapter {name!r} for profile {self.profile!r}")
        key = f"{kind}-{name}"
        stamp = (directory / METADATA_FILE).stat().st_mtime
        if key in self._loaded and self._loaded[key] != stamp:
            pipe.delete_adapters([key])
            del self._loaded[key]
        if key not in self._loaded:
            pipe.load_lora_weights(str(directory), weight_name=ADAPTER_FILE, adapter_name=key)
            self._loaded[key] = stamp
            logger.info("loaded %s adapter %r from %s", kind, name, directory)
        return key
