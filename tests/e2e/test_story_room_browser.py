"""A writer in a real headless Chromium uses the room served by `python -m bot --profile tiny`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.conftest import seed_models

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
CHROMIUM = os.environ.get("INKWELL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
STORY = (
    "A lighthouse stands on a black cliff above a stormy sea. "
    "A small boat with a red sail fights the waves below."
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, prepared_models: Path) -> Iterator[str]:
    """The real bot process with the tiny profile; yields the room's base URL."""
    data_dir = tmp_path_factory.mktemp("bot-data")
    seed_models(prepared_models, data_dir)
    config = data_dir / "config.toml"
    # One writer posts 23 paragraphs in a row below: more than a writer may have waiting by
    # default (inbox.max_waiting_per_writer), which is not what these tests are about. Every
    # named element counts as drawn (the tiny models' random pictures show nothing), so the
    # cast panel has entries to steer.
    config.write_text(
        "[story]\ncandidates = 2\nprogress_interval_s = 0\npresence_threshold = -1.0\n"
        "[inbox]\nmax_waiting_per_writer = 50\n",
        encoding="utf-8",
    )
    port = _free_port()
    log_path = data_dir / "bot.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(config),
                "--profile",
                "tiny",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base, process, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "bot.log").write_text(log_path.read_text())


def _wait_until_healthy(base: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the bot exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if json.load(response)["profile"] == "tiny":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the bot did not come up:\n{log_path.read_text()}")


@pytest.fixture
def page(bot: str) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run the README install command")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        yield page
        browser.close()


def _frames(page: Page) -> list[dict]:
    """Every websocket message the page receives, decoded."""
    received: list[dict] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda frame: received.append(json.loads(frame))),
    )
    return received


def _open_room(page: Page, bot: str, room: str) -> None:
    page.goto(bot)
    page.get_by_test_id("author-input").fill("Ana")
    page.get_by_test_id("room-name-input").fill(room)
    page.get_by_test_id("room-open").click()
    expect(page.get_by_test_id("room-title")).to_contain_text(room)


def test_a_paragraph_gets_an_illustration_with_live_progress(page: Page, bot: str) -> None:
    frames = _frames(page)
    _open_room(page, bot, "Harbor tales")
    expect(page.get_by_test_id("profile-badge")).to_contain_text("tiny")

    page.get_by_test_id("composer").fill(STORY)
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="lighthouse")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    expect(card.get_by_test_id("illustration")).to_have_count(2)
    expect(page.get_by_test_id("composer")).to_have_value("")
    for image in card.get_by_test_id("illustration").all():
        expect(image).to_have_js_property("naturalWidth", 64)  # loaded (waits, bounded)

    fractions = [
        f["fraction"] for f in frames if f["type"] == "progress" and f["stage"] == "generating"
    ]
    assert fractions and max(fractions) > 0 and min(fractions) < max(fractions)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "story_room.png"), full_page=True)

    page.reload()
    expect(page.get_by_test_id("room-title")).to_contain_text("Harbor tales")
    expect(card.get_by_test_id("illustration")).to_have_count(2)


def test_bad_input_is_answered_in_the_room_and_loses_nothing(page: Page, bot: str) -> None:
    _open_room(page, bot, "Rough drafts")
    composer = page.get_by_test_id("composer")
    composer.fill("A castle stands on a green hill.")
    page.get_by_test_id("post-button").click()
    first = page.get_by_test_id("paragraph").filter(has_text="castle stands")
    expect(first).to_have_attribute("data-stage", "done", timeout=120_000)

    page.get_by_test_id("post-button").click()  # empty composer
    expect(page.get_by_test_id("composer-error")).to_contain_text("empty")

    huge = "The rain fell. " * 3400  # about 50,000 characters
    composer.fill(huge)
    expect(page.get_by_test_id("char-count")).to_contain_text("51,000")
    page.get_by_test_id("post-button").click()
    expect(page.get_by_test_id("composer-error")).to_contain_text("limit is 4,000")
    assert composer.input_value() == huge, "the writer's text stays in the composer"

    composer.fill("\x00\x01\x02\x03\x04\x05\x06\x07\x08")
    page.get_by_test_id("post-button").click()
    expect(page.get_by_test_id("composer-error")).to_contain_text("binary")

    composer.fill("A ship sails under a stormy sky.")
    page.get_by_test_id("post-button").click()
    expect(composer).to_have_value("")
    composer.fill("Lightning shows a ship.")
    page.get_by_test_id("post-button").click()
    cards = page.get_by_test_id("paragraph")
    expect(cards).to_have_count(3)
    expect(cards.nth(1)).to_contain_text("A ship sails")
    expect(cards.nth(2)).to_contain_text("Lightning")
    for index in (1, 2):
        expect(cards.nth(index)).to_have_attribute("data-stage", "done", timeout=120_000)
    expect(cards.nth(0)).to_contain_text("A castle stands on a green hill.")
    page.screenshot(path=str(ARTIFACTS / "story_room_bad_input.png"), full_page=True)


