"""The story room's genre picker in a real headless Chromium, over the real tiny engine: it
lists the genres the engine trained, picks one for later paragraphs (every reader's picker
follows), turns it off, and says so when a picked genre's adapter is gone."""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from adapters.web.adapter import WebAdapter
from core.engine import AdapterTrainingRequest
from core.health import check_health
from core.inkwell import Inkwell
from engine.local_engine import LocalEngine
from engine.profiles import resolve_profile
from storage.sqlite import SQLiteStorage
from tests.adapters.conftest import SETTINGS
from tests.e2e.test_story_room_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS

pytestmark = pytest.mark.browser
ROOM = "Ember tales"


def pictures() -> tuple[tuple[bytes, str], ...]:
    found = []
    for shade in (180, 210):
        buffer = io.BytesIO()
        Image.fromarray(np.full((64, 64, 3), (shade, 60, 30), np.uint8)).save(buffer, "PNG")
        found.append((buffer.getvalue(), "a fox by the fire"))
    return tuple(found)


class Served:
    """Inkwell with the tiny local engine and the story room, on an event loop of its own."""

    def __init__(self, tmp: Path, models: Path) -> None:
        self.adapters = tmp / "adapters"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.storage = self.run(SQLiteStorage.open(tmp / "db.sqlite3", tmp / "images"))
        profile = resolve_profile("tiny")
        self.engine = LocalEngine.for_profile(profile, models, "cpu", 8, adapters=self.adapters)
        self.run(self.engine.start())
        self.inkwell = Inkwell(self.engine, self.storage, SETTINGS)
        self.web = WebAdapter(
            "127.0.0.1",
            0,
            "",
            self.storage.images.get,
            "tiny",
            health=lambda: check_health(self.engine, self.storage),
        )
        self.inkwell.attach(self.web)
        self.run(self.inkwell.start())

    def run(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(120)

    def train(self, name: str) -> None:
        request = AdapterTrainingRequest(
            kind="genre", name=name, phrase=f"{name} style", pictures=pictures(), steps=2
        )
        self.run(self.engine.train_adapter(request))

    def genres_drawn(self) -> list[str | None]:
        async def read() -> list[str | None]:
            [paragraph] = await self.storage.paragraphs.page(f"web:{ROOM}", None, 1)
            drawn = await self.storage.illustrations.for_paragraphs([paragraph.id])
            return [record.provenance.get("genre") for record in drawn[paragraph.id]]

        return self.run(read())

    def close(self) -> None:
        self.run(self.inkwell.stop())
        self.run(self.engine.close())
        self.run(self.storage.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def served(tmp_path: Path, tiny_models_dir: Path) -> Iterator[Served]:
    served = Served(tmp_path, tiny_models_dir)
    yield served
    served.close()


@pytest.fixture
def browser_pages() -> Iterator[tuple[Page, Page]]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run the README install command")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        pages = (context.new_page(), context.new_page())
        for page in pages:
            page.set_default_timeout(60_000)
        yield pages
        browser.close()


expect.set_options(timeout=30_000)


def open_room(page: Page, base: str) -> None:
    page.goto(base)
    page.get_by_test_id("room-name-input").fill(ROOM)
    page.get_by_test_id("room-open").click()
    expect(page.get_by_test_id("room-title")).to_contain_text(ROOM)


def options(page: Page) -> list[str]:
    return page.get_by_test_id("genre-select").locator("option").all_inner_texts()


def test_writers_pick_a_trained_genre_for_later_paragraphs(
    served: Served, browser_pages: tuple[Page, Page]
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ana, bo = browser_pages
    base = served.web.url
    open_room(ana, base)
    picker = ana.get_by_test_id("genre-select")
    expect(picker).to_have_value("none")
    expect(ana.get_by_test_id("genre-note")).to_have_text("No genres are trained yet.")

    served.train("ember")
    open_room(ana, base)  # a fresh page lists what the engine has now
    expect(picker.locator("option")).to_have_count(2)
    assert options(ana) == ["none", "ember (ember style)"]
    expect(ana.get_by_test_id("genre-note")).to_be_hidden()
    open_room(bo, base)

    picker.select_option("ember")
    expect(picker).to_have_value("ember")
    expect(bo.get_by_test_id("genre-select")).to_have_value("ember")  # every reader's follows
    expect(bo.get_by_test_id("genre-message")).to_contain_text("Writer picked the genre ember")
    expect(ana.locator("#error-banner")).to_be_hidden()
    ana.screenshot(path=str(ARTIFACTS / "genre-picker.png"))

    ana.get_by_test_id("composer").fill("A fox sleeps by the fire.")
    ana.get_by_test_id("post-button").click()
    card = ana.get_by_test_id("paragraph").filter(has_text="fox sleeps")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    assert served.genres_drawn() == ["ember"]

    bo.get_by_test_id("genre-select").select_option("none")
    expect(picker).to_have_value("none")

    picker.select_option("ember")
    expect(bo.get_by_test_id("genre-select")).to_have_value("ember")
    shutil.rmtree(served.adapters / "tiny" / "genre" / "ember")  # the adapter is deleted
    open_room(bo, base)
    expect(bo.get_by_test_id("genre-note")).to_contain_text("ember is no longer trained")
    assert options(bo) == ["none", "ember (no longer trained)"]
    card = bo.get_by_test_id("paragraph").filter(has_text="fox sleeps")
    card.get_by_test_id("candidates-button").click()  # drawn in ember: can't be drawn again
    expect(bo.locator("body")).to_contain_text("drawn in the genre 'ember', which is no longer")
    bo.screenshot(path=str(ARTIFACTS / "genre-gone.png"))
