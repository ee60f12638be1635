"""Seed 002 in the real bot (`python -m bot --profile tiny`) and a headless Chromium:
the Enhance button in the story room, and the training room served at /training."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_story_room_browser import ARTIFACTS, _open_room, bot, page  # noqa: F401

pytestmark = pytest.mark.browser


def test_enhance_replaces_a_picture_and_says_the_restorer_is_untrained(
    page: Page,  # noqa: F811
    bot: str,  # noqa: F811
) -> None:
    _open_room(page, bot, "Foggy harbour")
    page.get_by_test_id("composer").fill("A grey ship sails out of the fog.")
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="grey ship")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    picture = card.get_by_test_id("illustration")
    before = picture.get_attribute("src")

    card.get_by_test_id("enhance-button").click()
    expect(picture).not_to_have_attribute("src", before or "", timeout=60_000)
    expect(picture).to_have_count(1)
    # A fresh data directory has no trained restorer, and the writer is told so.
    expect(card.get_by_test_id("paragraph-error")).to_contain_text("isn't trained yet")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "story_room_enhance.png"), full_page=True)

    # After a reload the story shows the enhanced version, which can be enhanced again.
    page.reload()
    expect(picture).not_to_have_attribute("src", before or "")
    expect(card.get_by_test_id("enhance-button")).to_be_enabled()


def test_the_training_room_is_served_by_the_bot(page: Page, bot: str) -> None:  # noqa: F811
    page.goto(f"{bot}/training")
    expect(page.get_by_test_id("training-badge")).to_contain_text("restorer: untrained")
    expect(page.get_by_test_id("sample").first).to_be_visible(timeout=120_000)
    page.get_by_test_id("start-pixel").click()
    expect(page.get_by_test_id("training-status")).to_contain_text("step", timeout=120_000)
    page.get_by_test_id("stop-training").click()
    expect(page.get_by_test_id("training-status")).to_contain_text("(stopped)", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "training_room_in_bot.png"), full_page=True)
