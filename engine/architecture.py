"""Published pipeline architectures (engine/architectures/) built with random weights, offline."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("inkwell.models")

ARCHITECTURES_DIR = Path(__file__).resolve().parent / "architectures"
COMPONENTS = ("unet", "vae", "text_encoder", "scheduler", "tokenizer")
_MARKER = "inkwell-architecture.json"
# Bump when the build recipe (not the configs: their hash is in the marker) changes.
_RECIPE_VERSION = 1


def known_architectures() -> list[str]:
    return sorted(p.name for p in ARCHITECTURES_DIR.iterdir() if (p / "unet.json").is_file())


@dataclass(frozen=True)
class Architecture:
    """The configurations of one published pipeline, read from engine/architectures/<name>."""

    name: str
    unet: dict[str, Any]
    vae: dict[str, Any]
    text_encoder: dict[str, Any]
    scheduler: dict[str, Any]
    tokenizer: dict[str, Any]

    @classmethod
    def named(cls, name: str) -> Architecture:
        folder = ARCHITECTURES_DIR / name
        if not (folder / "unet.json").is_file():
            known = ", ".join(known_architectures())
            raise ValueError(f"unknown architecture {name!r}; known: {known}")
        parts = {c: json.loads((folder / f"{c}.json").read_text("utf-8")) for c in COMPONENTS}
        return cls(name=name, **parts)

    def digest(self) -> str:
        text = json.dumps([getattr(self, c) for c in COMPONENTS], sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def parameter_counts(self) -> dict[str, int]:
        """Parameters per model, counted on the meta device (nothing is allocated)."""
        import torch

        with torch.device("meta"):
            models = self._models()
        return {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}

    def meta_unet(self) -> Any:
        """The UNet without weights (meta device): its layout, for building adapters."""
        import torch
        from diffusers import UNet2DConditionModel

        with torch.device("meta"):
            return UNet2DConditionModel.from_config(_plain(self.unet))

    def _models(self) -> dict[str, Any]:
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextConfig, CLIPTextModel

        text_config = CLIPTextConfig(**_plain(self.text_encoder))
        return {
            "unet": UNet2DConditionModel.from_config(_plain(self.unet)),
            "vae": AutoencoderKL.from_config(_plain(self.vae)),
            "text_encoder": CLIPTextModel(text_config),
        }


def _plain(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("_class_name", "architectures")}


def architecture_root(models_dir: Path, name: str) -> Path:
    return Path(models_dir) / "architectures" / name


def _is_current(root: Path, architecture: Architecture) -> bool:
    try:
        marker = json.loads((root / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker == {"recipe": _RECIPE_VERSION, "configs": architecture.digest()}


def ensure_architecture(models_dir: Path, name: str) -> Path:
    """A StableDiffusionPipeline folder of architecture `name` with random weights.

    Built once under `models_dir/architectures/<name>/generator` (seeded: every build is the
    same), staged in a temporary sibling and renamed into place like the tiny models. The
    weights are stored in fp16 (half the disk; loading casts them to the runner's dtype).
    """
    architecture = Architecture.named(name)
    root = architecture_root(models_dir, name)
    generator = root / "generator"
    if _is_current(root, architecture):
        return generator
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-build-", dir=root.parent))
    try:
        built = staging / name
        _build(architecture, built / "generator")
        marker = {"recipe": _RECIPE_VERSION, "configs": architecture.digest()}
        (built / _MARKER).write_text(json.dumps(marker), encoding="utf-8")
        if root.exists():
            os.rename(root, staging / "stale")
        try:
            os.rename(built, root)
        except OSError:
            if not _is_current(root, architecture):  # another process won with an equal build
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    logger.info("built the %s architecture with random weights in %s", name, generator)
    return generator


def _build(architecture: Architecture, target: Path) -> None:
    import torch
    from diffusers import SchedulerMixin, StableDiffusionPipeline
    from diffusers import schedulers as diffusers_schedulers
    from transformers import CLIPTokenizer
    from transformers.utils import logging as transformers_logging

    from engine.tiny import write_clip_tokenizer_files

    token_files = target.parent / "tokenizer-src"
    write_clip_tokenizer_files(token_files)
    tokenizer = CLIPTokenizer.from_pretrained(token_files, **architecture.tokenizer)
    scheduler_class = getattr(diffusers_schedulers, architecture.scheduler["_class_name"])
    assert issubclass(scheduler_class, SchedulerMixin)
    scheduler = scheduler_class.from_config(_plain(architecture.scheduler))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        models = architecture._models()
    for model in models.values():
        # nn.Module.to: ModelMixin.to warns about fp32-only modules, which these have none of.
        torch.nn.Module.to(model, torch.float16)
    pipe = StableDiffusionPipeline(
        **models,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    transformers_logging.disable_progress_bar()
    pipe.save_pretrained(target)
    shutil.rmtree(token_files)
