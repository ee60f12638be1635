"""The story room on the `picturebook` profile, in a real headless Chromium: pictures a person
can match to the sentences (the screenshot is kept in tests/artifacts/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.botprocess import BotProcess
from tests.e2e.conftest import seed_models
from tests.e2e.test_story_room_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _open_room

pytestmark = pytest.mark.browser

STORY = (
    "A red fox sleeps in the snowy forest. "
    "A knight in a blue cloak walks into the castle hall at night. "
    "A yellow boat waits in the harbour."
)


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, prepared_models: Path) -> Iterator[str]:
    """`python -m bot --profile picturebook`: the shipped weights, screening heads prepared."""
    data_dir = tmp_path_factory.mktemp("picturebook-bot")
    seed_models(prepared_models, data_dir)
    config = data_dir / "config.toml"
    config.write_text("[story]\ncandidates = 2\nprogress_interval_s = 0\n", encoding="utf-8")
    process = BotProcess(data_dir, config, data_dir / "bot.log", profile="picturebook")
    try:
        yield process.start().base
    finally:
        process.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bot_picturebook.log").write_text(process.log())


@pytest.fixture
def page(bot: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def test_the_picturebook_room_illustrates_each_sentence(page: Page, bot: str) -> None:
    _open_room(page, bot, "Picture book")
    expect(page.get_by_test_id("profile-badge")).to_contain_text("picturebook")
    page.get_by_test_id("composer").fill(STORY)
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="red fox")
    expect(card).to_have_attribute("data-stage", "done", timeout=240_000)
    pictures = card.get_by_test_id("illustration")
    expect(pictures).to_have_count(3)
    for image in pictures.all():
        expect(image).to_have_js_property("naturalWidth", 64)  # loaded (waits, bounded)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "story_room_picturebook.png"), full_page=True)
