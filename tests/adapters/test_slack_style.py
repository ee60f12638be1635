"""Slack's style commands: `/inkwell style ...`, and a picture shared with "@Inkwell style"."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.adapters.test_slack import SlackHttp, enable, fake, http  # noqa: F401  (fixtures)
from tests.fakes import slack_server as slack
from tests.fakes.engine import ScriptedEngine
from tests.fakes.slack_server import FakeSlack, SlackMessage


def picture(size: tuple[int, int] = (200, 160)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def style_message(server: FakeSlack, user: str, files: list[dict], words: str = "style") -> dict:
    text = f"<@{slack.BOT_USER}> {words}"
    return server.message_event(user, text, subtype="file_share", files=files)


async def command(client: SlackHttp, server: FakeSlack, user: str, text: str) -> None:
    assert await client.form(server.command(user, text)) == 200


async def posted(server: FakeSlack, says: str) -> SlackMessage:
    """The channel message (the whole channel sees it) that says `says`."""
    return await server.until(lambda: next((m for m in server.messages if says in m.text), None))


async def answered(server: FakeSlack, says: str) -> dict | SlackMessage:
    """The private answer (response_url or ephemeral message) that says `says`."""

    def find() -> dict | SlackMessage | None:
        for response in server.responses:
            if says in response["text"]:
                assert response["response_type"] == "ephemeral"
                return response
        return next((m for m in server.ephemeral if says in m.text), None)

    return await server.until(find)


async def told_to_all(server: FakeSlack, says: str) -> dict:
    """A command's answer for the whole channel (response_type in_channel)."""
    found = await server.until(
        lambda: next((r for r in server.responses if says in r["text"]), None)
    )
    assert found["response_type"] == "in_channel"
    return found


def illustrations(server: FakeSlack) -> list[SlackMessage]:
    return [m for m in server.messages if m.files and m.files[0]["name"].startswith("illus")]


async def illustrate(client: SlackHttp, server: FakeSlack, text: str) -> None:
    before = len(illustrations(server))
    assert await client.event(server.message_event(slack.MANAGER, text)) == 200
    await server.until(lambda: illustrations(server)[before:])
    await client.bot.idle()


