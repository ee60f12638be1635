"""Seed 001 in a real Chromium: a room switched to composed pictures shows the stages in "why"."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_story_room_browser import ARTIFACTS, _open_room, bot, page  # noqa: F401

pytestmark = pytest.mark.browser

SAD = "The fox cried alone in the snowy forest."


def test_a_composed_story_shows_its_stages_in_why(page: Page, bot: str) -> None:  # noqa: F811
    _open_room(page, bot, "Composed tales")
    mode = page.get_by_test_id("mode-select")
    expect(mode).to_have_value("direct")
    mode.select_option("composed")
    expect(page.get_by_text("set the drawing mode to composed")).to_be_visible()

    page.get_by_test_id("composer").fill(SAD)
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="fox cried")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    expect(card.get_by_test_id("illustration")).to_have_count(1)

    card.get_by_test_id("why-button").click()
    why = card.get_by_test_id("why")
    expect(why).to_be_visible()
    stages = why.get_by_test_id("composed-stages")
    expect(stages).to_contain_text("composed (seed 001)")
    expect(stages).to_contain_text("emotion sad → dark clouds, light rain")
    expect(stages).to_contain_text("background: ")
    expect(stages).to_contain_text("rendered by img2img from the merge")
    expect(stages).to_contain_text("muted watercolor")
    pictures = stages.get_by_test_id("stage-image")
    expect(pictures).to_have_count(5)  # initial, background, the fox alone, merged, sketch
    for picture in pictures.all():
        expect(picture).to_have_js_property("complete", True)
        expect(picture).not_to_have_js_property("naturalWidth", 0)  # loaded (waits, bounded)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stages.scroll_into_view_if_needed()
    card.screenshot(path=str(ARTIFACTS / "composed_why.png"))

    # Additional input re-enters the composition: a new foreground element is drawn alone and
    # merged; the background is reused, not redrawn.
    picture = card.get_by_test_id("illustration")
    before = picture.get_attribute("src")
    card.get_by_test_id("edit-input").fill("add a cat on the left")
    card.get_by_test_id("edit-send").click()
    expect(picture).not_to_have_attribute("src", before, timeout=120_000)
    card.get_by_test_id("why-button").click()
    expect(stages).to_contain_text("changed: add: cat")
    expect(stages).to_contain_text("background: reused, not redrawn")
    expect(stages).to_contain_text("fox: drawn an earlier drawing of it alone, reused")
    expect(stages.get_by_test_id("stage-image")).to_have_count(6)  # + the cat alone

    # The mode is the story's: a reload shows it.
    page.reload()
    expect(page.get_by_test_id("mode-select")).to_have_value("composed")