def test_room_names_with_path_characters_are_refused(page: Page, bot: str) -> None:
    page.goto(bot)
    page.get_by_test_id("room-name-input").fill("../../etc")
    page.get_by_test_id("room-open").click()
    expect(page.get_by_text("no slashes")).to_be_visible()
    with urllib.request.urlopen(f"{bot}/api/rooms") as response:
        rooms = [room["id"] for room in json.load(response)["rooms"]]
    assert all("/" not in room for room in rooms)


def test_paging_back_through_a_long_story(page: Page, bot: str) -> None:
    _open_room(page, bot, "Long saga")
    composer = page.get_by_test_id("composer")
    for number in range(1, 24):
        composer.fill(f"An old mill stands by river {number}.")
        page.get_by_test_id("post-button").click()
        expect(composer).to_have_value("")
    last = page.get_by_test_id("paragraph").filter(has_text="river 23.")
    expect(last).to_have_attribute("data-stage", "done", timeout=180_000)

    page.reload()
    expect(page.get_by_test_id("paragraph")).to_have_count(20)
    page.get_by_test_id("load-earlier").click()
    expect(page.get_by_test_id("paragraph")).to_have_count(23)
    expect(page.get_by_test_id("paragraph").first).to_contain_text("river 1.")


def test_a_style_picture_is_set_used_and_cleared(page: Page, bot: str, tmp_path: Path) -> None:
    from PIL import Image

    _open_room(page, bot, "Painted coast")
    status = page.get_by_test_id("style-status")
    expect(status).to_have_text("No style reference")
    picture = tmp_path / "stripes.png"
    Image.new("RGB", (256, 256), (230, 90, 30)).save(picture)
    page.get_by_test_id("style-upload").set_input_files(str(picture))
    expect(status).to_contain_text("set by Ana")
    expect(page.get_by_test_id("style-image")).to_be_visible()
    expect(page.get_by_test_id("style-note")).to_contain_text("random weights")  # tiny profile
    page.get_by_test_id("style-strength").fill("0.5")
    expect(page.get_by_test_id("style-message")).to_contain_text("strength to 0.5")

    page.get_by_test_id("composer").fill("A red kite over the cliffs.")
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="red kite")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    page.screenshot(path=str(ARTIFACTS / "story_room_style.png"), full_page=True)

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    page.get_by_test_id("style-upload").set_input_files(str(broken))
    expect(page.locator("#error-banner-text")).to_contain_text("isn't a picture")
    page.get_by_test_id("style-clear").click()
    expect(status).to_have_text("No style reference")
    expect(page.get_by_test_id("style-image")).to_be_hidden()


