"""Thread replies under a picture, Why, the library and `/inkwell why` through slack-bolt."""

# ruff: noqa: F811  (the fixtures imported from test_slack are parameters here)
from __future__ import annotations

import pytest

from tests.adapters.test_slack import SlackHttp, enable, fake, http, pictures  # noqa: F401
from tests.fakes import slack_server as slack
from tests.fakes.engine import luminance
from tests.fakes.slack_server import FakeSlack


@pytest.mark.asyncio
async def test_a_thread_reply_under_a_picture_edits_it_and_undo_restores(
    http: SlackHttp, fake: FakeSlack
) -> None:
    await enable(http, fake)
    await http.event(fake.message_event(slack.MANAGER, "The knight rides home."))
    [first] = await fake.until(lambda: pictures(fake))
    await http.bot.idle()

    reply = fake.message_event(slack.READER, "I prefer darker", thread_ts=first.ts)
    assert await http.event(reply) == 200
    edited = await fake.until(lambda: pictures(fake)[1:] and pictures(fake)[1])
    await http.bot.idle()
    assert edited.thread_ts == first.ts  # answered in the thread that asked
    assert luminance(edited.files[0]["data"]) < luminance(first.files[0]["data"])
    # The answer saying how the reply was read may land after the picture: wait for it.
    await fake.until(
        lambda: any(
            "I read this as: a global change (dark, dim lighting)" in m.text
            for m in fake.messages
            if m.thread_ts == first.ts and not m.files
        )
    )

    assert await http.event(fake.message_event(slack.READER, "undo", thread_ts=first.ts)) == 200
    undone = await fake.until(lambda: pictures(fake)[2:] and pictures(fake)[2])
    assert undone.files[0]["data"] == first.files[0]["data"]

    # A reply in a thread under a line of text is a paragraph of that thread's story.
    status = next(m for m in fake.messages if not m.files and not m.thread_ts)
    tale = fake.message_event(slack.MANAGER, "A new tale begins.", thread_ts=status.ts)
    assert await http.event(tale) == 200
    drawn = await fake.until(lambda: [m for m in pictures(fake) if m.thread_ts == status.ts])
    assert drawn[0].text.startswith("1. A new tale begins.")
    await http.bot.idle()
    assert len(http.bot.engine.edits) == 1  # type: ignore[attr-defined]  (undo draws nothing)


@pytest.mark.asyncio
async def test_why_library_and_why_command(http: SlackHttp, fake: FakeSlack) -> None:
    await enable(http, fake)
    http.bot.engine.similarities["The fox sleeps."] = [0.9, 0.8]  # type: ignore[attr-defined]
    await http.event(fake.message_event(slack.MANAGER, "The fox sleeps."))
    await fake.until(lambda: pictures(fake))
    await http.bot.idle()
    status = await fake.until(
        lambda: next((m for m in fake.messages if "inkwell_why" in m.action_ids()), None)
    )
    assert status.action_ids() == ["inkwell_regenerate", "inkwell_why", "inkwell_candidates"]
    assert await http.click(fake.click(slack.READER, status, "inkwell_why")) == 200
    told = await fake.until(lambda: [m for m in fake.ephemeral if "Why these pictures" in m.text])
    assert told[0].user == slack.READER and "chose candidate" in told[0].text
    assert await http.click(fake.click(slack.READER, status, "inkwell_candidates")) == 200
    grid = await fake.until(lambda: [m for m in pictures(fake) if "candidates" in m.text])
    assert grid[0].files[0]["title"].startswith("Picture 1, candidate 1 of 2")

    before = len(fake.responses)
    assert await http.form(fake.command(slack.READER, "library")) == 200
    shown = await fake.until(lambda: fake.responses[before:])
    assert "• fox" in shown[0]["text"] and shown[0]["response_type"] == "ephemeral"
    assert await http.form(fake.command(slack.READER, 'library rename fox "red fox"')) == 200
    renamed = await fake.until(lambda: fake.responses[before + 1 :])
    assert "'red fox'" in renamed[0]["text"] and renamed[0]["response_type"] == "in_channel"
    assert await http.form(fake.command(slack.READER, "library forget")) == 200
    usage = await fake.until(lambda: fake.responses[before + 2 :])
    assert "rename OLD NEW" in usage[0]["text"]
    assert await http.form(fake.command(slack.READER, "why")) == 200
    why = await fake.until(lambda: fake.responses[before + 3 :])
    assert "Why these pictures: “The fox sleeps.”" in why[0]["text"]
    assert await http.form(fake.command(slack.READER, "library looks 1.2")) == 200
    looks = await fake.until(lambda: fake.responses[before + 4 :])
    assert "set the cast's looks to 1.2" in looks[0]["text"]
    assert looks[0]["response_type"] == "in_channel"
