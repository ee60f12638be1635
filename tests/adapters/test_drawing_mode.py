"""The drawing mode (seed 000 direct, seed 001 composed) by `/inkwell settings` and the room."""

from __future__ import annotations

import pytest

from adapters.chat_text import settings_text, why_text
from adapters.commands import SETTINGS_USAGE, settings_event
from adapters.web.convert import action_json, parse_client_message, to_event
from adapters.web.library_convert import library_json
from core.events import (
    Author,
    ChannelRef,
    ChannelSettings,
    DrawingModeRequested,
    SettingsRequested,
    WhyShown,
)
from tests.adapters.conftest import Bot
from tests.adapters.test_discord import EPHEMERAL, bot, discord  # noqa: F401  (fixtures)
from tests.adapters.test_slack import SlackHttp, enable, fake, http  # noqa: F401  (fixtures)
from tests.fakes import slack_server as slack
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.engine import ScriptedEngine
from tests.fakes.slack_server import FakeSlack

CHANNEL = ChannelRef("web", "tale")
WHO = Author("web:ana", "Ana")

COMPOSED_DETAIL = {
    "text": "The fox cried.",
    "drawing_mode": "composed",
    "composition": {
        "reading": {
            "background": ["forest"],
            "foreground": ["fox"],
            "emotions": ["sad"],
            "emotion_elements": ["dark clouds", "light rain"],
            "style": "muted watercolor",
            "style_from": "emotion:sad",
        },
        "background": {"how": "the foreground inpainted away from the initial picture"},
        "foreground": [{"word": "fox", "drawn": "alone, from its words", "box": [0, 0.5, 0.5, 1]}],
        "sketch": "Sobel edges of the merge, thresholded at 0.2 of the strongest edge",
        "render": {"method": "img2img from the merge", "strength": 0.5},
        "style": "muted watercolor",
        "stages": {
            "initial": "i1",
            "background": "b1",
            "merged": "m1",
            "sketch": "s1",
            "cutouts": ["c1"],
        },
        "elements": [{"word": "fox"}],
    },
}


def test_settings_words_become_core_events() -> None:
    assert isinstance(settings_event(CHANNEL, WHO, []), SettingsRequested)
    event = settings_event(CHANNEL, WHO, ["mode", "composed"])
    assert isinstance(event, DrawingModeRequested) and event.mode == "composed"
    asked = settings_event(CHANNEL, WHO, ["mode"])
    assert isinstance(asked, DrawingModeRequested) and asked.mode == ""
    with pytest.raises(ValueError, match="settings mode composed"):
        settings_event(CHANNEL, WHO, ["colour", "red"])
    assert "mode direct" in SETTINGS_USAGE


def test_the_settings_and_why_say_how_a_picture_was_drawn() -> None:
    shown = settings_text(ChannelSettings(CHANNEL, True, 2, "tiny", 4, 12, "composed"))
    assert "Drawing mode: composed (seed 001" in shown
    text = why_text(WhyShown(CHANNEL, "p1", "The fox cried.", "", (COMPOSED_DETAIL,)), 4000)
    assert "composed (seed 001)" in text
    assert "emotion sad -> dark clouds, light rain" in text
    assert "background: the foreground inpainted away" in text
    assert "fox: drawn alone, from its words; merged where first drawn" in text
    assert (
        "rendered by img2img from the merge in the style “muted watercolor” (from emotion:sad)"
        in (text)
    )


def test_the_room_asks_for_and_sets_the_mode_and_sees_the_stages() -> None:
    asked = to_event(parse_client_message('{"type": "settings"}'), "tale", "Ana")
    assert isinstance(asked, SettingsRequested)
    message = parse_client_message('{"type": "mode", "mode": "composed"}')
    event = to_event(message, "tale", "Ana")
    assert isinstance(event, DrawingModeRequested) and event.mode == "composed"
    settings = ChannelSettings(CHANNEL, True, 0, "tiny", 4, 12, "composed")
    assert action_json(settings) == {"type": "settings", "drawing_mode": "composed"}
    why = library_json(
        WhyShown(CHANNEL, "p1", "The fox cried.", "", (COMPOSED_DETAIL,)), lambda i: f"/{i}.png"
    )
    stages = why["illustrations"][0]["stage_images"]
    assert [s["stage"] for s in stages] == [
        "initial",
        "background",
        "fox alone",
        "merged",
        "sketch",
    ]
    assert stages[2]["url"] == "/c1.png"


@pytest.mark.asyncio
async def test_slack_settings_mode_sets_the_drawing_mode(
    http: SlackHttp,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    await enable(http, fake)
    assert await http.form(fake.command(slack.MANAGER, "settings mode composed")) == 200
    [changed] = await fake.until(lambda: [r for r in fake.responses if "drawing mode" in r["text"]])
    assert "set the drawing mode to composed" in changed["text"]
    assert changed["response_type"] == "in_channel"
    assert await http.form(fake.command(slack.READER, "settings")) == 200
    [shown] = await fake.until(lambda: [r for r in fake.responses if "Drawing mode:" in r["text"]])
    assert "Drawing mode: composed" in shown["text"] and shown["response_type"] == "ephemeral"
    assert await http.form(fake.command(slack.READER, "settings mode collage")) == 200
    [refused] = await fake.until(lambda: [r for r in fake.responses if "collage" in r["text"]])
    assert "no drawing mode 'collage'" in refused["text"]

    engine = http.bot.engine
    assert isinstance(engine, ScriptedEngine)
    assert await http.event(fake.message_event(slack.MANAGER, "The fox cried alone.")) == 200
    await fake.until(lambda: [m for m in fake.messages if m.files])
    await http.bot.idle()
    assert [e.word for e in engine.compositions[-1].foreground] == ["fox"]


def _settings_options(mode: str) -> list[dict]:
    return [
        {"name": "settings", "type": 1, "options": [{"name": "mode", "type": 3, "value": mode}]}
    ]


@pytest.mark.asyncio
async def test_discord_settings_mode_sets_the_drawing_mode(
    bot: Bot,  # noqa: F811
    discord: FakeDiscord,  # noqa: F811
) -> None:
    await discord.followups_of(await discord.slash(discord.manager, "enable"))
    token = await discord.slash(discord.reader, "", options=_settings_options("composed"))
    [changed] = await discord.followups_of(token)
    assert "set the drawing mode to composed" in changed.content
    assert not changed.data["flags"] & EPHEMERAL  # the channel sees who changed it
    [shown] = await discord.followups_of(await discord.slash(discord.reader, "settings"))
    assert "Drawing mode: composed" in shown.content and shown.data["flags"] & EPHEMERAL

    engine = bot.engine
    assert isinstance(engine, ScriptedEngine)
    await discord.say(discord.manager, "The fox cried alone.")
    await discord.until(lambda: [p for p in discord.posted if p.files])
    await bot.idle()
    assert [e.word for e in engine.compositions[-1].foreground] == ["fox"]