def test_the_library_and_why_these_pictures(page: Page, bot: str, tmp_path: Path) -> None:
    from PIL import Image

    _open_room(page, bot, "Library tales")
    page.get_by_test_id("composer").fill("A fox sleeps under an old oak. The fox wakes at dawn.")
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="fox sleeps")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)

    card.get_by_test_id("why-button").click()
    why = card.get_by_test_id("why")
    expect(why).to_be_visible()
    expect(why).to_contain_text("branch:")
    expect(why).to_contain_text("chosen: candidate")

    page.get_by_test_id("library-button").click()
    panel = page.get_by_test_id("library-panel")
    expect(panel).to_be_visible()
    elements = panel.get_by_test_id("library-element")
    expect(elements).to_have_count(2)  # the fox and the oak
    fox = elements.filter(has_text="fox")
    # The cast: a description, then a reference picture that becomes the thumbnail.
    page.once("dialog", lambda dialog: dialog.accept("grey beard, green apron"))
    fox.get_by_test_id("library-describe").click()
    expect(page.get_by_test_id("library-message")).to_contain_text(
        "fox is now drawn as: grey beard, green apron."
    )
    expect(fox.get_by_test_id("library-description")).to_have_text(
        "drawn as: grey beard, green apron"
    )
    before = fox.get_by_test_id("library-thumb").get_attribute("src")
    picture = tmp_path / "reference.png"
    Image.new("RGB", (160, 160), (40, 160, 90)).save(picture)
    fox.get_by_test_id("library-reference-file").set_input_files(str(picture))
    expect(page.get_by_test_id("library-message")).to_contain_text("a reference picture")
    expect(fox.get_by_test_id("library-thumb")).not_to_have_attribute("src", before or "")
    expect(fox).to_contain_text("pinned")
    page.screenshot(path=str(ARTIFACTS / "story_room_cast.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    elements.filter(has_text="oak").get_by_test_id("library-forget").click()
    expect(page.get_by_test_id("library-message")).to_contain_text("Forgot 'oak'")
    page.screenshot(path=str(ARTIFACTS / "story_room_library.png"), full_page=True)
    # How strongly the looks steer: the Looks slider, then a sentence naming the fox is drawn
    # with its reference picture through the tiny profile's IP-Adapter.
    expect(page.get_by_test_id("look-strength")).to_have_value("0.6")
    page.get_by_test_id("look-strength").fill("1.2")
    expect(page.get_by_test_id("library-message")).to_contain_text("set the cast's looks to 1.2")
    expect(page.get_by_test_id("look-strength-value")).to_have_text("1.2")
    page.get_by_test_id("library-close").click()
    expect(panel).to_be_hidden()
    page.get_by_test_id("composer").fill("The fox runs home.")
    page.get_by_test_id("post-button").click()
    later = page.get_by_test_id("paragraph").filter(has_text="fox runs home")
    expect(later).to_have_attribute("data-stage", "done", timeout=120_000)
    later.get_by_test_id("why-button").click()
    expect(later.get_by_test_id("why")).to_contain_text(
        "drawn with the looks of fox (strength 1.2, ip-adapter (random test weights))"
    )


def _luminance_of(page: Page, bot: str, src: str) -> float:
    """The picture the browser shows, fetched from the same address, as mean luma."""
    from urllib.parse import urljoin

    from tests.fakes.engine import luminance

    return luminance(page.request.get(urljoin(bot, src)).body())


def test_change_a_picture_then_undo_and_see_the_candidates(page: Page, bot: str) -> None:
    _open_room(page, bot, "Night harbor")
    page.get_by_test_id("composer").fill("A lighthouse stands on a black cliff above a stormy sea.")
    page.get_by_test_id("post-button").click()
    card = page.get_by_test_id("paragraph").filter(has_text="lighthouse stands")
    expect(card).to_have_attribute("data-stage", "done", timeout=120_000)
    picture = card.get_by_test_id("illustration")
    original = picture.get_attribute("src")

    card.get_by_test_id("edit-input").fill("I prefer darker")
    card.get_by_test_id("edit-send").click()
    expect(card).to_contain_text("I read this as: a global change (dark, dim lighting)")
    expect(picture).not_to_have_attribute("src", original, timeout=120_000)
    darker = picture.get_attribute("src")
    # The tone of the update is matched after drawing, so darker holds on random tiny models.
    assert _luminance_of(page, bot, darker) < _luminance_of(page, bot, original)
    page.screenshot(path=str(ARTIFACTS / "story_room_edit.png"), full_page=True)

    card.get_by_test_id("edit-undo").click()
    expect(picture).to_have_attribute("src", original, timeout=60_000)

    card.get_by_test_id("candidates-button").click()
    expect(card.get_by_test_id("candidate")).to_have_count(2, timeout=120_000)
    expect(card.get_by_test_id("candidates")).to_contain_text("(chosen)")
