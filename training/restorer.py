"""Seed 002's staged training: pixels first, then the scorer, then pixels plus text.

[0204]-[0289], [0300]: stage "pixel" trains the restorer with L1 or MSE to the clean picture
(eqs. 1-2); stage "scorer" trains the CLIP-structured scorer on (picture, text, label);
stage "joint" trains the restorer on the pixel loss plus, with a smaller weight [0148], one
minus the frozen scorer's similarity between its output and the target text. Each stage
stops at its loss threshold, its step limit, or when asked to.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from core.engine import StageResult, StepReport
from core.feedback.evaluation import classify_feedback, reverse_evaluation
from core.feedback.training_settings import STAGES, PixelLoss, Stage, TrainingSettings
from engine.restorer import RestorerNet, save_restorer
from training.damage import DamageSettings, damage_text, degrade
from training.feedback_scorer import FeedbackScorer, save_scorer

logger = logging.getLogger("inkwell.training")


@dataclass
class TrainingPair:
    """A damaged picture, its clean original, and the text the restorer should aim for."""

    sample_id: str
    degraded: torch.Tensor  # (3, H, W) in 0..1
    clean: torch.Tensor
    complaint: str  # what is wrong with the damaged picture, in a writer's words
    feedback: list[str] = field(default_factory=list)  # texts writers typed for this sample

    @property
    def target_text(self) -> str:
        """The latest writer's reverse evaluation, else the one for the pair's own damage."""
        if self.feedback:
            return reverse_evaluation(self.feedback[-1])
        return reverse_evaluation(self.complaint)


@dataclass(frozen=True)
class ScorerExample:
    """One (picture, text, label) the scorer learns from [0330]."""

    image: torch.Tensor  # (3, H, W) in 0..1
    text: str
    label: int


def make_pairs(
    clean: torch.Tensor, seed: int = 0, settings: DamageSettings | None = None, prefix: str = "s"
) -> list[TrainingPair]:
    """One damaged copy of each clean (B, 3, H, W) picture, with its damage in words."""
    generator = torch.Generator().manual_seed(seed)
    pairs = []
    for index, image in enumerate(clean):
        degraded, kinds = degrade(image, generator, settings)
        pairs.append(TrainingPair(f"{prefix}{index}", degraded, image, damage_text(kinds)))
    return pairs


def labelled_texts(image: torch.Tensor, text: str) -> list[ScorerExample]:
    """A text and its generated opposite for one picture, labelled ([0188]-[0198])."""
    feedback = classify_feedback(text)
    return [
        ScorerExample(image, feedback.text, feedback.label),
        ScorerExample(image, feedback.opposite, 1 - feedback.label),
    ]


def scorer_examples(pairs: Sequence[TrainingPair]) -> list[ScorerExample]:
    """Third image samples [0309]: damaged and clean pictures with both classes of text."""
    examples = []
    for pair in pairs:
        examples += labelled_texts(pair.degraded, pair.complaint)
        # The clean picture matches the reverse evaluation: flip the labels.
        examples += [
            ScorerExample(pair.clean, e.text, 1 - e.label)
            for e in labelled_texts(pair.clean, pair.complaint)
        ]
    return examples


def pixel_loss(prediction: torch.Tensor, clean: torch.Tensor, kind: PixelLoss) -> torch.Tensor:
    """Eq. (1) L1 or eq. (2) MSE, averaged over channels, height and width."""
    return F.l1_loss(prediction, clean) if kind == "l1" else F.mse_loss(prediction, clean)


def pixel_step(
    net: RestorerNet,
    optimizer: torch.optim.Optimizer,
    degraded: torch.Tensor,
    clean: torch.Tensor,
    kind: PixelLoss = "l1",
) -> float:
    net.train()
    loss = pixel_loss(net(degraded), clean, kind)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def scorer_loss(
    scorer: FeedbackScorer, images: torch.Tensor, texts: Sequence[str], labels: torch.Tensor
) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(scorer.logits(images, texts), labels.float())


def scorer_step(
    scorer: FeedbackScorer,
    optimizer: torch.optim.Optimizer,
    images: torch.Tensor,
    texts: Sequence[str],
    labels: torch.Tensor,
) -> float:
    scorer.train()
    loss = scorer_loss(scorer, images, texts, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


@dataclass(frozen=True)
class JointLoss:
    total: float
    pixel: float
    text: float  # 1 - the frozen scorer's similarity to the target text


def joint_step(
    net: RestorerNet,
    optimizer: torch.optim.Optimizer,
    scorer: FeedbackScorer,
    degraded: torch.Tensor,
    clean: torch.Tensor,
    targets: Sequence[str],
    text_weight: float,
    kind: PixelLoss = "l1",
) -> JointLoss:
    """Pixel loss + text_weight * (1 - similarity(output, target)); the scorer stays frozen."""
    net.train()
    scorer.freeze()
    prediction = net(degraded)
    pixel = pixel_loss(prediction, clean, kind)
    text = (1 - scorer.similarity(prediction, targets)).mean()
    total = pixel + text_weight * text
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    optimizer.step()
    return JointLoss(total.item(), pixel.item(), text.item())


class RestorerTrainer:
    """Runs the stages over one set of pairs; call from one thread (e.g. a worker)."""

    def __init__(
        self,
        net: RestorerNet,
        scorer: FeedbackScorer | None,
        pairs: list[TrainingPair],
        settings: TrainingSettings | None = None,
        device: torch.device | None = None,
        checkpoint_dir: Path | None = None,
        extra_examples: Callable[[], list[ScorerExample]] | None = None,
    ) -> None:
        self.net = net
        self.scorer = scorer
        self.pairs = pairs
        self.settings = settings or TrainingSettings()
        self.device = device or torch.device("cpu")
        self.checkpoint_dir = checkpoint_dir
        self.extra_examples = extra_examples or (lambda: [])
        self._random = random.Random(self.settings.seed)
        self.history: dict[Stage, list[float]] = {stage: [] for stage in STAGES}
        self._optimizers: dict[Stage, torch.optim.Optimizer] = {}

    def _batch(self, size: int) -> list[TrainingPair]:
        return self._random.sample(self.pairs, min(size, len(self.pairs)))

    def _stack(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.stack(list(images)).to(self.device)

    def step(self, stage: Stage, step: int, running: float | None) -> StepReport:
        """One optimisation step of `stage`; `running` is the smoothed loss so far."""
        s = self.settings
        optimizer = self._optimizer(stage)
        pixel = text = None
        if stage == "scorer":
            assert self.scorer is not None
            self.scorer.unfreeze()
            examples = scorer_examples(self.pairs) + self.extra_examples()
            chosen = self._random.sample(examples, min(s.batch_size * 2, len(examples)))
            images = self._stack([_sized(e.image, self.pairs[0].clean) for e in chosen])
            labels = torch.tensor([e.label for e in chosen], device=self.device)
            loss = scorer_step(self.scorer, optimizer, images, [e.text for e in chosen], labels)
            sample_id = ""
        else:
            batch = self._batch(s.batch_size)
            degraded = self._stack([p.degraded for p in batch])
            clean = self._stack([p.clean for p in batch])
            sample_id = batch[0].sample_id
            if stage == "pixel":
                loss = pixel = pixel_step(self.net, optimizer, degraded, clean, s.pixel_loss)
            else:
                assert self.scorer is not None
                targets = [p.target_text for p in batch]
                result = joint_step(
                    *(self.net, optimizer, self.scorer, degraded, clean, targets),
                    s.text_weight,
                    s.pixel_loss,
                )
                loss, pixel, text = result.total, result.pixel, result.text
        smoothed = loss if running is None else 0.8 * running + 0.2 * loss
        self.history[stage].append(loss)
        return StepReport(
            *(stage, step, s.stage(stage).max_steps, loss, smoothed, pixel, text, sample_id)
        )

    def run_stage(
        self,
        stage: Stage,
        should_stop: Callable[[], bool] = lambda: False,
        on_step: Callable[[StepReport], None] | None = None,
    ) -> StageResult:
        """Train `stage` until its threshold, its step limit, or `should_stop()`."""
        limits = self.settings.stage(stage)
        if not self.pairs:
            return StageResult(stage, 0, float("nan"), "no_data")
        if stage != "pixel" and self.scorer is None:
            raise ValueError(f"stage {stage!r} needs a scorer")
        running: float | None = None
        reason: Literal["threshold", "max_steps", "stopped"] = "max_steps"
        step = 0
        for step in range(1, limits.max_steps + 1):
            if should_stop():
                reason, step = "stopped", step - 1
                break
            report = self.step(stage, step, running)
            running = report.running
            if on_step is not None:
                on_step(report)
            if step % self.settings.checkpoint_every == 0:
                self.save(stage, step)
            if step >= self.settings.min_steps and running < limits.loss_threshold:
                reason = "threshold"
                break
        self.save(stage, step)
        final = running if running is not None else float("nan")
        logger.info("stage %s ended after %d steps (%s), loss %.4f", stage, step, reason, final)
        return StageResult(stage, step, final, reason)

    def save(self, stage: Stage, step: int) -> None:
        if self.checkpoint_dir is None:
            return
        meta = {"stage": stage, "step": step, "pairs": len(self.pairs)}
        save_restorer(self.net, self.checkpoint_dir, meta)
        if self.scorer is not None and stage != "pixel":
            save_scorer(self.scorer, self.checkpoint_dir, meta)

    def predict(self, pair: TrainingPair) -> torch.Tensor:
        """The restorer's current output for one pair, for display."""
        self.net.eval()
        with torch.inference_mode():
            return self.net(pair.degraded[None].to(self.device))[0].cpu()

    def reset_optimizer(self, stage: Stage) -> None:
        """The next run of `stage` starts with fresh optimiser state (e.g. after reloading
        weights to compare two runs from the same start)."""
        self._optimizers.pop(stage, None)

    def _optimizer(self, stage: Stage) -> torch.optim.Optimizer:
        if stage not in self._optimizers:
            rate = self.settings.stage(stage).learning_rate
            model = self.scorer if stage == "scorer" else self.net
            assert model is not None
            self._optimizers[stage] = torch.optim.Adam(model.parameters(), lr=rate)
        return self._optimizers[stage]


def _sized(image: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Writers' pictures come in any size; the scorer's batch needs one."""
    if image.shape[-2:] == like.shape[-2:]:
        return image
    return F.interpolate(image[None], size=like.shape[-2:], mode="bilinear", align_corners=False)[0]
