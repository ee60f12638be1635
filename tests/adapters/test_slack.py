"""The real slack-bolt AsyncApp, over HTTP beside the web room and by Socket Mode, against a fake
Slack Web API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image

from adapters.slack.adapter import EVENTS_PATH, SlackAdapter
from adapters.web.adapter import WebAdapter
from core.adapter import Adapter
from core.engine import Engine
from core.events import ChannelRef, IllustrationImage, PostIllustrations
from core.health import check_health
from tests.adapters.conftest import Bot
from tests.fakes import slack_server as slack
from tests.fakes.engine import ScriptedEngine
from tests.fakes.slack_server import FakeSlack, SlackMessage

SECRET = "fake-signing-secret"
STATUS_INTERVAL = 0.3
PARAGRAPHS = ["A red kite rises. The sky is grey.", "A dog barks.", "Night falls. Stars come out."]


class SlackHttp:
    """Signs requests as Slack does (v0 HMAC-SHA256 of "v0:timestamp:body")."""

    def __init__(self, bot: Bot, session: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.session = session

    @property
    def url(self) -> str:
        web = next(a for a in self.bot.adapters if isinstance(a, WebAdapter))
        return f"http://127.0.0.1:{web.bound_port}{EVENTS_PATH}"

    async def post(
        self,
        body: str | bytes,
        content_type: str,
        *,
        secret: str = SECRET,
        age: float = 0,
        headers: dict[str, str] | None = None,
    ) -> int:
        stamp = str(int(time.time() - age))
        data = body.encode() if isinstance(body, str) else body
        digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + data, hashlib.sha256)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": "v0=" + digest.hexdigest(),
            **(headers or {}),
        }
        async with self.session.post(self.url, data=data, headers=headers) as response:
            return response.status

    async def event(self, payload: dict[str, Any], **signing: Any) -> int:
        return await self.post(json.dumps(payload), "application/json", **signing)

    async def form(self, fields: dict[str, str], **signing: Any) -> int:
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded", **signing)

    async def click(self, payload: dict[str, Any]) -> int:
        return await self.form({"payload": json.dumps(payload)})


def _bot(tmp_path: Path, engine: Engine, fake: FakeSlack, socket_mode: bool = False) -> Bot:
    def adapters(bot: Bot) -> list[Adapter]:
        adapter = SlackAdapter(
            slack.BOT_TOKEN,
            SECRET,
            app_token=slack.APP_TOKEN if socket_mode else "",
            api_base=fake.api_base,
            max_attachment_bytes=1024 * 1024,
            status_interval_s=STATUS_INTERVAL,
            load_image=bot.storage.images.get if bot.storage else None,
            watch_interval_s=0.05,
        )
        if socket_mode:
            return [adapter]
        assert bot.storage is not None
        web = WebAdapter(
            "127.0.0.1",
            0,
            "room-token",
            bot.storage.images.get,
            engine.profile_name,
            health=lambda: check_health(engine, bot.storage),
        )
        web.add_signed_route(EVENTS_PATH, adapter.handle_http)
        return [web, adapter]

    return Bot(tmp_path, engine, adapters)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack()
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def http(tmp_path: Path, fake: FakeSlack) -> AsyncIterator[SlackHttp]:
    bot = _bot(tmp_path, ScriptedEngine(), fake)
    await bot.start()
    async with aiohttp.ClientSession() as session:
        yield SlackHttp(bot, session)
    await bot.stop()


def pictures(fake: FakeSlack) -> list[SlackMessage]:
    return [m for m in fake.messages if m.files]


async def enable(http: SlackHttp, fake: FakeSlack) -> None:
    assert await http.form(fake.command(slack.MANAGER, "enable")) == 200
    await fake.until(lambda: any("Inkwell is on" in r["text"] for r in fake.responses))


@pytest.mark.asyncio
async def test_enable_then_three_paragraphs_are_illustrated_in_order(
    http: SlackHttp, fake: FakeSlack
) -> None:
    # Disabled: chat is ignored, a mention is answered, a non-manager can't enable.
    assert await http.event(fake.message_event(slack.READER, "lunch anyone?")) == 200
    mention = f"<@{slack.BOT_USER}> are you there?"
    assert await http.event(fake.message_event(slack.READER, mention)) == 200
    [told] = await fake.until(lambda: fake.ephemeral)
    assert told.user == slack.READER and "isn't on in this channel" in told.text
    assert fake.messages == []

    # Acknowledged at once, the work after (ack latency: python -m bench.responsiveness).
    assert await http.form(fake.command(slack.READER, "enable")) == 200
    [refused] = await fake.until(lambda: fake.responses)
    assert "manage this channel" in refused["text"]
    assert refused["response_type"] == "ephemeral"
    await enable(http, fake)

    posts = [fake.message_event(slack.MANAGER, text) for text in PARAGRAPHS]
    for post in posts:
        assert await http.event(post) == 200
    shown = await fake.until(lambda: pictures(fake)[2:] and pictures(fake))
    assert [len(m.files) for m in shown] == [2, 1, 2]
    assert shown[0].text.splitlines() == ["1. A red kite rises.", "2. The sky is grey."]
    assert [f["title"] for f in shown[0].files] == ["A red kite rises.", "The sky is grey."]
    assert all(f["data"].startswith(b"\x89PNG") for m in shown for f in m.files)

    await http.bot.idle()
    # The last throttled update lands up to STATUS_INTERVAL after the work: wait for it.
    statuses = await fake.until(
        lambda: (
            [m for m in fake.messages if not m.files and m.text == "✅ Illustrated"][2:]
            and [m for m in fake.messages if not m.files]
        )
    )
    assert len(statuses) == 3  # one per paragraph, updated in place
    for status in statuses:
        assert status.text == "✅ Illustrated"
        assert status.action_ids() == ["inkwell_regenerate", "inkwell_why", "inkwell_candidates"]
        times = [at for at, _ in status.updates]
        assert times and all(b - a >= STATUS_INTERVAL * 0.9 for a, b in itertools.pairwise(times))


@pytest.mark.asyncio
async def test_a_wrong_or_stale_signature_is_rejected_and_nothing_is_processed(
    http: SlackHttp, fake: FakeSlack
) -> None:
    forged = fake.command(slack.MANAGER, "enable")
    assert await http.form(forged, secret="not-the-secret") == 401
    assert await http.form(forged, age=10 * 60) == 401  # replayed ten minutes later
    post = fake.message_event(slack.MANAGER, f"<@{slack.BOT_USER}> hello")
    assert await http.event(post, secret="not-the-secret") == 401
    await http.bot.idle()  # nothing was queued: a forged request is refused before dispatch
    assert fake.calls == [] and fake.responses == [] and fake.ephemeral == []
    assert http.bot.storage is not None
    assert await http.bot.storage.channels.get(f"slack:{slack.CHANNEL}") is None


@pytest.mark.asyncio
async def test_regenerate_still_works_after_a_restart_and_files_are_checked(
    tmp_path: Path, fake: FakeSlack
) -> None:
    bot = _bot(tmp_path, ScriptedEngine(), fake)
    await bot.start()
    async with aiohttp.ClientSession() as session:
        http = SlackHttp(bot, session)
        try:
            await enable(http, fake)
            await http.event(fake.message_event(slack.MANAGER, "A lantern swings."))
            [first] = await fake.until(lambda: pictures(fake))
            await bot.idle()
            status = await fake.until(
                lambda: next(
                    (m for m in fake.messages if "inkwell_regenerate" in m.action_ids()),
                    None,
                )
            )

            await bot.restart()
            assert await http.click(fake.click(slack.READER, status, "inkwell_regenerate")) == 200
            redrawn = await fake.until(lambda: pictures(fake)[1:])
            assert redrawn[0].files[0]["data"] != first.files[0]["data"]

            files = [
                {"id": "F1", "name": "notes.pdf", "mimetype": "application/pdf", "size": 2000},
                {"id": "F2", "name": "map.png", "mimetype": "image/png", "size": 5 * 1024 * 1024},
            ]
            text = f"<@{slack.BOT_USER}> use these"
            event = fake.message_event(slack.MANAGER, text, subtype="file_share", files=files)
            await http.event(event)
            [told] = await fake.until(lambda: fake.ephemeral)
            assert "`notes.pdf` isn't a picture (application/pdf)" in told.text
            assert "`map.png` is 5.0 MB; Inkwell takes pictures up to 1.0 MB." in told.text
        finally:
            await bot.stop()


@pytest.mark.asyncio
async def test_socket_mode_with_the_tiny_engine_in_a_thread(
    tmp_path: Path, fake: FakeSlack, tiny_engine: Engine
) -> None:
    bot = _bot(tmp_path, tiny_engine, fake, socket_mode=True)
    await bot.start()
    try:
        assert "apps.connections.open" in fake.calls
        await fake.push("slash_commands", fake.command(slack.MANAGER, "enable"))
        await fake.until(lambda: any("Inkwell is on" in r["text"] for r in fake.responses))
        parent = fake.next_ts()
        event = fake.message_event(slack.MANAGER, "A castle on a hill.", thread_ts=parent)
        envelope = await fake.push("events_api", event)
        [shown] = await fake.until(lambda: pictures(fake), 120)
        assert shown.thread_ts == parent and shown.files[0]["data"].startswith(b"\x89PNG")
        assert "tiny test models" in shown.text
        assert any(ack["envelope_id"] == envelope for ack in fake.acks)
    finally:
        await bot.stop()


@pytest.mark.asyncio
async def test_a_retry_and_an_identical_resend_make_one_paragraph_and_one_post(
    http: SlackHttp, fake: FakeSlack
) -> None:
    await enable(http, fake)
    post = fake.message_event(slack.MANAGER, "A lantern swings.")
    assert await http.event(post) == 200
    assert await http.event(post) == 200  # the same signed request, a moment later
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert await http.event(post, headers=retry) == 200  # Slack's retry: same event_id
    await fake.until(lambda: pictures(fake))
    await http.bot.idle()
    await fake.until(lambda: any(m.text == "✅ Illustrated" for m in fake.messages))
    assert http.bot.storage is not None
    story = await http.bot.storage.paragraphs.page(f"slack:{slack.CHANNEL}", None, 10)
    assert [p.text for p in story] == ["A lantern swings."]
    assert len(pictures(fake)) == 1 and len([m for m in fake.messages if not m.files]) == 1
    assert fake.ephemeral == []


@pytest.mark.asyncio
async def test_malformed_bodies_get_400_and_bad_headers_401_without_a_traceback(
    http: SlackHttp, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    form = "application/x-www-form-urlencoded"
    assert await http.post("{not json", "application/json") == 400
    assert await http.post("[1, 2, 3]", "application/json") == 400
    assert await http.post("payload=%7Bnot+json", form) == 400
    assert await http.post(b"\xff\xfe garbage", form) == 400
    assert await http.post('{"type": "event_callback"}', "application/json") == 400
    headers = {"X-Slack-Request-Timestamp": "not-a-number"}
    assert await http.post("{not json", "application/json", headers=headers) == 401
    await http.bot.idle()
    assert fake.calls == [] and fake.responses == []
    assert not [r for r in caplog.records if r.exc_info]  # refused, not crashed
    await enable(http, fake)  # the app still answers well-formed requests


@pytest.mark.asyncio
async def test_markup_is_not_drawn_and_mentions_are_never_echoed(
    http: SlackHttp, fake: FakeSlack
) -> None:
    await enable(http, fake)
    text = f"<!everyone> *<@{slack.READER}>* waves :tada: &lt;b&gt;. The sky is grey <!channel>"
    assert await http.event(fake.message_event(slack.MANAGER, text)) == 200
    [shown] = await fake.until(lambda: pictures(fake))
    assert shown.text.splitlines() == ["1. Bo waves.", "2. The sky is grey"]
    assert [f["title"] for f in shown.files] == ["Bo waves.", "The sky is grey"]
    await http.bot.idle()
    # A writer's own words, echoed back, can't form a mention once escaped.
    assert await http.form(fake.command(slack.MANAGER, "story")) == 200
    [page] = await fake.until(lambda: [r for r in fake.responses if "1. Ana" in r["text"]])
    assert page["text"].startswith("1. Ana: Bo waves. The sky is grey")
    for said in [*fake.messages, *fake.ephemeral]:
        assert "<!" not in said.text and "<@" not in said.text, said.text


@pytest.mark.asyncio
async def test_socket_mode_skips_an_unreadable_frame_and_survives_a_dropped_socket(
    tmp_path: Path, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = _bot(tmp_path, ScriptedEngine(), fake, socket_mode=True)
    await bot.start()
    try:
        [adapter] = bot.adapters
        assert isinstance(adapter, SlackAdapter) and adapter.connection is not None
        await adapter.connection.reached("connected", 20)
        with caplog.at_level(logging.ERROR, logger="inkwell.slack"):
            await fake.push_raw("{not json")
            await fake.push("slash_commands", fake.command(slack.MANAGER, "enable"))
            await fake.until(lambda: any("Inkwell is on" in r["text"] for r in fake.responses))
        assert any(r.levelno == logging.ERROR for r in caplog.records)  # logged, not fatal

        await fake.drop_sockets()
        await fake.until(lambda: fake.sockets_opened == 2)  # slack_sdk reconnected
        await adapter.connection.reached("connected", 20)
        await fake.push("events_api", fake.message_event(slack.MANAGER, "A lantern swings."))
        [shown] = await fake.until(lambda: pictures(fake))
        assert shown.text == "1. A lantern swings."
    finally:
        await bot.stop()
    assert adapter.connection.state == "stopped"


@pytest.mark.asyncio
async def test_a_foreign_button_is_acknowledged_with_a_private_answer(
    http: SlackHttp, fake: FakeSlack
) -> None:
    await enable(http, fake)
    await http.event(fake.message_event(slack.MANAGER, "A lantern swings."))
    status = await fake.until(lambda: next((m for m in fake.messages if not m.files), None))
    click = fake.click(slack.READER, status, "inkwell_stop")
    click["actions"][0]["action_id"] = "poll_vote"
    assert await http.click(click) == 200
    [told] = await fake.until(lambda: fake.ephemeral)
    assert told.user == slack.READER and "isn't one Inkwell knows" in told.text


@pytest.mark.asyncio
async def test_inkwell_queue_shows_the_waiting_paragraphs_and_the_askers_place(
    http: SlackHttp, fake: FakeSlack
) -> None:
    await enable(http, fake)
    engine = http.bot.engine
    assert isinstance(engine, ScriptedEngine)
    engine.gate = asyncio.Event()
    try:
        assert await http.event(fake.message_event(slack.MANAGER, "A kite rises.")) == 200
        await asyncio.wait_for(engine.generating.wait(), 10)
        assert await http.event(fake.message_event(slack.MANAGER, "A dog runs.")) == 200
        assert await http.event(fake.message_event(slack.READER, "Bo waves <!channel>.")) == 200
        await fake.until(lambda: [m for m in fake.messages if "Paragraph 3" in m.text])
        assert await http.form(fake.command(slack.READER, "queue")) == 200
        [answer] = await fake.until(lambda: [r for r in fake.responses if "position" in r["text"]])
    finally:
        engine.gate.set()
    assert answer["response_type"] == "ephemeral"
    lines = answer["text"].splitlines()
    assert lines[0] == "Your next is at position 2 (1 of yours in the queue)."
    assert lines[3].endswith("Bo waves. ← you")
    assert "<!" not in answer["text"]
    await http.bot.idle()


@pytest.mark.asyncio
async def test_a_post_resent_after_a_crash_finds_its_upload_and_posts_nothing_new(
    http: SlackHttp, fake: FakeSlack
) -> None:
    # What core/story/posting.py sends when the bot died between uploading and recording the
    # upload: the same PostIllustrations with `again`. Slack has no idempotency key for
    # uploads, so the adapter looks for the upload's file name in the channel's history.
    [adapter] = [a for a in http.bot.adapters if isinstance(a, SlackAdapter)]
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 90, 160)).save(picture, format="PNG")
    image = IllustrationImage("a1:0", "img-1", picture.getvalue(), "A gull.", 0.5)
    channel = ChannelRef("slack", slack.CHANNEL)
    post = PostIllustrations(channel, "a1", (image,), "tiny", delivery_id="illustrations:a1")

    first = await adapter.send(post)
    again = await adapter.send(replace(post, again=True))
    redraw = await adapter.send(replace(post, delivery_id="illustrations:a1:v2", again=True))

    assert first is not None and again is not None and redraw is not None
    assert again.message_id == first.message_id  # found, not uploaded again
    assert redraw.message_id != first.message_id  # never landed before: uploaded
    assert len(pictures(fake)) == 2
    assert fake.calls.count("conversations.history") == 2
