"""Tiny models: built once, offline, and loadable through the ordinary from_pretrained paths."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline
from open_clip.tokenizer import SimpleTokenizer

from engine.tiny import TINY_VERSION, TinyPaths, ensure_tiny_models


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


def test_build_is_idempotent(models_dir: Path) -> None:
    first = ensure_tiny_models(models_dir)
    before = _snapshot(first.root)
    second = ensure_tiny_models(models_dir)  # how long this takes: python -m bench.startup
    assert second == first == TinyPaths.under(models_dir)
    assert _snapshot(second.root) == before
    # No staging directories are left behind.
    assert sorted(p.name for p in models_dir.iterdir()) == ["tiny"]
    assert first.clip_config.is_file() and first.clip_weights.is_file()


def test_stale_build_is_replaced(tmp_path: Path) -> None:
    paths = TinyPaths.under(tmp_path)
    paths.root.mkdir(parents=True)
    (paths.root / "inkwell-tiny.json").write_text(json.dumps({"version": TINY_VERSION - 1}))
    ensure_tiny_models(tmp_path)
    marker = json.loads((paths.root / "inkwell-tiny.json").read_text())
    assert marker == {"version": TINY_VERSION}
    assert (paths.generator / "model_index.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny"]


def test_generator_loads_with_from_pretrained(models_dir: Path) -> None:
    paths = ensure_tiny_models(models_dir)
    pipe = StableDiffusionPipeline.from_pretrained(paths.generator, local_files_only=True)
    assert pipe.safety_checker is None
    assert isinstance(pipe.scheduler, DDIMScheduler)
    config = pipe.text_encoder.config
    assert config.vocab_size == 49408
    tokenizer = pipe.tokenizer
    assert tokenizer.model_max_length == 77
    assert (config.bos_token_id, config.eos_token_id) == (49406, 49407)
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (49406, 49407)
    assert config.pad_token_id == tokenizer.pad_token_id
    # The real CLIP vocabulary: the same ids as open_clip's own tokenizer.
    text = "The lighthouse keeper's cat, naïve and grey, watched 3 ships!"
    expected = [49406, *SimpleTokenizer().encode(text), 49407]
    assert tokenizer(text).input_ids == expected


def test_saved_weights_are_seeded(models_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    ours = load_file(ensure_tiny_models(models_dir).clip_weights)
    again = load_file(ensure_tiny_models(tmp_path).clip_weights)
    assert ours.keys() == again.keys()
    assert all(torch.equal(ours[k], again[k]) for k in ours)
