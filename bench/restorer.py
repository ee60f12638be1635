"""Seed 002's restorer: PSNR and SSIM on held-out damaged pictures after a short CPU training.

Run: .venv/bin/python -m bench.restorer [--profile tiny] [--steps 300] [--size 48]
The baseline is the damaged input itself (what a writer sees without the restorer). Clean
pictures are synthetic scenes (no photo set ships offline); training and held-out scenes
come from different seeds. Stage 1 (pixels) runs once; stages 2-3 then run from the same
stage-1 weights with the scorer's text term on (weight --text-weight) and off (weight 0),
for the same number of restorer steps, so the two differ only in the text term.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from core.feedback.training_settings import StageSettings, TrainingSettings
from engine.profiles import resolve_profile
from engine.restorer import RestorerNet
from training.damage import psnr, ssim, synthetic_scenes
from training.feedback_scorer import load_scorer
from training.restorer import RestorerTrainer, TrainingPair, make_pairs, scorer_examples


def _measure(net: RestorerNet, pairs: list[TrainingPair]) -> tuple[float, float]:
    degraded = torch.stack([p.degraded for p in pairs])
    clean = torch.stack([p.clean for p in pairs])
    net.eval()
    with torch.inference_mode():
        restored = net(degraded)
    return psnr(restored, clean), ssim(restored, clean)


def _text_similarity(trainer: RestorerTrainer, pairs: list[TrainingPair]) -> float:
    assert trainer.scorer is not None
    degraded = torch.stack([p.degraded for p in pairs])
    with torch.inference_mode():
        restored = trainer.net.eval()(degraded)
        return float(trainer.scorer.similarity(restored, [p.target_text for p in pairs]).mean())


def _scorer_accuracy(trainer: RestorerTrainer, pairs: list[TrainingPair]) -> float:
    assert trainer.scorer is not None
    examples = scorer_examples(pairs)
    images = torch.stack([e.image for e in examples])
    with torch.inference_mode():
        logits = trainer.scorer.eval().logits(images, [e.text for e in examples])
    labels = torch.tensor([e.label for e in examples])
    return float(((logits > 0).long() == labels).float().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--steps", type=int, default=300, help="pixel-stage steps")
    parser.add_argument("--scorer-steps", type=int, default=150)
    parser.add_argument("--joint-steps", type=int, default=150)
    parser.add_argument("--text-weight", type=float, default=0.1)
    # The tiny profile's CLIP is random, so its scorer learns from scratch at a higher rate.
    parser.add_argument("--scorer-lr", type=float, default=1e-3)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--train", type=int, default=64, help="training pictures")
    parser.add_argument("--held-out", type=int, default=24)
    parser.add_argument("--loss", choices=("l1", "mse"), default="l1")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

    train = make_pairs(synthetic_scenes(args.train, args.size, torch.Generator().manual_seed(1)))
    held = make_pairs(
        synthetic_scenes(args.held_out, args.size, torch.Generator().manual_seed(99)), seed=7
    )
    never_stop = 0.0  # thresholds of 0: every run takes its full number of steps
    settings = TrainingSettings(
        pixel=StageSettings(args.steps, never_stop, 3e-4),
        scorer=StageSettings(args.scorer_steps, never_stop, args.scorer_lr),
        joint=StageSettings(args.joint_steps, never_stop, 1e-4),
        text_weight=args.text_weight,
        pixel_loss=args.loss,
    )
    profile = resolve_profile(args.profile)
    with tempfile.TemporaryDirectory() as models:
        scorer = load_scorer(profile, Path(models), torch.device("cpu"))
    identity = RestorerNet()
    base_psnr, base_ssim = _measure(identity, held)

    started = time.perf_counter()
    trainer = RestorerTrainer(RestorerNet(), scorer, train, settings)
    trainer.run_stage("pixel")
    pixel_time = time.perf_counter() - started
    stage1 = copy.deepcopy(trainer.net.state_dict())
    pixel_psnr, pixel_ssim = _measure(trainer.net, held)
    trainer.run_stage("scorer")
    accuracy = _scorer_accuracy(trainer, held)
    rows = []
    for label, weight in (("text on", args.text_weight), ("text off", 0.0)):
        trainer.net.load_state_dict(stage1)
        trainer.reset_optimizer("joint")
        trainer.settings = TrainingSettings(**{**vars(settings), "text_weight": weight})
        torch.manual_seed(0)
        trainer.run_stage("joint")
        rows.append((label, weight, *_measure(trainer.net, held), _text_similarity(trainer, held)))

    print(f"# seed 002 restorer, profile {profile.name}, {args.size}px, loss {args.loss}")
    print(f"# train {args.train} / held-out {args.held_out} synthetic scenes; CPU")
    print(f"# pixel stage: {args.steps} steps in {pixel_time:.1f} s")
    print(f"{'run':<30}{'PSNR dB':>9}{'SSIM':>8}{'PSNR x':>9}{'SSIM x':>8}{'sim(target)':>13}")
    print(f"{'damaged input (baseline)':<30}{base_psnr:9.2f}{base_ssim:8.3f}{1:9.3f}{1:8.3f}")

    def row(name: str, p: float, s: float, sim: str = "") -> None:
        print(f"{name:<30}{p:9.2f}{s:8.3f}{p / base_psnr:9.3f}{s / base_ssim:8.3f}{sim:>13}")

    row(f"stage 1 pixels ({args.steps})", pixel_psnr, pixel_ssim)
    for label, weight, p, s, sim in rows:
        row(f"+ stage 3 {label} (w={weight:g})", p, s, f"{sim:.3f}")
    print(f"# scorer accuracy on held-out (picture, text, label): {accuracy:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
