"""Seed 000's screening model: the heads, their training on the shipped dataset, the engine."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from core.engine import GenerationRequest, Screening
from core.story.screening import read_examples
from engine.local_engine import LocalEngine
from engine.profiles import ModelProfile
from engine.runner import ModelRunner, StepCallback, StopCheck
from engine.screening import ScreeningModel, default_heads_dir
from engine.screening_heads import (
    Conv1x1,
    ScreeningHeads,
    TrainingSettings,
    has_heads,
    load_heads,
    save_heads,
    screening_loss,
    train_heads,
)
from engine.sentence_encoder import SentenceEncoder
from training.screening import FitReport, fit_examples

DATASET = Path(__file__).resolve().parents[2] / "training" / "datasets" / "screening.tsv"
CPU = torch.device("cpu")


@pytest.fixture(scope="session")
def encoder(tiny_profile: ModelProfile) -> SentenceEncoder:
    return SentenceEncoder(tiny_profile.screening_encoder, CPU)


@pytest.fixture(scope="session")
def fitted(encoder: SentenceEncoder) -> FitReport:
    """The heads trained once per session on the shipped dataset, as train-screening does."""
    return fit_examples(encoder, read_examples(DATASET))


def test_heads_give_softmax_probabilities_of_the_right_shapes() -> None:
    heads = ScreeningHeads(384)
    generability, description = heads.probabilities(torch.randn(5, 384))
    assert generability.shape == (5, 3) and description.shape == (5, 2)
    assert torch.allclose(generability.sum(-1), torch.ones(5))
    assert torch.allclose(description.sum(-1), torch.ones(5))
    # Tables 1/2: input layer 512, fusion layer 1024, one classifier each.
    shapes = [layer.weight.shape for layer in heads.generability if isinstance(layer, Conv1x1)]
    assert shapes == [(512, 384, 1), (1024, 512, 1), (3, 1024, 1)]
    assert heads.description_type[-1].weight.shape == (2, 1024, 1)


def test_pointwise_convolution_equals_torch_conv1d() -> None:
    layer = Conv1x1(6, 4)
    features = torch.randn(3, 6)
    reference = nn.functional.conv1d(features.unsqueeze(-1), layer.weight, layer.bias)
    assert torch.allclose(layer(features), reference.squeeze(-1), atol=1e-6)


def test_one_epoch_lowers_the_loss() -> None:
    torch.manual_seed(1)
    features = nn.functional.normalize(torch.randn(64, 32), dim=-1)
    generability, verb = torch.randint(0, 3, (64,)), torch.randint(0, 2, (64,))
    torch.manual_seed(2)
    heads = ScreeningHeads(32)
    before = screening_loss(heads, features, generability, verb).item()
    train_heads(features, generability, verb, TrainingSettings(epochs=1), heads=heads)
    after = screening_loss(heads, features, generability, verb).item()
    assert after < before


def test_trained_heads_beat_the_majority_baseline(fitted: FitReport) -> None:
    print(
        f"\nscreening held-out ({fitted.test_size} rows): generability "
        f"{fitted.generability_accuracy:.3f} vs majority {fitted.generability_baseline:.3f}; "
        f"description type {fitted.type_accuracy:.3f} vs majority {fitted.type_baseline:.3f}"
    )
    assert len(fitted.losses) == 60 and fitted.losses[-1] < fitted.losses[0]
    assert fitted.generability_accuracy >= fitted.generability_baseline + 0.2
    assert fitted.type_accuracy >= fitted.type_baseline + 0.08


def test_heads_round_trip_through_their_files(fitted: FitReport, tmp_path: Path) -> None:
    save_heads(fitted.heads, fitted.info, tmp_path)
    heads, info = load_heads(tmp_path, CPU)
    assert info == fitted.info
    features = torch.randn(4, fitted.info.dim)
    with torch.inference_mode():
        assert torch.equal(heads(features)[0], fitted.heads(features)[0])


def test_missing_heads_are_trained_at_load_and_saved(
    tiny_profile: ModelProfile, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    small = tmp_path / "small.tsv"
    small.write_text("\n".join(DATASET.read_text(encoding="utf-8").splitlines()[:41]) + "\n")
    with caplog.at_level(logging.WARNING, "inkwell.models"):
        model = ScreeningModel.load(tiny_profile, tmp_path, CPU, dataset=small)
    assert "no trained screening heads" in caplog.text and "training them now" in caplog.text
    assert has_heads(default_heads_dir(tmp_path))
    [result] = model.screen(["A red fox."])
    assert result.generability in (0, 1, 2)


def test_heads_of_another_encoder_are_refused(
    tiny_profile: ModelProfile, fitted: FitReport, tmp_path: Path
) -> None:
    save_heads(fitted.heads, replace(fitted.info, encoder="other-encoder"), tmp_path / "screening")
    with pytest.raises(RuntimeError, match="train-screening"):
        ScreeningModel.load(tiny_profile, tmp_path, CPU)


class GatedRunner(ModelRunner):
    """The tiny runner, recording screen calls; its first generate call waits for a gate."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.screen_calls: list[list[str]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_step: StepCallback | None = None,
        should_stop: StopCheck | None = None,
    ) -> list:
        self.entered.set()
        assert self.gate.wait(10)
        return super().generate(requests, on_step, should_stop)

    def screen(self, texts: Sequence[str]) -> list[Screening]:
        self.screen_calls.append(list(texts))
        return super().screen(texts)