@pytest.mark.asyncio
async def test_a_shared_picture_sets_the_style_and_commands_round_trip(
    http: SlackHttp,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    engine = http.bot.engine
    assert isinstance(engine, ScriptedEngine)
    await enable(http, fake)
    await illustrate(http, fake, "A lighthouse at dusk.")
    assert all(request.style is None for request in engine.generate_calls[-1])

    # Any writer may set the look, as in the web room; the whole channel sees the change.
    shared = fake.share("harbour.png", "image/png", picture())
    assert await http.event(style_message(fake, slack.READER, [shared])) == 200
    message = await posted(fake, "Bo set the style reference")
    assert message.text.startswith("🎨 ") and message.files[0]["data"].startswith(b"\x89PNG")
    assert fake.files.downloads == [shared["id"]]  # fetched from url_private with the bot token

    await illustrate(http, fake, "Waves on the rocks.")
    requests = engine.generate_calls[-1]
    assert requests and all(r.style is not None and r.style.strength == 1.0 for r in requests)
    assert len(illustrations(fake)) == 2  # the first paragraph's pictures were not redrawn

    await command(http, fake, slack.MANAGER, "style strength 0,5")
    await posted(fake, "set the style strength to 0.5.")
    await illustrate(http, fake, "Gulls over the boats.")
    assert all(r.style and r.style.strength == 0.5 for r in engine.generate_calls[-1])

    await command(http, fake, slack.READER, "style show")
    shown = await posted(fake, "style reference Bo set, at strength 0.5")
    assert shown.files  # Slack can't show a picture to one person, so the channel sees it

    await command(http, fake, slack.READER, "style clear")
    await posted(fake, "Bo cleared the style reference")
    await illustrate(http, fake, "Night falls.")
    assert all(request.style is None for request in engine.generate_calls[-1])
    await command(http, fake, slack.READER, "style")
    await answered(fake, "This story has no style reference")

    await command(http, fake, slack.READER, "style strength high")
    await answered(fake, "Style strength is a number from 0 (off) to 2")
    await command(http, fake, slack.READER, "style strength 3")
    await answered(fake, "Style strength goes from 0 (off) to 2")
    await command(http, fake, slack.READER, "style set")
    await answered(fake, "Slack commands can't carry pictures")


@pytest.mark.asyncio
async def test_bad_style_pictures_are_refused_clearly(
    http: SlackHttp,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    await enable(http, fake)
    notes = fake.share("notes.txt", "text/plain", b"hello there!")
    await http.event(style_message(fake, slack.MANAGER, [notes]))
    await answered(fake, "`notes.txt` isn't a picture (text/plain)")
    huge = fake.share("map.png", "image/png", picture(), size=5 * 1024 * 1024)
    await http.event(style_message(fake, slack.MANAGER, [huge]))
    await answered(fake, "`map.png` is 5.0 MB; Inkwell takes pictures up to 1.0 MB.")
    assert fake.files.downloads == []  # refused from its declared size, never fetched

    liar = fake.share("liar.png", "image/png", bytes(2 * 1024 * 1024), size=1000)
    await http.event(style_message(fake, slack.MANAGER, [liar]))
    await answered(fake, "`liar.png` is")  # cut off once past the limit
    fake_png = fake.share("fake.png", "image/png", b"not a png")
    await http.event(style_message(fake, slack.MANAGER, [fake_png]))
    await answered(fake, "isn't a picture")  # the core's own check of the bytes
    await http.event(style_message(fake, slack.MANAGER, [], words="style please"))
    await answered(fake, "Attach the picture")
    assert not [m for m in fake.messages if "style reference" in m.text]


@pytest.mark.asyncio
async def test_style_commands_are_refused_where_inkwell_is_off(
    http: SlackHttp,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    shared = fake.share("harbour.png", "image/png", picture())
    await http.event(style_message(fake, slack.MANAGER, [shared]))
    await answered(fake, "isn't on in this channel")
    for text in ("style show", "style clear", "style strength 0.3"):
        before = len(fake.responses)
        await command(http, fake, slack.MANAGER, text)
        [answer] = await fake.until(lambda: fake.responses[before:])  # noqa: B023
        assert "isn't on in this channel" in answer["text"], text
    assert http.bot.storage is not None
    record = await http.bot.storage.channels.get(f"slack:{slack.CHANNEL}")
    assert record is None or "style" not in record.settings


@pytest.mark.asyncio
async def test_the_cast_on_slack_thumbnails_descriptions_and_a_shared_reference(
    http: SlackHttp,  # noqa: F811
    fake: FakeSlack,  # noqa: F811
) -> None:
    engine = http.bot.engine
    assert isinstance(engine, ScriptedEngine)
    await enable(http, fake)
    engine.similarities["The fox sleeps."] = [0.9, 0.8, 0.7, 0.6]
    await illustrate(http, fake, "The fox sleeps.")

    await command(http, fake, slack.READER, "cast")
    sheet = await posted(fake, "• fox")
    assert sheet.files[0]["name"] == "cast.png" and sheet.files[0]["data"].startswith(b"\x89PNG")

    await command(http, fake, slack.READER, 'library describe fox "red, with a hat"')
    await told_to_all(fake, "fox is now drawn as: red, with a hat.")
    await command(http, fake, slack.READER, "cast pronoun fox she")
    await told_to_all(fake, "She now refers to 'fox'")
    await command(http, fake, slack.READER, "cast describe")
    await answered(fake, "`/inkwell cast` (or `library`) shows the story's cast")

    shared = fake.share("fox.png", "image/png", picture())
    assert await http.event(style_message(fake, slack.READER, [shared], "cast fox")) == 200
    await posted(fake, "gave 'fox' a reference picture")
    assert await http.event(style_message(fake, slack.READER, [], "cast fox")) == 200
    await answered(fake, "attach the picture to a message that says `@Inkwell cast NAME`")

    await illustrate(http, fake, "The fox wakes.")
    assert engine.generate_calls[-1][0].prompt == "The red fox with a hat wakes."
