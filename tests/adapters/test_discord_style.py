"""`/inkwell style ...` through the real discord.py client against a fake Discord."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.adapters.conftest import Bot
from tests.adapters.test_discord import bot, discord  # noqa: F401  (fixtures)
from tests.fakes import discord_payloads as shapes
from tests.fakes.discord_server import FakeDiscord, Posted
from tests.fakes.engine import ScriptedEngine

EPHEMERAL = 1 << 6


def picture(size: tuple[int, int] = (200, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    return buffer.getvalue()


async def style(
    fake: FakeDiscord, user: Any, name: str, channel: dict | None = None, **option: Any
) -> Posted:
    """Runs `/inkwell style <name>` and returns its answer."""
    options, resolved = shapes.style_options(name, **option)
    token = await fake.slash(user, "style", channel, options=options, resolved=resolved)
    [answer] = await fake.followups_of(token)
    return answer


async def illustrate(fake: FakeDiscord, running: Bot, text: str) -> Posted:
    before = len([p for p in fake.posted if p.files and p.via == "channel"])
    await fake.say(fake.manager, text)
    pictures = await fake.until(
        lambda: [p for p in fake.posted if p.files and p.via == "channel"][before:]
    )
    await running.idle()
    return pictures[0]


@pytest.mark.asyncio
async def test_a_style_set_by_attachment_steers_later_paragraphs_only(
    bot: Bot,  # noqa: F811
    discord: FakeDiscord,  # noqa: F811
) -> None:
    engine = bot.engine
    assert isinstance(engine, ScriptedEngine) and bot.storage is not None
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    first = await illustrate(discord, bot, "A lighthouse at dusk.")
    assert all(request.style is None for request in engine.generate_calls[-1])

    # Any writer may set the look, as in the web room; the whole channel sees the change.
    upload = discord.attachment("harbour.png", "image/png", len(picture()), picture())
    answer = await style(discord, discord.reader, "set", picture=upload)
    assert "Bo set the style reference" in answer.content
    assert "Earlier illustrations keep the look" in answer.content
    assert not answer.data["flags"] & EPHEMERAL
    assert [name for name, _ in answer.files] == ["style-reference.png"]
    assert answer.files[0][1].startswith(b"\x89PNG")

    await illustrate(discord, bot, "Waves on the rocks.")
    requests = engine.generate_calls[-1]
    assert requests and all(r.style is not None and r.style.strength == 1.0 for r in requests)
    assert first.edits == []  # the earlier pictures were not redrawn
    paragraph = first.custom_ids()[0].removeprefix("inkwell:regen:")
    kept = await bot.storage.illustrations.for_paragraphs([paragraph])
    assert kept[paragraph] and all(r.provenance.get("style_ref") is None for r in kept[paragraph])

    answer = await style(discord, discord.manager, "strength", strength=0.5)
    assert "Ana set the style strength to 0.5." in answer.content
    await illustrate(discord, bot, "Gulls over the boats.")
    assert all(r.style and r.style.strength == 0.5 for r in engine.generate_calls[-1])

    shown = await style(discord, discord.reader, "show")
    assert "style reference Bo set, at strength 0.5" in shown.content
    assert shown.data["flags"] & EPHEMERAL and shown.files  # the picture, to the asker only

    cleared = await style(discord, discord.reader, "clear")
    assert "Bo cleared the style reference" in cleared.content and not cleared.files
    await illustrate(discord, bot, "Night falls.")
    assert all(request.style is None for request in engine.generate_calls[-1])
    shown = await style(discord, discord.reader, "show")
    assert "no style reference" in shown.content


@pytest.mark.asyncio
async def test_bad_style_pictures_are_refused_clearly(
    bot: Bot,  # noqa: F811
    discord: FakeDiscord,  # noqa: F811
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    notes = discord.attachment("notes.txt", "text/plain", 12, b"hello there!")
    answer = await style(discord, discord.manager, "set", picture=notes)
    assert "`notes.txt` isn't a picture (text/plain)" in answer.content

    huge = discord.attachment("map.png", "image/png", 5 * 1024 * 1024, picture())
    answer = await style(discord, discord.manager, "set", picture=huge)
    assert "`map.png` is 5.0 MB; Inkwell takes pictures up to 1.0 MB." in answer.content
    assert discord.cdn.downloads == []  # refused from its declared size, never fetched

    fake_png = discord.attachment("fake.png", "image/png", 9, b"not a png")
    answer = await style(discord, discord.manager, "set", picture=fake_png)
    assert "isn't a picture" in answer.content  # the core's own check of the bytes
    tiny = discord.attachment("tiny.png", "image/png", len(picture((40, 40))), picture((40, 40)))
    answer = await style(discord, discord.manager, "set", picture=tiny)
    assert "40×40" in answer.content
    shown = await style(discord, discord.manager, "show")
    assert "no style reference" in shown.content


@pytest.mark.asyncio
async def test_style_commands_are_refused_where_inkwell_is_off(
    bot: Bot,  # noqa: F811
    discord: FakeDiscord,  # noqa: F811
) -> None:
    upload = discord.attachment("harbour.png", "image/png", len(picture()), picture())
    answer = await style(discord, discord.manager, "set", discord.quiet, picture=upload)
    assert "isn't on in this channel" in answer.content
    for name, option in (("show", {}), ("clear", {}), ("strength", {"strength": 0.3})):
        answer = await style(discord, discord.manager, name, discord.quiet, **option)
        assert "isn't on in this channel" in answer.content, name
    assert bot.storage is not None
    record = await bot.storage.channels.get(f"discord:{discord.quiet['id']}")
    assert record is None or "style" not in record.settings
