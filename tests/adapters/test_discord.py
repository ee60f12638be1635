"""The real discord.py client against a fake Discord gateway and REST API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from adapters.discord.adapter import DiscordAdapter
from core.adapter import Adapter
from core.engine import Engine
from core.events import ChannelRef, IllustrationImage, PostIllustrations
from tests.adapters.conftest import Bot
from tests.fakes.discord_server import FakeDiscord, Posted
from tests.fakes.engine import ScriptedEngine

STATUS_INTERVAL = 0.3
EPHEMERAL = 1 << 6
PARAGRAPHS = ["A red kite rises. The sky is grey.", "A dog barks.", "Night falls. Stars come out."]


@pytest_asyncio.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.stop()


def _bot(tmp_path: Path, engine: Engine, fake: FakeDiscord, **options: Any) -> Bot:
    def adapters(bot: Bot) -> list[Adapter]:
        adapter = DiscordAdapter(
            "fake-discord-token",
            api_base=fake.api_base,
            status_interval_s=STATUS_INTERVAL,
            max_attachment_bytes=1024 * 1024,
            guild_ready_timeout=0.05,
            load_image=bot.storage.images.get if bot.storage else None,
            reconnect_backoff_s=(0.05, 0.2),
            **options,
        )
        return [adapter]

    return Bot(tmp_path, engine, adapters)


@pytest_asyncio.fixture
async def bot(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Bot]:
    made = _bot(tmp_path, ScriptedEngine(), discord)
    await made.start()
    yield made
    await made.stop()


def replies_to(fake: FakeDiscord, message_id: str) -> list[Posted]:
    return [
        p
        for p in fake.posted
        if (p.data.get("message_reference") or {}).get("message_id") == message_id
    ]


@pytest.mark.asyncio
async def test_enable_then_three_paragraphs_are_illustrated_in_order(
    bot: Bot, discord: FakeDiscord
) -> None:
    # A disabled channel: chat is ignored, a mention is answered, a non-manager can't enable.
    await discord.say(discord.reader, "Anyone seen my umbrella?")
    asked = await discord.say(discord.reader, "are you there?", mention=True)
    [disabled] = await discord.until(lambda: replies_to(discord, asked))
    assert "isn't on in this channel" in disabled.content and "/inkwell enable" in disabled.content
    assert len(discord.posted) == 1  # the ordinary chat before it got no answer

    token = await discord.slash(discord.reader, "enable")
    [refused] = await discord.until(lambda: discord.followups(token))
    assert "manage this channel" in refused.content
    assert refused.data["flags"] & EPHEMERAL  # a refusal is for the asker alone

    token = await discord.slash(discord.manager, "enable")
    [enabled] = await discord.until(lambda: discord.followups(token))
    assert "Inkwell is on in this channel" in enabled.content
    assert not enabled.data["flags"] & EPHEMERAL  # news for the whole channel
    for callback in discord.callbacks:
        # The answer was the acknowledgement itself, with its own visibility.
        assert callback["type"] == 4

    posts = [await discord.say(discord.manager, text) for text in PARAGRAPHS]
    pictures = await discord.until(
        lambda: (
            [p for p in discord.posted if p.files][2:] and [p for p in discord.posted if p.files]
        )
    )
    assert len(pictures) == 3
    assert [p.data["message_reference"]["message_id"] for p in pictures] == posts
    assert pictures[0].content.splitlines() == ["1. A red kite rises.", "2. The sky is grey."]
    assert [len(p.files) for p in pictures] == [2, 1, 2]
    assert all(data.startswith(b"\x89PNG") for p in pictures for _, data in p.files)
    for picture in pictures:
        single = ["enh"] if len(picture.files) == 1 else []
        assert [b.split(":")[1] for b in picture.custom_ids()] == ["regen", "why", "cand", *single]

    await bot.idle()
    # The last throttled edit lands up to STATUS_INTERVAL after the work: wait for it.
    await discord.until(
        lambda: all(
            any(p.content == "✅ Illustrated" for p in replies_to(discord, post) if not p.files)
            for post in posts
        )
    )
    for post in posts:
        [status] = [p for p in replies_to(discord, post) if not p.files]
        assert status.content == "✅ Illustrated" and status.custom_ids() == []
        assert status.edits, "progress is shown by editing the status message"
        times = [at for at, _ in status.edits]
        assert all(b - a >= STATUS_INTERVAL * 0.9 for a, b in itertools.pairwise(times))
    statuses = [p for p in discord.posted if not p.files and p.via == "channel"]
    assert len(statuses) == 4  # one per paragraph, plus the answer to the mention


@pytest.mark.asyncio
async def test_buttons_still_work_after_the_bot_restarts(bot: Bot, discord: FakeDiscord) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    post = await discord.say(discord.manager, "A lantern swings.")
    [first] = await discord.until(lambda: [p for p in discord.posted if p.files])
    await bot.idle()

    await bot.restart()
    assert len(discord.identifies) == 2
    await discord.click(discord.reader, first, first.custom_ids()[0])
    pictures = await discord.until(lambda: [p for p in discord.posted if p.files][1:] or None)
    [redrawn] = pictures
    assert redrawn.data["message_reference"]["message_id"] == post
    assert redrawn.files[0][1] != first.files[0][1]  # fresh seeds, another picture
    clicks = [c for c in discord.callbacks if c["type"] == 6]
    assert len(clicks) == 1  # the click was acknowledged as a deferred update

    # Stop, from the status message's button, while the paragraph waits to be drawn.
    engine = bot.engine
    assert isinstance(engine, ScriptedEngine)
    engine.gate = asyncio.Event()
    waiting = await discord.say(discord.manager, "A door creaks.")
    status = await discord.until(
        lambda: next((p for p in replies_to(discord, waiting) if p.custom_ids()), None)
    )
    assert status.custom_ids()[0].startswith("inkwell:stop:")
    await discord.click(discord.manager, status, status.custom_ids()[0])
    await discord.until(lambda: any(c["type"] == 6 for c in discord.callbacks[1:]))
    # The click is acknowledged before the core hears of it: release the drawing only once
    # the stop has reached the paragraph (waiting: marked cancelled; drawing: its token set),
    # or a slow machine lets it finish first.
    key = ChannelRef("discord", discord.story["id"]).key
    paragraph_id = status.custom_ids()[0].rsplit(":", 1)[1]
    assert bot.inkwell is not None and bot.storage is not None

    async def stopped() -> bool:
        running = bot.inkwell.queue.running_paragraph(key)
        if running is not None and running[0] == paragraph_id:
            return running[1].cancelled
        record = await bot.storage.paragraphs.get(paragraph_id)
        return record is not None and record.status == "cancelled"

    for _ in range(200):
        if await stopped():
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the stop never reached the paragraph")
    engine.gate.set()
    await bot.idle()
    await discord.until(lambda: status.content.startswith("⏹️"), 5)


@pytest.mark.asyncio
async def test_attachments_are_checked_and_answered_clearly(bot: Bot, discord: FakeDiscord) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    pdf = discord.attachment("notes.pdf", "application/pdf", 2_000)
    asked = await discord.say(discord.manager, "use this", mention=True, attachments=[pdf])
    [answer] = await discord.until(lambda: replies_to(discord, asked))
    assert "`notes.pdf` isn't a picture (application/pdf)" in answer.content

    huge = discord.attachment("map.png", "image/png", 5 * 1024 * 1024)
    asked = await discord.say(discord.manager, "and this", mention=True, attachments=[huge])
    [answer] = await discord.until(lambda: replies_to(discord, asked))
    assert "`map.png` is 5.0 MB; Inkwell takes pictures up to 1.0 MB." in answer.content
    await bot.idle()
    assert not [p for p in discord.posted if p.files]  # neither became a paragraph


@pytest_asyncio.fixture
async def slow_bot(tmp_path: Path, discord: FakeDiscord) -> AsyncIterator[Bot]:
    """No answer window: every command shows "Inkwell is thinking…" before its answer."""
    made = _bot(tmp_path, ScriptedEngine(), discord, answer_window_s=0)
    await made.start()
    yield made
    await made.stop()


@pytest.mark.asyncio
async def test_a_slow_answer_is_deferred_and_still_seen_only_by_whom_it_is_for(
    slow_bot: Bot, discord: FakeDiscord
) -> None:
    token = await discord.slash(discord.reader, "enable")  # deferred for the channel
    note, refused = await discord.until(
        lambda: len(discord.followups(token)) == 2 and discord.followups(token)
    )
    assert [c["type"] for c in discord.callbacks if c["token"] == token] == [5]
    # The public "thinking" message became a note; the refusal went to the asker alone.
    assert note.via == "original" and note.content == "Answered privately."
    assert not note.data["flags"] & EPHEMERAL
    assert "manage this channel" in refused.content and refused.data["flags"] & EPHEMERAL

    token = await discord.slash(discord.manager, "enable")
    [enabled] = await discord.until(lambda: discord.followups(token))
    assert "Inkwell is on" in enabled.content and not enabled.data["flags"] & EPHEMERAL

    token = await discord.slash(discord.manager, "settings")  # deferred for the asker
    [settings] = await discord.until(lambda: discord.followups(token))
    assert settings.data["flags"] & EPHEMERAL


@pytest.mark.asyncio
async def test_follow_ups_fall_back_to_the_channel_once_the_token_has_expired(
    slow_bot: Bot, discord: FakeDiscord
) -> None:
    # Deferred answers go as follow-ups, which Discord refuses once the token expired.
    discord.expire_follow_ups = True  # Discord answers 401 "Invalid Webhook Token"
    token = await discord.slash(discord.manager, "settings")
    [posted] = await discord.until(lambda: [p for p in discord.posted if p.via == "channel"])
    assert posted.content.startswith(f"<@{discord.manager.id}> Inkwell is off in this channel.")
    assert any(c["token"] == token for c in discord.callbacks)

    discord.expire_follow_ups = False
    old = int((time.time() - 20 * 60) * 1000)  # an interaction from 20 minutes ago
    await discord.slash(discord.manager, "settings", created_ms=old)
    await discord.until(lambda: len([p for p in discord.posted if p.via == "channel"]) == 2)
    assert not [p for p in discord.posted if p.via == "followup"]


@pytest.mark.asyncio
async def test_a_thread_is_its_own_story_and_stories_are_listed(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    post = await discord.say(discord.manager, "Deep in the cave.", discord.thread)
    [picture] = await discord.until(lambda: [p for p in discord.posted if p.files])
    assert picture.data["channel_id"] == discord.thread["id"]
    assert picture.data["message_reference"]["message_id"] == post
    await bot.idle()
    [story] = await discord.followups_of(
        await discord.slash(discord.reader, "story", discord.thread)
    )
    assert "1. Ana: Deep in the cave. [1 🖼️]" in story.content
    [empty] = await discord.followups_of(await discord.slash(discord.reader, "story"))
    assert "no paragraphs yet" in empty.content


@pytest.mark.asyncio
async def test_the_tiny_engine_draws_in_a_fake_guild(
    tmp_path: Path, discord: FakeDiscord, tiny_engine: Engine
) -> None:
    bot = _bot(tmp_path, tiny_engine, discord)
    await bot.start()
    try:
        await discord.followups_of(await discord.slash(discord.manager, "enable"))
        await discord.say(discord.manager, "A castle on a hill. A river below.")
        [picture] = await discord.until(lambda: [p for p in discord.posted if p.files], 120)
        assert [name for name, _ in picture.files] == ["illustration-01.png", "illustration-02.png"]
        assert "tiny test models" in picture.content
        assert all(data.startswith(b"\x89PNG") for _, data in picture.files)
    finally:
        await bot.stop()


@pytest.mark.asyncio
async def test_a_repeated_message_create_makes_one_paragraph_and_one_post(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    post = await discord.say(discord.manager, "A lantern swings.")
    [created] = [d for t, d in discord.dispatched if t == "MESSAGE_CREATE" and d["id"] == post]
    await discord.dispatch("MESSAGE_CREATE", created)  # the gateway delivers it again
    await discord.until(lambda: [p for p in discord.posted if p.files])
    await bot.idle()
    await discord.until(lambda: any(p.content == "✅ Illustrated" for p in discord.posted))
    assert bot.storage is not None
    story = await bot.storage.paragraphs.page(f"discord:{discord.story['id']}", None, 10)
    assert [p.text for p in story] == ["A lantern swings."]
    assert len([p for p in discord.posted if p.files]) == 1
    assert len(replies_to(discord, post)) == 2  # its status and its pictures, once each


@pytest.mark.asyncio
async def test_markup_is_not_drawn_and_nothing_posted_can_notify(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    text = f"@everyone **<@{discord.reader.id}>** waves <:party:123>. The sky <@&77> is grey."
    post = await discord.say(discord.manager, text, mentions=[discord.reader])
    [picture] = await discord.until(lambda: [p for p in discord.posted if p.files])
    assert picture.content.splitlines() == ["1. Bo waves.", "2. The sky is grey."]
    await bot.idle()
    assert bot.storage is not None
    [stored] = await bot.storage.paragraphs.page(f"discord:{discord.story['id']}", None, 1)
    assert stored.text == "Bo waves. The sky is grey." and stored.message_id == post
    for posted in discord.posted:
        mentions = posted.allowed_mentions or {}
        assert mentions.get("parse") == [] and not mentions.get("replied_user"), posted.content


def _adapter(bot: Bot) -> DiscordAdapter:
    [adapter] = bot.adapters
    assert isinstance(adapter, DiscordAdapter)
    return adapter


@pytest.mark.asyncio
async def test_an_unreadable_interaction_is_logged_and_the_next_message_is_illustrated(
    bot: Bot, discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    with caplog.at_level(logging.ERROR, logger="inkwell.discord"):
        await discord.unreadable_interaction(discord.manager)
        await discord.say(discord.manager, "A lantern swings.")
        [picture] = await discord.until(lambda: [p for p in discord.posted if p.files])
    assert picture.content == "1. A lantern swings."
    [skipped] = [r for r in caplog.records if "could not read" in r.getMessage()]
    assert skipped.levelno == logging.ERROR and "INTERACTION_CREATE" in skipped.getMessage()
    assert "KeyError" in skipped.getMessage()
    assert _adapter(bot).connection.describe() == "connected" and len(discord.identifies) == 1


@pytest.mark.asyncio
async def test_a_failed_gateway_is_logged_and_restarted_with_a_fresh_client(
    bot: Bot, discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    with caplog.at_level(logging.ERROR, logger="inkwell.discord"):
        await discord.drop_gateway(4014)
        await discord.until(lambda: len(discord.identifies) == 2)
    ended = [r for r in caplog.records if "the Discord connection ended" in r.getMessage()]
    assert ended and "PrivilegedIntentsRequired" in ended[0].getMessage()
    await _adapter(bot).connection.reached("connected", 20)
    await discord.say(discord.manager, "A lantern swings.")  # heard by the fresh client
    [picture] = await discord.until(lambda: [p for p in discord.posted if p.files])
    assert picture.content == "1. A lantern swings."
    connection = _adapter(bot).connection
    assert (connection.describe(), connection.restarts) == ("connected", 1)


@pytest.mark.asyncio
async def test_unknown_commands_and_foreign_buttons_get_a_private_answer(
    bot: Bot, discord: FakeDiscord
) -> None:
    token = await discord.slash(
        discord.manager, "", options=[{"name": "frobnicate", "type": 1, "options": []}]
    )
    [told] = await discord.until(lambda: [c for c in discord.callbacks if c["token"] == token])
    assert told["type"] == 4 and told["data"]["flags"] & 64  # a message, only for the asker
    assert "doesn't know that command" in told["data"]["content"]
    status = await discord.until(lambda: discord.posted or None) if discord.posted else None
    anchor = status[0] if status else None
    post = await discord.say(discord.manager, "Anyone?", mention=True)
    [answer] = await discord.until(lambda: replies_to(discord, post))
    token = await discord.click_foreign(discord.reader, anchor or answer, "poll:vote:3")
    [told] = await discord.until(lambda: [c for c in discord.callbacks if c["token"] == token])
    assert told["type"] == 4 and told["data"]["flags"] & 64
    assert "isn't one Inkwell knows" in told["data"]["content"]


@pytest.mark.asyncio
async def test_inkwell_queue_shows_the_waiting_paragraphs_and_the_askers_place(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    engine = bot.engine
    assert isinstance(engine, ScriptedEngine)
    engine.gate = asyncio.Event()
    try:
        await discord.say(discord.manager, "A kite rises over the hill.")
        await asyncio.wait_for(engine.generating.wait(), 10)
        await discord.say(discord.manager, "A dog runs after it.")
        await discord.say(discord.reader, "Bo waves from the boat.")
        await discord.until(lambda: [p for p in discord.posted if "Paragraph 3" in p.content])
        [answer] = await discord.followups_of(await discord.slash(discord.reader, "queue"))
    finally:
        engine.gate.set()
    lines = answer.content.splitlines()
    assert lines[0] == "Your next is at position 2 (1 of yours in the queue)."
    assert lines[1].startswith("now paragraph 1 by ")
    assert lines[3].endswith("Bo waves from the boat. ← you")
    assert "<@" not in answer.content
    await bot.idle()


@pytest.mark.asyncio
async def test_a_post_resent_after_a_crash_lands_once_by_its_nonce(
    bot: Bot, discord: FakeDiscord
) -> None:
    # What core/story/posting.py does when the bot died between posting and recording the
    # post: the same PostIllustrations again, with the same delivery id.
    adapter = _adapter(bot)
    await adapter.connection.reached("connected", 20)
    channel = ChannelRef("discord", discord.story["id"])
    picture = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 120, 40)).save(picture, format="PNG")
    image = IllustrationImage("a1:0", "img-1", picture.getvalue(), "A lantern swings.", 0.5)
    post = PostIllustrations(
        channel, "a1", (image,), "tiny", delivery_id="illustrations:a1", again=False
    )
    first = await adapter.send(post)
    again = await adapter.send(replace(post, again=True))
    other = await adapter.send(replace(post, delivery_id="illustrations:a1:v2"))
    assert first is not None and again is not None and other is not None
    assert again.message_id == first.message_id
    assert other.message_id != first.message_id
    assert discord.nonce_repeats == 1
    assert len([p for p in discord.posted if p.files]) == 2
