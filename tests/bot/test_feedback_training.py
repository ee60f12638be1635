"""[restorer_training], [nightly_training], `train-restorer`, and the nightly run's threshold."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio
from PIL import Image

from bot.cli import main
from bot.config import Config, ConfigError, NightlyTrainingConfig, load_config
from bot.feedback_jobs import nightly_restorer_training
from core.engine import RestorerTrainingRequest, StageResult
from core.feedback.capture import keep_feedback
from core.feedback.training_settings import StageSettings, TrainingSettings
from storage.sqlite import SQLiteStorage

REPO = Path(__file__).resolve().parents[2]
TINY_STAGE = StageSettings(2, 0.0, 1e-4)
TINY_RUN = TrainingSettings(
    image_size=16, pairs=4, pixel=TINY_STAGE, scorer=TINY_STAGE, joint=TINY_STAGE
)


def test_the_shipped_training_sections_load_and_bad_values_name_their_key(
    tmp_path: Path,
) -> None:
    config = load_config(REPO / "config.toml", environ={})
    assert config.restorer_training == TrainingSettings()
    assert config.nightly_training == NightlyTrainingConfig()
    path = tmp_path / "config.toml"
    for bad, key in (
        ("[nightly_training]\nhour = 24", "nightly_training.hour"),
        ('[restorer_training]\npixel_loss = "l2"', "restorer_training.pixel_loss"),
        ("[restorer_training]\ntext_weight = 2.0", "restorer_training.text_weight"),
        ("[restorer_training]\nepochs = 3", "restorer_training.epochs"),
        ("[restorer_training.joint]\nlearning_rate = 0", "restorer_training.joint.learning_rate"),
        ("[feedback]\npairs = 3", "'feedback'"),
    ):
        path.write_text(f"{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=key):
            load_config(path, environ={})


def test_one_stage_can_be_changed_alone(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[restorer_training.scorer]\nmax_steps = 7\n", encoding="utf-8")
    training = load_config(path, environ={}).restorer_training
    assert training.scorer == replace(TrainingSettings().scorer, max_steps=7)
    assert (training.pixel, training.joint) == (TrainingSettings().pixel, TrainingSettings().joint)


@pytest_asyncio.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    store = await SQLiteStorage.open(tmp_path / "data" / "db.sqlite3", tmp_path / "data" / "img")
    yield store
    await store.close()


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.asyncio
async def test_the_nightly_run_trains_only_on_enough_new_feedback(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    config = Config()
    config = replace(
        config,
        bot=replace(config.bot, data_dir=str(tmp_path / "data")),
        models=replace(config.models, profile="tiny", device="cpu"),
        restorer_training=TINY_RUN,
        nightly_training=NightlyTrainingConfig(min_new_feedback=2),
    )
    from engine.local_engine import LocalEngine
    from engine.profiles import resolve_profile

    # The engine trains (its models are never loaded for it): checkpoints go to its folder.
    models = tmp_path / "data" / "models"
    engine = LocalEngine.for_profile(resolve_profile("tiny", {}), models, "cpu")
    image_id = await storage.images.put(_png((200, 30, 30)))
    await keep_feedback(storage, "web:tale", "ana", "too blurry", image_id)
    assert await nightly_restorer_training(config, storage, engine) == "skipped"
    assert await storage.jobs.list("train-restorer") == []

    await keep_feedback(storage, "web:tale", "bo", "there are scratches", image_id)
    assert await nightly_restorer_training(config, storage, engine) == "done"
    [job] = await storage.jobs.list("train-restorer")
    assert job.status == "done" and "joint 2 steps" in job.message
    checkpoints = tmp_path / "data" / "models" / "restorer"
    assert (checkpoints / "restorer.pt").is_file() and (checkpoints / "scorer.pt").is_file()
    # Nothing new since: the next night skips.
    assert await nightly_restorer_training(config, storage, engine) == "skipped"


class _RecordingEngine:
    """Stands for a remote engine: keeps what the bot asked and trains nothing."""

    def __init__(self) -> None:
        self.asked: list[RestorerTrainingRequest] = []

    async def train_restorer(self, request, on_step=None, cancel=None) -> list[StageResult]:
        self.asked.append(request)
        return [StageResult(stage, 1, 0.5, "max_steps") for stage in request.stages]


@pytest.mark.asyncio
async def test_the_nightly_run_asks_the_engine_with_the_stored_feedback_as_plain_data(
    storage: SQLiteStorage, tmp_path: Path
) -> None:
    config = replace(
        Config(),
        restorer_training=TINY_RUN,
        nightly_training=NightlyTrainingConfig(min_new_feedback=1),
    )
    picture = _png((10, 200, 10))
    await keep_feedback(storage, "web:tale", "ana", "too blurry", await storage.images.put(picture))
    engine = _RecordingEngine()
    assert await nightly_restorer_training(config, storage, engine) == "done"  # type: ignore[arg-type]
    [request] = engine.asked
    [(_, data, text)] = request.feedback
    assert (data, text) == (picture, "too blurry")
    assert request.stages == ("pixel", "scorer", "joint")
    assert request.settings == TINY_RUN
    assert not (tmp_path / "data" / "models").exists()  # the bot trained nothing itself


def test_the_bot_asks_for_training_without_importing_torch() -> None:
    # A fresh interpreter: with a remote engine the bot process must never load torch.
    code = (
        "import sys\n"
        "from bot.config import Config\n"
        "from bot.feedback_jobs import nightly_restorer_training\n"
        "from bot.restorer_verbs import restorer_training\n"
        "import engine.ray_engine\n"
        "restorer_training(Config(), [('f', b'png', 'too blurry')])\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert result.stdout.strip() == "False"


def test_train_restorer_verb_runs_the_chosen_stages(tmp_path: Path, capsys) -> None:
    status = main(
        [
            *("--profile", "tiny", "--data-dir", str(tmp_path)),
            *("train-restorer", "--stages", "pixel", "--size", "16", "--pairs", "4"),
            *("--pixel-steps", "3", "--pixel-threshold", "0"),
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "stage pixel: 3 steps" in out and "(max steps)" in out
    assert (tmp_path / "models" / "restorer" / "restorer.pt").is_file()
    assert main(["--data-dir", str(tmp_path), "train-restorer", "--stages", "paint"]) == 2
