"""The training room's session: one stage at a time on its thread, stopped by hand, samples."""

from __future__ import annotations

import threading

import pytest
import torch

from core.feedback.training_settings import StageSettings, TrainingSettings
from engine.restorer import RestorerNet, png_to_tensor
from training.damage import synthetic_scenes
from training.restorer import RestorerTrainer, make_pairs
from training.restorer_session import TrainingBusy, TrainingSession


def _session(started: threading.Event) -> TrainingSession:
    pairs = make_pairs(synthetic_scenes(4, 16, torch.Generator().manual_seed(0)))
    settings = TrainingSettings(pixel=StageSettings(100_000, 0.0, 1e-4), batch_size=2)
    trainer = RestorerTrainer(RestorerNet(), None, pairs, settings)
    session = TrainingSession(lambda: trainer)
    original = session._on_step

    def on_step(report):  # type: ignore[no-untyped-def]
        original(report)
        started.set()

    session._on_step = on_step  # type: ignore[method-assign]
    return session


def test_a_stage_runs_on_its_thread_until_stopped_by_hand() -> None:
    started = threading.Event()
    session = _session(started)
    with pytest.raises(ValueError, match="unknown stage"):
        session.start("paint")
    session.start("pixel")
    assert started.wait(60)
    with pytest.raises(TrainingBusy):
        session.start("pixel")
    # While the stage holds the models, predictions come from the training thread's renders.
    assert png_to_tensor(session.prediction("s0")).shape == (3, 16, 16)
    assert session.stop()
    session.join(60)
    snapshot = session.snapshot()
    assert snapshot["status"] == "idle"
    [result] = snapshot["results"]
    assert result["reason"] == "stopped" and result["steps"] >= 1
    assert [p["step"] for p in snapshot["points"]] == list(range(1, result["steps"] + 1))
    assert not session.stop()


def test_feedback_is_bound_to_the_shown_sample() -> None:
    session = _session(threading.Event())
    assert session.add_feedback("nope", "too blurry") is None
    pair, shown = session.add_feedback("s1", "too blurry")
    assert pair.target_text == "sharp"
    assert session.pair("s1").feedback == ["too blurry"]
    assert png_to_tensor(shown).shape == (3, 16, 16)
    # Stage 2 learns from the shown prediction with the text and its generated opposite.
    typed = session._ensure_trainer().extra_examples()
    assert [(e.text, e.label) for e in typed] == [("too blurry", 1), ("sharp", 0)]
    # As the web room and a Ray actor get it: plain data.
    target, png = session.bind_feedback("s1", "too blurry")
    assert target == "sharp" and png_to_tensor(png).shape == (3, 16, 16)
    [shown] = [s for s in session.samples() if s["id"] == "s1"]
    assert shown["feedback"] == ["too blurry", "too blurry"] and shown["target"] == "sharp"
    assert session.bind_feedback("nope", "too blurry") is None
