"""Edits by reply, undo, why and the library through the real discord.py against a fake Discord."""

# ruff: noqa: F811  (the fixtures imported from test_discord are parameters here)
from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.adapters.conftest import Bot
from tests.adapters.test_discord import bot, discord  # noqa: F401  (fixtures)
from tests.fakes.discord_server import FakeDiscord, Posted
from tests.fakes.engine import luminance

EPHEMERAL = 1 << 6


def pictures(fake: FakeDiscord) -> list[Posted]:
    return [p for p in fake.posted if p.files and p.via == "channel"]


async def next_picture(fake: FakeDiscord, running: Bot, before: int) -> Posted:
    found = await fake.until(lambda: pictures(fake)[before:] or None)
    await running.idle()
    return found[0]


def library_options(subcommand: str, **values: str) -> list[dict[str, Any]]:
    options = [{"name": key, "type": 3, "value": value} for key, value in values.items()]
    return [
        {
            "name": "library",
            "type": 2,
            "options": [{"name": subcommand, "type": 1, "options": options}],
        }
    ]


@pytest.mark.asyncio
async def test_a_reply_edits_the_picture_and_its_buttons_undo_and_explain(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    await discord.say(discord.manager, "The knight rides home.")
    first = await next_picture(discord, bot, 0)
    assert [c.split(":")[1] for c in first.custom_ids()] == ["regen", "why", "cand", "enh"]

    # A reply to the picture is an edit request; the answer says how it was read.
    reply = await discord.say(discord.reader, "I prefer darker", reply_to=first)
    edited = await next_picture(discord, bot, 1)
    assert edited.data["message_reference"]["message_id"] == reply
    assert luminance(edited.files[0][1]) < luminance(first.files[0][1])
    # The answer saying how the reply was read may land after the picture: wait for it.
    await discord.until(
        lambda: any(
            "I read this as: a global change (dark, dim lighting)" in p.content
            for p in discord.posted
            if not p.files
        )
    )
    assert [c.split(":")[1] for c in edited.custom_ids()] == ["undo", "orig", "enh"]

    # Undo on the edited picture shows the version before it again.
    await discord.click(discord.reader, edited, edited.custom_ids()[0])
    undone = await next_picture(discord, bot, 2)
    assert undone.files[0][1] == first.files[0][1]
    assert "Undone" in undone.content

    # Why, from the first picture's button: answered to the clicker only.
    token = await discord.click(discord.reader, first, first.custom_ids()[1])
    [why] = await discord.followups_of(token)
    assert why.data["flags"] & EPHEMERAL
    assert "Why these pictures: “The knight rides home.”" in why.content
    assert "chose candidate" in why.content

    # Candidates: every one drawn again from its seed, the chosen one marked.
    await discord.click(discord.reader, first, first.custom_ids()[2])
    shown = await discord.until(
        lambda: [p for p in discord.posted if p.files and "candidate 1 of 2" in p.content]
    )
    assert len(shown[0].files) == 2 and shown[0].content.count("(chosen)") == 1
    assert first.files[0][1] in [data for _, data in shown[0].files]

    # Enhance, on a single picture: the restorer's version answers as a new picture.
    before = len(pictures(discord))
    await discord.click(discord.reader, first, first.custom_ids()[3])
    enhanced = await next_picture(discord, bot, before)
    assert bot.engine.restore_calls == [[first.files[0][1]]]  # type: ignore[attr-defined]
    assert [c.split(":")[1] for c in enhanced.custom_ids()] == ["undo", "orig", "enh"]


@pytest.mark.asyncio
async def test_a_reply_to_a_status_line_stays_a_paragraph(bot: Bot, discord: FakeDiscord) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    await discord.say(discord.manager, "A lantern swings.")
    await next_picture(discord, bot, 0)
    status = next(p for p in discord.posted if p.via == "channel" and not p.files)
    await discord.say(discord.reader, "The wind howls.", reply_to=status)
    second = await next_picture(discord, bot, 1)
    assert second.files  # drawn as the next paragraph, not read as an edit
    assert not bot.engine.edits  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_library_commands_and_why_by_slash_command(bot: Bot, discord: FakeDiscord) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    bot.engine.similarities["The fox sleeps."] = [0.9, 0.8]  # type: ignore[attr-defined]
    await discord.say(discord.manager, "The fox sleeps.")
    await next_picture(discord, bot, 0)

    [shown] = await discord.followups_of(
        await discord.slash(discord.reader, "library", options=library_options("show"))
    )
    assert shown.data["flags"] & EPHEMERAL
    assert "• fox" in shown.content

    [renamed] = await discord.followups_of(
        await discord.slash(
            discord.reader,
            "library",
            options=library_options("rename", name="fox", new_name="reynard"),
        )
    )
    assert "reynard" in renamed.content and not renamed.data["flags"] & EPHEMERAL

    [why] = await discord.followups_of(await discord.slash(discord.reader, "why"))
    assert "Why these pictures: “The fox sleeps.”" in why.content

    [looks] = await discord.followups_of(
        await discord.slash(
            discord.reader, "library", options=library_options("looks", strength="0")
        )
    )
    assert "turned the cast's looks off" in looks.content and not looks.data["flags"] & EPHEMERAL
    [settings] = await discord.followups_of(await discord.slash(discord.reader, "settings"))
    assert "The cast's looks: off" in settings.content


@pytest.mark.asyncio
async def test_the_cast_by_slash_command_with_thumbnails_descriptions_and_references(
    bot: Bot, discord: FakeDiscord
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    bot.engine.similarities["The fox sleeps."] = [0.9, 0.8]  # type: ignore[attr-defined]
    await discord.say(discord.manager, "The fox sleeps.")
    await next_picture(discord, bot, 0)

    [shown] = await discord.followups_of(await discord.slash(discord.reader, "cast"))
    assert shown.data["flags"] & EPHEMERAL and "• fox" in shown.content
    [(name, sheet)] = shown.files
    assert name == "cast.png" and sheet.startswith(b"\x89PNG")

    [described] = await discord.followups_of(
        await discord.slash(
            discord.reader,
            "library",
            options=library_options("describe", name="fox", description="red, with a hat"),
        )
    )
    assert "fox is now drawn as: red, with a hat." in described.content
    assert not described.data["flags"] & EPHEMERAL
    [told] = await discord.followups_of(
        await discord.slash(
            discord.reader, "library", options=library_options("pronoun", name="fox", pronoun="she")
        )
    )
    assert "She now refers to 'fox'" in told.content

    upload = io.BytesIO()
    Image.new("RGB", (160, 160), "orange").save(upload, format="PNG")
    data = upload.getvalue()
    attachment = discord.attachment("fox.png", "image/png", len(data), data)
    options = library_options("reference", name="fox")
    options[0]["options"][0]["options"].append(
        {"name": "picture", "type": 11, "value": attachment["id"]}
    )
    resolved = {"attachments": {attachment["id"]: attachment}}
    [referenced] = await discord.followups_of(
        await discord.slash(discord.reader, "library", options=options, resolved=resolved)
    )
    assert "gave 'fox' a reference picture" in referenced.content
    [fox] = await _all_elements(bot)
    assert fox.pinned and fox.references[-1].illustration_id is None

    # The next sentence naming the fox is drawn as described.
    await discord.say(discord.manager, "The fox wakes.")
    await next_picture(discord, bot, 1)
    assert bot.engine.generate_calls[-1][0].prompt == "The red fox with a hat wakes."  # type: ignore[attr-defined]


async def _all_elements(bot: Bot) -> list:
    channels = await bot.storage.channels.list_for_platform("discord")  # type: ignore[union-attr]
    found = []
    for channel in channels:
        found += await bot.storage.elements.list(channel.key)  # type: ignore[union-attr]
    return found
