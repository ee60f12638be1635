"""Shared by the engine benchmarks: the bare baseline, both engines, flags and memory readings.

Every benchmark takes `--profile` (default tiny, CPU) so the same code runs with real models
on a GPU, e.g. `python -m bench.batching --profile sd-turbo --device cuda`.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# OpenMP threads that busy-wait between torch ops take the CPU from each other as soon as the
# machine runs anything else: on 2 shared cores a tiny 16-image call went from 0.27 s to 3 s.
# Waiting passively keeps every side (bare, LocalEngine, the Ray replica, which inherits this
# environment) measurable on a shared machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from core.engine import GenerationRequest
from engine.device import resolve_device
from engine.loading import generator_source, load_clip
from engine.local_engine import LocalEngine
from engine.profiles import ModelProfile, resolve_profile

BENCH_APP = "inkwell-bench"


def parser(doc: str) -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(description=doc.splitlines()[0])
    parse.add_argument("--profile", default="tiny", help="model profile (tiny, sd-turbo, sd15)")
    parse.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parse.add_argument("--models-dir", type=Path, help="default: a scratch dir (tiny) or data/")
    parse.add_argument("--max-batch", type=int, default=16)
    return parse


def models_dir_for(args: argparse.Namespace, scratch: str) -> Path:
    if args.models_dir is not None:
        return args.models_dir
    return Path(scratch) / "models" if args.profile == "tiny" else Path("data") / "models"


class Bare:
    """The profile's models called straight through diffusers and open_clip: the baseline."""

    def __init__(self, profile: ModelProfile, models_dir: Path, device: str) -> None:
        self.profile = profile
        self.device = resolve_device(device)
        dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        source, extra = generator_source(profile, models_dir)
        pipe = StableDiffusionPipeline.from_pretrained(source, dtype=dtype, **extra)
        self.pipe = pipe.to(self.device)
        self.pipe.set_progress_bar_config(disable=True)
        self.clip, self.preprocess, self.tokenizer, _ = load_clip(profile, models_dir, self.device)

    def generate(self, prompts: Sequence[str], seeds: Sequence[int]) -> list[bytes]:
        """One pipeline call for all prompts, one seed each, encoded as PNG like the engine."""
        p = self.profile
        images = self.pipe(
            prompt=list(prompts),
            num_inference_steps=p.steps,
            guidance_scale=p.guidance_scale,
            width=p.width,
            height=p.height,
            generator=[torch.Generator(self.device).manual_seed(s) for s in seeds],
        ).images
        pngs = []
        for image in images:
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
            pngs.append(buffer.getvalue())
        return pngs

    def embed(self, pngs: Sequence[bytes], texts: Sequence[str]) -> np.ndarray:
        """CLIP image-text similarities, as the loop scores candidates."""
        with torch.inference_mode():
            decoded = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
            pixels = torch.stack([self.preprocess(image) for image in decoded]).to(self.device)
            images = self.clip.encode_image(pixels)
            words = self.clip.encode_text(self.tokenizer(list(texts)).to(self.device))
        images = images / images.norm(dim=-1, keepdim=True)
        words = words / words.norm(dim=-1, keepdim=True)
        return (images @ words.T).float().cpu().numpy()

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def requests_for(prompts: Sequence[str], seeds: Sequence[int]) -> list[GenerationRequest]:
    return [GenerationRequest(p, (s,)) for p, s in zip(prompts, seeds, strict=True)]


async def start_local(args: argparse.Namespace, models_dir: Path) -> LocalEngine:
    profile = resolve_profile(args.profile)
    engine = LocalEngine.for_profile(profile, models_dir, args.device, args.max_batch)
    await engine.start()
    return engine


@asynccontextmanager
async def ray_engine(
    args: argparse.Namespace,
    models_dir: Path,
    overrides: dict | None = None,
) -> AsyncIterator:  # -> RayEngine
    """A local Ray instance serving the profile from one replica (all GPUs if any).

    Ray runs its workers at nice 15 by default; here the replica runs at the bare baseline's
    priority (nice 0), or on a shared CPU the benchmark measures the scheduler, not the engine.
    """
    import ray
    from ray import serve

    from engine.ray_deployment import DeploymentSettings, build_app
    from engine.ray_engine import RayEngine
    from engine.settings import BatchingSettings, EngineSettings, ModelSettings

    gpus = 1.0 if resolve_device(args.device).type == "cuda" else 0.0
    settings = DeploymentSettings(
        ModelSettings(args.profile, args.device, dict(overrides or {})),
        str(models_dir.resolve()),
        BatchingSettings(args.max_batch),
        # On CPU the replica gets every core, as the local engine's worker thread has.
        EngineSettings(num_cpus=1.0 if gpus else float(os.cpu_count() or 1), num_gpus=gpus),
    )
    ray.init(include_dashboard=False, log_to_driver=False, _system_config={"worker_niceness": 0})
    try:
        serve.run(build_app(settings), name=BENCH_APP, route_prefix=None)
        yield await RayEngine.connect(BENCH_APP)
    finally:
        serve.shutdown()
        ray.shutdown()


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cuda_peak_mb() -> float | None:
    if not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="inkwell-bench-")


def data_dir_for(
    profile: str, data_dir: str | None
) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """Where a benchmark keeps its models: `data_dir`, else a scratch dir for the tiny profile
    (cleaned up by the caller) or ./data for real models."""
    scratch = scratch_dir() if data_dir is None and profile == "tiny" else None
    return Path(scratch.name if scratch else (data_dir or "data")), scratch
