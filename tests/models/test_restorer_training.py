"""Seed 002's three stages on tiny data: each step moves its loss the right way."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.feedback.training_settings import StageSettings, TrainingSettings
from engine.profiles import ModelProfile
from engine.restorer import RestorerNet, load_restorer, restore_pngs, tensor_to_png
from training.damage import psnr, ssim, synthetic_scenes
from training.feedback_scorer import FeedbackScorer, load_scorer
from training.restorer import (
    RestorerTrainer,
    joint_step,
    make_pairs,
    pixel_loss,
    pixel_step,
    scorer_examples,
    scorer_loss,
    scorer_step,
)


@pytest.fixture
def pairs():
    torch.manual_seed(0)
    return make_pairs(synthetic_scenes(6, 32, torch.Generator().manual_seed(1)), seed=2)


@pytest.fixture(scope="module")
def scorer(models_dir: Path, tiny_profile: ModelProfile) -> FeedbackScorer:
    torch.manual_seed(0)
    return load_scorer(tiny_profile, models_dir, torch.device("cpu"))


def _batch(pairs):
    return torch.stack([p.degraded for p in pairs]), torch.stack([p.clean for p in pairs])


# Adam's first step moves every weight by the learning rate in its gradient's direction, so a
# small rate is what makes "one step lowers the loss" hold for any data.
SMALL_STEP = 1e-5


def _restorer_off_identity() -> RestorerNet:
    """A fresh restorer returns its input, and where damage left pixels equal to the clean
    picture L1 has a kink that no step can go down; a slightly trained one has none."""
    torch.manual_seed(0)
    net = RestorerNet()
    torch.nn.init.normal_(net.tail.weight, std=1e-3)
    return net


@pytest.mark.parametrize("kind", ["l1", "mse"])
def test_one_pixel_step_lowers_the_pixel_loss(pairs, kind) -> None:
    net = _restorer_off_identity()
    degraded, clean = _batch(pairs)
    with torch.no_grad():
        before = float(pixel_loss(net(degraded), clean, kind))
    optimizer = torch.optim.Adam(net.parameters(), lr=SMALL_STEP)
    reported = pixel_step(net, optimizer, degraded, clean, kind)
    assert reported == pytest.approx(before)
    with torch.no_grad():
        assert float(pixel_loss(net(degraded), clean, kind)) < before


def test_one_scorer_step_lowers_the_scorer_loss(pairs, scorer) -> None:
    examples = scorer_examples(pairs)
    assert {e.label for e in examples} == {0, 1}
    images = torch.stack([e.image for e in examples])
    texts = [e.text for e in examples]
    labels = torch.tensor([e.label for e in examples])
    with torch.no_grad():
        before = float(scorer_loss(scorer, images, texts, labels))
    scorer.unfreeze()
    scorer_step(scorer, torch.optim.Adam(scorer.parameters(), lr=SMALL_STEP), images, texts, labels)
    with torch.no_grad():
        assert float(scorer_loss(scorer, images, texts, labels)) < before


def test_one_joint_step_lowers_the_loss_and_leaves_the_scorer_frozen(pairs, scorer) -> None:
    net = _restorer_off_identity()
    degraded, clean = _batch(pairs)
    targets = [p.target_text for p in pairs]
    assert all(target and target != p.complaint for target, p in zip(targets, pairs, strict=True))
    frozen = {k: v.clone() for k, v in scorer.state_dict().items()}
    weight = 0.5

    def total() -> float:
        with torch.no_grad():
            prediction = net(degraded)
            text = (1 - scorer.similarity(prediction, targets)).mean()
            return float(pixel_loss(prediction, clean, "l1") + weight * text)

    before = total()
    optimizer = torch.optim.Adam(net.parameters(), lr=SMALL_STEP)
    result = joint_step(net, optimizer, scorer, degraded, clean, targets, weight)
    assert result.total == pytest.approx(before, rel=1e-4)
    assert 0 < result.text < 1
    assert total() < before
    for key, value in scorer.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    assert all(not p.requires_grad for p in scorer.parameters())


def test_stages_stop_at_threshold_save_checkpoints_and_load(pairs, scorer, tmp_path) -> None:
    settings = TrainingSettings(
        pixel=StageSettings(40, 1.0, 1e-3),  # threshold met at once: stops after min_steps
        scorer=StageSettings(3, 0.0, 1e-4),
        joint=StageSettings(3, 0.0, 1e-4),
        batch_size=4,
    )
    trainer = RestorerTrainer(RestorerNet(), scorer, pairs, settings, checkpoint_dir=tmp_path)
    reports = []
    result = trainer.run_stage("pixel", on_step=reports.append)
    assert (result.reason, result.steps) == ("threshold", settings.min_steps)
    assert [r.step for r in reports] == list(range(1, 6))
    assert trainer.run_stage("scorer").reason == "max_steps"
    assert trainer.run_stage("joint", should_stop=lambda: True).reason == "stopped"
    models = tmp_path.parent / "models-here"
    (models / "restorer").mkdir(parents=True)
    for name in ("restorer.pt", "scorer.pt"):
        (models / "restorer" / name).write_bytes((tmp_path / name).read_bytes())
    net, state = load_restorer(models, torch.device("cpu"))
    assert state == "trained"
    assert all(
        torch.equal(a, b) for a, b in zip(net.parameters(), trainer.net.parameters(), strict=True)
    )


def test_an_untrained_restorer_says_so_and_changes_nothing(tmp_path, caplog) -> None:
    net, state = load_restorer(tmp_path, torch.device("cpu"))
    assert state == "untrained"
    assert "UNTRAINED" in caplog.text
    image = synthetic_scenes(1, 16, torch.Generator().manual_seed(0))[0]
    png = tensor_to_png(image)
    assert restore_pngs(net, [png], torch.device("cpu")) == [png]


def test_quality_measures() -> None:
    image = synthetic_scenes(2, 32, torch.Generator().manual_seed(0))
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-5)
    noisy = (image + 0.1 * torch.randn(image.shape)).clamp(0, 1)
    assert 15 < psnr(noisy, image) < 25
    assert ssim(noisy, image) < 0.9
