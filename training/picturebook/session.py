"""One picture-book training run: stages in order, each resumable, then the exported weights."""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from open_clip.model import CLIP

from training.picturebook.autoencoder import encode_all, train_autoencoder
from training.picturebook.data import cached_render_set, render_set
from training.picturebook.diffusion import train_diffusion
from training.picturebook.options import TrainingPlan
from training.picturebook.pipeline import assemble_pipeline, clip_tokenizer
from training.picturebook.samples import save_sample_grid
from training.picturebook.scorer import retrieval_accuracy, save_scorer, train_scorer

logger = logging.getLogger("inkwell.training")

GENERATOR_DIR = "generator"
SCORER_DIR = "clip"

# Fixed captions drawn in every sample grid, so grids from different steps compare.
SAMPLE_PROMPTS = [
    "A red fox in a snowy forest.",
    "A knight in a blue cloak walks into the castle hall.",
    "A boat in the harbour at night.",
    "A girl with a yellow hat stands on the mountain.",
    "The old man sits in the room with a lantern.",
    "A green dragon in the village at dusk.",
    "A witch and a cat in the rain.",
    "A chest under the old tree.",
]


@dataclass
class TrainingReport:
    """What a run did: seconds per stage (this invocation only) and end-of-stage figures."""

    seconds: dict[str, float] = field(default_factory=dict)
    scorer_retrieval: float = 0.0
    exported_to: str = ""


def train_picturebook(plan: TrainingPlan, work: Path, export: Path) -> TrainingReport:
    """Train every stage under `work` (resuming what is there) and export the weights to `export`.

    The diffusion stage comes last: it gains the most from more steps, so it gets the leftover
    time (stop it, then `--resume` with `--steps` at its last checkpoint to finish the export).

    `export` gets `generator/` (a StableDiffusionPipeline, fp16 safetensors: half the bytes, and
    loading in fp32 casts them back) and `clip/` (the open_clip config and weights).
    """
    torch.set_num_threads(plan.threads)
    work.mkdir(parents=True, exist_ok=True)
    (work / "plan.json").write_text(json.dumps(asdict(plan), indent=2), encoding="utf-8")
    report = TrainingReport()
    clock = time.monotonic()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.monotonic()
        report.seconds[stage] = round(now - clock, 1)
        clock = now
        logger.info("stage %s: %.1f s", stage, report.seconds[stage])

    renders = cached_render_set(work / "renders.pkl", plan.scenes, plan.seed)
    lap("render")
    vae = train_autoencoder(renders, plan, work)
    lap("autoencoder")
    latents = encode_all(vae, renders, work, plan.progress)
    lap("encode")
    scorer = train_scorer(renders, latents, plan, work)
    held_out = render_set(plan.held_out, plan.seed + 10_000)
    report.scorer_retrieval = retrieval_accuracy(scorer, held_out)
    logger.info(
        "scorer: held-out caption retrieval top-1 among %d: %.2f",
        *(plan.held_out, report.scorer_retrieval),
    )
    lap("scorer")
    tokenizer = clip_tokenizer()
    text_encoder, unet = train_diffusion(
        renders, latents, vae, tokenizer, plan, work, SAMPLE_PROMPTS
    )
    lap("diffusion")
    pipe = assemble_pipeline(vae, text_encoder, tokenizer, unet)
    save_sample_grid(
        pipe, SAMPLE_PROMPTS, work / "samples" / "final.png", plan.sample_steps, plan.guidance_scale
    )
    export_weights(pipe, scorer, plan, export)
    report.exported_to = str(export)
    lap("export")
    (work / "report.json").write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
    return report


def export_weights(
    pipe: StableDiffusionPipeline, scorer: CLIP, plan: TrainingPlan, export: Path
) -> None:
    """Write the generator and scorer folders through a staging folder renamed into place."""
    staging = export.with_name(export.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    pipe.to(torch.float16).save_pretrained(staging / GENERATOR_DIR, safe_serialization=True)
    pipe.to(torch.float32)
    save_scorer(scorer.half(), plan.architecture, staging / SCORER_DIR)
    scorer.float()
    if export.exists():
        shutil.rmtree(export)
    staging.rename(export)
