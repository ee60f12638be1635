"""One paragraph end to end through Inkwell vs the bare diffusers + open_clip calls it needs.

Run: .venv/bin/python -m bench.paragraph [--paragraphs N] [--candidates K]
Both sides run in this process on the tiny profile, with the same prompts, seeds and sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import open_clip
import torch
from diffusers import StableDiffusionPipeline
from PIL import Image

from core.events import PostIllustrations
from core.inkwell import Inkwell
from core.story.clauses import split_sentences
from core.story.loop import candidate_seeds
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from engine.local_engine import LocalEngine
from engine.profiles import resolve_profile
from engine.tiny import ensure_tiny_models, register_tiny_clip
from storage.sqlite import SQLiteStorage

PARAGRAPH = (
    "A lighthouse stands on a black cliff above a stormy sea. "
    "A small boat with a red sail fights the waves below. "
    "On the shore, a girl in a yellow coat waves a lantern."
)


def load_bare_models(models_dir: Path) -> tuple:
    """The tiny generator and CLIP, loaded straight through diffusers and open_clip."""
    paths = ensure_tiny_models(models_dir)
    register_tiny_clip(paths)
    pipe = StableDiffusionPipeline.from_pretrained(paths.generator, local_files_only=True)
    pipe.set_progress_bar_config(disable=True)
    clip, _, preprocess = open_clip.create_model_and_transforms(
        paths.clip_model, pretrained=str(paths.clip_weights)
    )
    clip.eval()
    return pipe, clip, preprocess, open_clip.get_tokenizer(paths.clip_model)


def bare_paragraph(
    pipe, clip, preprocess, tokenizer, profile, paragraph_id: str, k: int, text: str = PARAGRAPH
) -> None:
    """What the loop must do at least: draw K per sentence in one call, embed, pick."""
    sentences = split_sentences(text)
    prompts = [s for s in sentences for _ in range(k)]
    seeds = [seed for i in range(len(sentences)) for seed in candidate_seeds(paragraph_id, i, k)]
    images = pipe(
        prompt=prompts,
        num_inference_steps=profile.steps,
        guidance_scale=profile.guidance_scale,
        width=profile.width,
        height=profile.height,
        generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
    ).images
    pngs = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    with torch.inference_mode():
        pixels = torch.stack([preprocess(Image.open(io.BytesIO(p)).convert("RGB")) for p in pngs])
        image_features = clip.encode_image(pixels)
        text_features = clip.encode_text(tokenizer(sentences))
    image_features = image_features / image_features.norm(dim=-1, keepdim=True)
    text_features = text_features / text_features.norm(dim=-1, keepdim=True)
    scores = image_features.view(len(sentences), k, -1) @ text_features.unsqueeze(-1)
    scores.squeeze(-1).argmax(dim=1)


async def measure(root: Path, paragraphs: int, k: int) -> tuple[list[float], list[float]]:
    """Alternate bare and Inkwell paragraphs, so machine noise hits both sides alike."""
    profile = resolve_profile("tiny")
    pipe, clip, preprocess, tokenizer = load_bare_models(root / "models")
    # The baseline gets its own thread too, as the engine's model worker has.
    bare_thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.get_running_loop()

    def bare(paragraph_id: str) -> float:
        started = time.perf_counter()
        bare_paragraph(pipe, clip, preprocess, tokenizer, profile, paragraph_id, k)
        return time.perf_counter() - started

    engine = LocalEngine.for_profile(profile, root / "models", "cpu")
    await engine.start()
    storage = await SQLiteStorage.open(root / "bench.sqlite3", root / "images")
    inkwell = Inkwell(engine, storage, StorySettings(candidates=k, progress_interval_s=0.25))
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()

    bare_times, ours = [], []
    for number in range(-1, paragraphs):  # round -1 warms both sides up
        bare_time = await loop.run_in_executor(bare_thread, bare, f"p{number}")
        started = time.perf_counter()
        await chat.post(PARAGRAPH)
        await chat.wait_for(PostIllustrations, count=number + 2, timeout=120)
        if number >= 0:
            bare_times.append(bare_time)
            ours.append(time.perf_counter() - started)
    await inkwell.stop()
    await engine.close()
    await storage.close()
    bare_thread.shutdown()
    return bare_times, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paragraphs", type=int, default=10)
    parser.add_argument("--candidates", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        bare, ours = asyncio.run(measure(Path(scratch), args.paragraphs, args.candidates))

    sentences = len(split_sentences(PARAGRAPH))
    bare_median, ours_median = statistics.median(bare), statistics.median(ours)
    print(
        f"tiny profile, {sentences} sentences x {args.candidates} candidates, "
        f"{args.paragraphs} paragraphs, torch threads {torch.get_num_threads()}"
    )
    print(f"bare diffusers + open_clip per paragraph: median {bare_median * 1000:7.1f} ms")
    print(f"Inkwell post -> illustrations posted:     median {ours_median * 1000:7.1f} ms")
    print(
        f"ratio Inkwell / bare: {ours_median / bare_median:.2f} "
        f"(model share of end to end: {bare_median / ours_median:.0%})"
    )


if __name__ == "__main__":
    main()