@pytest.mark.asyncio
async def test_local_engine_screens_in_order_and_batches_pending_calls(
    tmp_path: Path, tiny_profile: ModelProfile, fitted: FitReport
) -> None:
    # Its own models folder: the shared one must hold only the tiny models (test_tiny).
    models_dir = tmp_path
    save_heads(fitted.heads, fitted.info, default_heads_dir(models_dir))  # no load-time training
    loaded: list[GatedRunner] = []

    def factory() -> ModelRunner:
        loaded.append(GatedRunner.load(tiny_profile, models_dir, device="cpu"))
        return loaded[0]

    engine = LocalEngine(factory, "tiny")
    await engine.start()
    try:
        drawing = asyncio.create_task(engine.generate([GenerationRequest("a cat", (0,))]))
        await asyncio.to_thread(loaded[0].entered.wait, 10)
        texts = [
            "A stone castle stands on a green hill under a blue sky.",
            "Many years passed.",
            "He drew his sword, leapt over the wall, struck the guard and ran into the night.",
        ]
        first = asyncio.create_task(engine.screen(texts[:2]))
        second = asyncio.create_task(engine.screen(texts[2:]))
        await engine.until_queued(2)  # both wait behind the drawing
        loaded[0].gate.set()
        screened = await first + await second
        await drawing
        assert await engine.screen([]) == []
    finally:
        await engine.close()
    assert loaded[0].screen_calls == [texts]  # both pending calls shared one model pass
    assert all(isinstance(s, Screening) for s in screened)
    assert [s.generability for s in screened[:2]] == [2, 0]
    assert screened[2].verb_included and not screened[0].verb_included
    assert sum(screened[0].generability_probs) == pytest.approx(1.0, abs=1e-5)


def test_train_screening_command_prints_progress_and_saves_heads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    small = tmp_path / "small.tsv"
    small.write_text("\n".join(DATASET.read_text(encoding="utf-8").splitlines()[:61]) + "\n")
    args = ["--profile", "tiny", "--data-dir", str(tmp_path / "data"), "train-screening"]
    assert main([*args, "--data", str(small), "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "epoch 3/3: loss" in out and "held-out accuracy: generability" in out
    assert has_heads(tmp_path / "data" / "models" / "screening")
    assert main([*args, "--data", str(tmp_path / "missing.tsv")]) == 2
