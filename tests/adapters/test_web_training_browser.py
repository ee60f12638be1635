"""The training room (seed 002) in a real headless Chromium: stages, live loss, feedback."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from playwright.sync_api import Page, expect, sync_playwright

from adapters.web.adapter import WebAdapter
from adapters.web.training import TrainingRoom
from core.feedback.capture import TRAINING_ROOM
from core.feedback.training_settings import StageSettings, TrainingSettings
from core.health import Health
from engine.profiles import resolve_profile
from engine.restorer import RestorerNet
from storage.sqlite import SQLiteStorage
from tests.e2e.test_story_room_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS
from training.damage import synthetic_scenes
from training.feedback_scorer import load_scorer
from training.restorer import RestorerTrainer, make_pairs
from training.restorer_session import ThreadedControls, TrainingSession

pytestmark = pytest.mark.browser

SETTINGS = TrainingSettings(
    pixel=StageSettings(400, 0.0, 3e-4),  # long enough to be stopped by hand
    scorer=StageSettings(6, 0.0, 1e-3),
    joint=StageSettings(6, 0.0, 1e-4),
    batch_size=4,
)


class Served:
    """The story room's server with the training room mounted, on its own event loop."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.storage: SQLiteStorage = self.run(
            SQLiteStorage.open(tmp / "db.sqlite3", tmp / "images")
        )
        models = tmp / "models"

        def make_trainer() -> RestorerTrainer:
            torch.manual_seed(0)
            scorer = load_scorer(resolve_profile("tiny"), models, torch.device("cpu"))
            pairs = make_pairs(synthetic_scenes(6, 24, torch.Generator().manual_seed(3)))
            return RestorerTrainer(RestorerNet(), scorer, pairs, SETTINGS)

        self.session = TrainingSession(make_trainer)

        async def make_session() -> ThreadedControls:
            return ThreadedControls(self.session)

        self.room = TrainingRoom(self.storage, make_session, "tiny")
        self.room.watch_restorer(lambda: "untrained")
        self.adapter = WebAdapter(
            "127.0.0.1", 0, "", self.storage.images.get, "tiny", health=not_checked
        )
        self.adapter.add_room(self.room.mount, frozenset({TrainingRoom.page}))

        async def dispatch(event: object) -> list:
            return []

        self.run(self.adapter.start(dispatch))

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(60)

    def close(self) -> None:
        self.run(self.room.close())
        self.run(self.adapter.stop())
        self.run(self.storage.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path)
    yield served
    served.close()


@pytest.fixture
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run the README install command")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


expect.set_options(timeout=30_000)


def _status(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_test_id("training-status")


def test_a_trainer_runs_the_three_stages_and_binds_feedback_to_the_shown_sample(
    served: Served, page: Page
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{served.adapter.url}training")
    expect(page.get_by_test_id("training-badge")).to_contain_text("restorer: untrained")
    # The first request builds the trainer (models load): allow for a slow machine.
    expect(page.get_by_test_id("sample")).to_have_count(6, timeout=120_000)
    expect(page.get_by_test_id("shown-sample")).to_contain_text("Sample s0")

    # Stage 1: live loss and a curve; feedback is locked meanwhile [0335]; stopped by hand.
    page.get_by_test_id("start-pixel").click()
    expect(_status(page)).to_contain_text("step", timeout=120_000)
    expect(page.get_by_test_id("feedback-input")).to_be_disabled()
    expect(page.get_by_test_id("feedback-lock")).to_be_visible()
    expect(_status(page)).to_have_text(re.compile(r"step \d+/400 · loss \d\.\d{4}"))
    page.screenshot(path=str(ARTIFACTS / "training_room_stage1.png"), full_page=True)
    page.get_by_test_id("stop-training").click()
    expect(_status(page)).to_contain_text("(stopped)")
    curve_pixels = page.evaluate(
        """() => { const c = document.querySelector('[data-testid="loss-curve"]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""
    )
    assert curve_pixels > 200, "the loss curve is drawn"
    # The prediction's picture is fetched after the stop: wait (bounded) until it has loaded.
    expect(page.get_by_test_id("sample-prediction")).to_have_js_property("naturalWidth", 24)

    # Text typed for the shown sample is bound to it and classified.
    page.get_by_test_id("sample").nth(2).click()
    expect(page.get_by_test_id("shown-sample")).to_contain_text("Sample s2")
    page.get_by_test_id("feedback-input").fill("her face is not clear")
    page.get_by_test_id("feedback-save").click()
    expect(page.get_by_test_id("feedback-result")).to_contain_text("her face is clear")
    expect(page.get_by_test_id("feedback-list")).to_contain_text("her face is not clear")
    [stored] = served.run(served.storage.feedback.list(TRAINING_ROOM))
    assert (stored.text, stored.label, stored.target_text) == (
        "her face is not clear",
        1,
        "her face is clear",
    )
    assert served.run(served.storage.images.get(stored.image_id)) is not None

    # Stages 2 and 3 run to their step limits; stage 3 aims at the typed target.
    for stage in ("scorer", "joint"):
        page.get_by_test_id(f"start-{stage}").click()
        expect(_status(page)).to_contain_text("(max steps)", timeout=120_000)
    expect(page.get_by_test_id("stage-results").locator("li")).to_have_count(3)
    session = served.session
    assert session.pair("s2").target_text == "her face is clear"
    assert [r.stage for r in session.results] == ["pixel", "scorer", "joint"]
    assert session.results[0].reason == "stopped"
    page.screenshot(path=str(ARTIFACTS / "training_room.png"), full_page=True)


async def not_checked() -> Health:
    raise AssertionError("this test never asks /health")
