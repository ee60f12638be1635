"""Stage 4: a small open_clip CLIP trained contrastively on (render, caption) pairs, for scoring."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import open_clip
import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from training.picturebook.autoencoder import Latents
from training.picturebook.checkpoints import load_checkpoint, save_checkpoint, warmup_cosine
from training.picturebook.data import Renders, step_rng
from training.picturebook.options import (
    CLIP_VOCAB_SIZE,
    CONTEXT_LENGTH,
    IMAGE_SIZE,
    Architecture,
    TrainingPlan,
)

logger = logging.getLogger("inkwell.training")

STAGE = "scorer"
SCORER_MODEL = "inkwell-picturebook-clip"
WEIGHTS_FILE = "open_clip_model.safetensors"


def scorer_config(arch: Architecture) -> dict[str, object]:
    """The open_clip model config (registered by name with `open_clip.add_model_config`)."""
    return {
        "embed_dim": arch.clip_embed,
        "vision_cfg": {
            "image_size": IMAGE_SIZE,
            "patch_size": 8,
            "width": arch.clip_vision_width,
            "head_width": 32 if arch.clip_vision_width >= 32 else arch.clip_vision_width,
            "layers": arch.clip_vision_layers,
        },
        "text_cfg": {
            "context_length": CONTEXT_LENGTH,
            "vocab_size": CLIP_VOCAB_SIZE,
            "width": arch.clip_text_width,
            "heads": 4 if arch.clip_text_width >= 32 else 2,
            "layers": arch.clip_text_layers,
        },
    }


def config_path(folder: Path) -> Path:
    return folder / f"{SCORER_MODEL}.json"


def build_scorer(arch: Architecture) -> open_clip.model.CLIP:
    cfg = scorer_config(arch)
    return open_clip.model.CLIP(
        embed_dim=cfg["embed_dim"], vision_cfg=cfg["vision_cfg"], text_cfg=cfg["text_cfg"]
    )


def normalise(pixels: torch.Tensor) -> torch.Tensor:
    """[-1, 1] pixels as open_clip's default preprocessing gives them (OpenAI mean and std)."""
    mean = torch.tensor(OPENAI_DATASET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(OPENAI_DATASET_STD).view(1, 3, 1, 1)
    return ((pixels + 1) / 2 - mean) / std


def _batch_pixels(
    renders: Renders, latents: Latents, rows: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    # Half the pictures are the autoencoder's reconstructions: the scorer will judge decoded
    # samples, which are a little softer than renders.
    images = renders.images[rows].clone()
    decoded = (torch.rand(len(rows), generator=generator) < 0.5) & (
        rows < len(latents.reconstructions)
    )
    images[decoded] = latents.reconstructions[rows[decoded]]
    return images.float() / 127.5 - 1.0


def clip_loss(
    model: open_clip.model.CLIP, pixels: torch.Tensor, tokens: torch.Tensor
) -> torch.Tensor:
    image = model.encode_image(normalise(pixels), normalize=True)
    text = model.encode_text(tokens, normalize=True)
    logits = model.logit_scale.exp() * image @ text.T
    labels = torch.arange(len(tokens))
    return (
        torch.nn.functional.cross_entropy(logits, labels)
        + torch.nn.functional.cross_entropy(logits.T, labels)
    ) / 2


def train_scorer(
    renders: Renders, latents: Latents, plan: TrainingPlan, work: Path
) -> open_clip.model.CLIP:
    """The scoring CLIP in `work/scorer`, training (or resuming) it when absent."""
    final = work / STAGE
    if (final / WEIGHTS_FILE).exists():
        model = build_scorer(plan.architecture)
        model.load_state_dict(load_file(str(final / WEIGHTS_FILE)))
        return model.eval()
    torch.manual_seed(plan.seed + 2)
    model = build_scorer(plan.architecture)
    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=CONTEXT_LENGTH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=plan.clip_lr, weight_decay=0.1)
    checkpoint = work / "checkpoints" / f"{STAGE}.pt"
    start, extra = load_checkpoint(checkpoint, {"clip": model}, optimizer)
    losses: list[float] = list(extra.get("losses", []))  # type: ignore[arg-type]
    bar = tqdm(
        range(start, plan.clip_steps),
        initial=start,
        total=plan.clip_steps,
        desc="scorer",
        disable=not plan.progress,
    )
    model.train()
    for step in bar:
        rng, generator = step_rng(plan.seed, STAGE, step)
        rows = torch.randperm(len(renders), generator=generator)[: plan.clip_batch]
        tokens = tokenizer(renders.fresh_captions(rows, rng))
        for group in optimizer.param_groups:
            group["lr"] = plan.clip_lr * warmup_cosine(step, plan.clip_steps, plan.warmup_steps)
        loss = clip_loss(model, _batch_pixels(renders, latents, rows, generator), tokens)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.6052)  # at most 100, as open_clip's training does
        losses.append(loss.item())
        bar.set_postfix(loss=f"{sum(losses[-20:]) / len(losses[-20:]):.3f}")
        done = step + 1
        if done % plan.checkpoint_every == 0 or done == plan.clip_steps:
            save_checkpoint(checkpoint, done, {"clip": model}, optimizer, {"losses": losses})
    model.eval()
    save_scorer(model, plan.architecture, final)
    if losses:
        logger.info(
            "scorer: contrastive loss %.3f at the first step, %.3f over the last 20",
            losses[0],
            sum(losses[-20:]) / len(losses[-20:]),
        )
    return model


def save_scorer(model: open_clip.model.CLIP, arch: Architecture, folder: Path) -> None:
    """Weights (safetensors) and the named config, as `create_model_and_transforms` reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path(folder).write_text(json.dumps(scorer_config(arch), indent=2), encoding="utf-8")
    # safetensors refuses shared or non-contiguous tensors; every CLIP tensor is its own.
    state = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE))


@torch.no_grad()
def retrieval_accuracy(model: open_clip.model.CLIP, renders: Renders, batch: int = 64) -> float:
    """Share of pictures whose own caption scores highest among the captions of their batch."""
    tokenizer = open_clip.tokenizer.SimpleTokenizer(context_length=CONTEXT_LENGTH)
    hits = 0
    for rows in torch.arange(len(renders)).split(batch):
        image = model.encode_image(normalise(renders.pixels(rows)), normalize=True)
        captions = [renders.captions[int(row)] for row in rows]
        text = model.encode_text(tokenizer(captions), normalize=True)
        hits += int(((image @ text.T).argmax(dim=1) == torch.arange(len(rows))).sum())
    return hits / len(renders)
