"""Pure pieces of the chat adapters: payloads in, events out; texts; the throttled status."""

from __future__ import annotations

import asyncio
import io
import itertools

import pytest
from PIL import Image

from adapters import chat_text
from adapters.discord import convert as discord_convert
from adapters.slack import convert as slack_convert
from adapters.status import StatusBoard
from core.events import Author, ChannelRef, ParagraphCancelRequested, RegenerateRequested
from core.testing import ManualTimer


def test_discord_messages_become_paragraphs_of_their_channel_or_thread() -> None:
    message = discord_convert.IncomingMessage(5, 30, 20, 7, "Ana", "<@!99>  A fox runs.", True)
    event = discord_convert.paragraph_event(message, bot_id=99)
    assert event.channel == ChannelRef("discord", "20", "30")
    assert (event.text, event.addressed, event.message.message_id) == ("A fox runs.", True, "5")
    assert discord_convert.target_id(event.channel) == 30
    assert discord_convert.file_batches(23) == [range(0, 10), range(10, 20), range(20, 23)]


def test_slack_payloads_become_events() -> None:
    base = {"type": "message", "channel": "C1", "user": "U1", "ts": "1.2", "text": "Hi <@UB>"}
    assert slack_convert.is_written(base)
    assert not slack_convert.is_written({**base, "bot_id": "B1"})
    assert not slack_convert.is_written({**base, "subtype": "message_changed"})
    assert not slack_convert.is_written({**base, "channel_type": "im"})
    event = slack_convert.paragraph_event({**base, "thread_ts": "1.0"}, "UB", "Ana")
    assert event.channel == ChannelRef("slack", "C1", "1.0")
    assert (event.text, event.addressed) == ("Hi", True)
    body = {"channel": {"id": "C1"}, "user": {"id": "U2", "name": "bo"}, "message": {}}
    regen = slack_convert.button_event(body, {"action_id": "inkwell_regenerate", "value": "p1"})
    assert isinstance(regen, RegenerateRequested) and regen.paragraph_id == "p1"
    stop = slack_convert.button_event(body, {"action_id": "inkwell_stop", "value": "p1"})
    assert isinstance(stop, ParagraphCancelRequested)
    assert slack_convert.is_manager({"id": "U1"}, {"creator": "U1"})
    assert slack_convert.is_manager({"id": "U2", "is_admin": True}, {"creator": "U1"})
    assert not slack_convert.is_manager({"id": "U2"}, {"creator": "U1"})
    assert slack_convert.subcommand("  Enable now") == "enable"
    assert slack_convert.subcommand("") == "help"


def test_attachments_are_judged_by_type_then_size() -> None:
    mb = 1024 * 1024
    assert chat_text.attachment_problem("a.png", "image/png", mb, 2 * mb) == ""
    assert "isn't a picture (text/plain)" in chat_text.attachment_problem(
        "a.txt", "text/plain", 1, mb
    )
    assert "an unknown type" in chat_text.attachment_problem("blob", None, 1, mb)
    too_big = chat_text.attachment_problem("a.jpg", "image/jpeg; q=1", 3 * mb, mb)
    assert too_big == "`a.jpg` is 3.0 MB; Inkwell takes pictures up to 1.0 MB."


@pytest.mark.asyncio
async def test_the_status_board_edits_at_most_once_per_interval_and_lands_the_last_state() -> None:
    timer = ManualTimer()
    posted: list[str] = []
    edits: list[tuple[float, str]] = []

    async def create(state: str) -> str:
        posted.append(state)
        return "m1"

    landed = asyncio.Event()

    async def edit(message_id: str, state: str) -> None:
        edits.append((timer(), state))
        if state == "done":
            landed.set()

    board: StatusBoard[str] = StatusBoard(0.2, timer, timer.sleep)
    for step in range(10):
        await board.show("p1", f"step {step}", create, edit, final=False)
        timer.advance(0.03)  # states arrive over time, as a drawing's steps do
        await asyncio.sleep(0)  # a woken flush runs now
    await board.show("p1", "done", create, edit, final=True)
    while not landed.is_set():  # the last state lands once its interval is over
        assert timer.sleeping == 1, "the board should be waiting to edit"
        timer.advance(0.2)
        await asyncio.wait_for(_turns(3), 10)
    assert posted == ["step 0"]
    assert [state for _, state in edits] == ["step 6", "done"]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise([(0.0, "step 0"), *edits])]
    assert all(gap >= 0.2 - 1e-9 for gap in gaps)
    await board.show("p1", "again", create, edit, final=False)  # a redraw: a new message
    assert posted == ["step 0", "again"]


async def _turns(count: int) -> None:
    """Let woken tasks run: `count` turns of the event loop."""
    for _ in range(count):
        await asyncio.sleep(0)


def test_library_subcommands_need_their_names() -> None:
    from adapters.commands import LIBRARY_USAGE, library_event
    from core.events import ElementPinRequested, ElementRenameRequested, LibraryRequested

    channel, who = ChannelRef("slack", "C1"), Author("u1", "Ana")
    assert isinstance(library_event("show", [], channel, who), LibraryRequested)
    renamed = library_event("rename", ["old man", "wizard"], channel, who)
    assert isinstance(renamed, ElementRenameRequested)
    assert (renamed.name, renamed.new_name) == ("old man", "wizard")
    unpinned = library_event("unpin", ["fox"], channel, who)
    assert isinstance(unpinned, ElementPinRequested) and not unpinned.pinned
    for name, names in (("rename", ["fox"]), ("forget", []), ("shout", [])):
        with pytest.raises(ValueError, match="rename OLD NEW"):
            library_event(name, names, channel, who)
    assert "quotes" in LIBRARY_USAGE


def test_cast_subcommands_describe_and_give_pronouns() -> None:
    from adapters.chat_text import library_text, thumbnail_sheet
    from adapters.commands import command_event, library_event
    from core.events import (
        ElementDescribeRequested,
        ElementPronounRequested,
        ElementSummary,
        LibraryRequested,
        LibraryShown,
    )

    channel, who = ChannelRef("slack", "C1"), Author("u1", "Ana")
    assert isinstance(command_event("cast", channel, who, False, ""), LibraryRequested)
    described = library_event("describe", ["tom", "grey", "beard,", "green", "apron"], channel, who)
    assert isinstance(described, ElementDescribeRequested)
    assert (described.name, described.description) == ("tom", "grey beard, green apron")
    cleared = library_event("describe", ["tom", ""], channel, who)
    assert isinstance(cleared, ElementDescribeRequested) and cleared.description == ""
    told = library_event("pronoun", ["tom", "he"], channel, who)
    assert isinstance(told, ElementPronounRequested) and told.pronoun == "he"
    with pytest.raises(ValueError):
        library_event("describe", ["tom"], channel, who)
    tom = ElementSummary("tom", "character", 3, (), True, "img-1", "grey beard", "he", ("img-1",))
    text = library_text(LibraryShown(channel, (tom,)), 2000)
    assert "tom 📌 — “grey beard”: character, he, drawn 3×" in text
    picture = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(picture, format="PNG")
    sheet = Image.open(io.BytesIO(thumbnail_sheet([picture.getvalue()] * 3, side=32)))
    assert sheet.size == (96, 32)


def test_why_explains_edits_and_choices_in_plain_text() -> None:
    from core.events import WhyShown

    action = WhyShown(
        ChannelRef("slack", "C1"),
        "p1",
        "A fox waits. An owl.",
        "",
        (
            {
                "text": "A fox waits.",
                "branch": "sentence",
                "screening": {"generability": 2, "verb_included": False},
                "candidate_index": 1,
                "candidate_scores": [0.2, 0.31],
                "selection": "fusion",
                "elements": ["fox"],
            },
            {"text": "An owl.", "request": "make it darker", "read_as": "a global change"},
            {
                "text": "A lantern.",
                "style_ref": "img-1",
                "style_method": "ip-adapter (InstantStyle: style layers only)",
                "restorer": "img2img",
            },
        ),
    )
    text = chat_text.why_text(action, 3000)
    assert "styled by ip-adapter (InstantStyle: style layers only)" in text
    assert "enhanced by img2img" in text
    assert "chose candidate 2 of 2 by fusion; scores 20%, 31%" in text
    assert "edited: “make it darker”, read as a global change" in text
    assert "story elements seen: fox" in text


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"type": "event_callback", "event": "oops"}', "application/json"),
        (b"payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        (b"payload=%5B%5D", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (b"&&==&", "application/x-www-form-urlencoded"),
        (b"[" * 100_000, "application/json"),
    ],
)
def test_malformed_slack_bodies_are_named_not_raised(body: bytes, content_type: str) -> None:
    assert slack_convert.body_problem(body, content_type)


def test_well_formed_slack_bodies_pass() -> None:
    event = b'{"type": "event_callback", "event": {"type": "message"}}'
    assert slack_convert.body_problem(event, "application/json") == ""
    command = b"command=%2Finkwell&text=&user_id=U1"
    assert slack_convert.body_problem(command, "application/x-www-form-urlencoded") == ""
    click = b"payload=%7B%22type%22%3A%22block_actions%22%7D"
    assert slack_convert.body_problem(click, "application/x-www-form-urlencoded") == ""


def test_a_slack_signature_is_checked_without_raising_on_bad_headers() -> None:
    import hashlib
    import hmac

    body, now = b"token=x", 1_700_000_000.0
    good = "v0=" + hmac.new(b"s", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert slack_convert.signed("s", body, "1700000000", good, now)
    assert not slack_convert.signed("s", body, "1700000000", good, now + 301)  # a replay
    assert not slack_convert.signed("other", body, "1700000000", good, now)
    for stamp in ("", "abc", "1e9", "-1", "١٧٠٠٠٠٠٠٠٠", "9" * 40):
        assert not slack_convert.signed("s", body, stamp, good, now)


def test_discord_markup_becomes_plain_story_words() -> None:
    from adapters.discord.markup import plain_text

    content = (
        "<@!99> @everyone **<@7>** meets <@8> in <#55> <:party:123><a:wave:456> "
        "at <t:1700000000:R> @here ||quietly|| __under__ ~~the~~ *moon* :tada:"
    )
    assert plain_text(content, {7: "Bo"}, bot_id=99) == "Bo meets in at quietly under the moon"
    assert plain_text("# The end\n> said <@&5> `loudly`", {}, 99) == "The end\nsaid loudly"


def test_slack_markup_becomes_plain_story_words_and_posts_are_escaped() -> None:
    from adapters.slack.markup import escaped, mentioned_users, plain_text

    text = (
        "<@UB> <!everyone> *<@U1>* and <@U2|cara> met in <#C9|general> :tada: "
        "<!subteam^S1|@writers> on <!date^1700000000^{date}|Nov 14> "
        "&lt;b&gt;bravely&lt;/b&gt; &amp; _slowly_ <https://x.y|a map> <!here>"
    )
    assert mentioned_users(text) == ["UB", "U1", "U2"]
    words = plain_text(text, {"U1": "Ana"}, "UB")
    assert words == "Ana and cara met in on Nov 14 bravely & slowly a map"
    assert escaped("<!everyone> & <@U1>") == "&lt;!everyone&gt; &amp; &lt;@U1&gt;"


def test_the_casts_look_strength_by_command_and_in_the_answers() -> None:
    from adapters.chat_text import library_text, settings_text
    from adapters.commands import library_event
    from core.events import CastLooksSet, ChannelSettings, LibraryShown, WhyShown
    from core.story.looks import LOOKS_USAGE

    channel, who = ChannelRef("slack", "C1"), Author("u1", "Ana")
    set_to = library_event("looks", ["0,4"], channel, who)
    assert isinstance(set_to, CastLooksSet) and set_to.strength == 0.4
    shown = library_event("looks", [], channel, who)
    assert isinstance(shown, CastLooksSet) and shown.strength is None
    with pytest.raises(ValueError, match="look strength"):
        library_event("looks", ["lots"], channel, who)
    assert "library looks 0.6" in LOOKS_USAGE
    settings = ChannelSettings(channel, True, 3, "tiny", 4, 12, look_strength=0.6)
    assert "The cast's looks condition drawing at strength 0.6" in settings_text(settings)
    off = library_text(LibraryShown(channel, (), look_strength=0.0), 2000)
    assert "The cast's looks: off" in off
    why = WhyShown(
        channel,
        "p1",
        "The fox runs.",
        "",
        (
            {"text": "The fox runs.", "looks": ["fox"], "look_strength": 0.6,
             "look_method": "ip-adapter h94/IP-Adapter"},
            {"text": "He sleeps.", "looks": ["fox"], "look_strength": 0.6,
             "look_method": "none: no image-prompt adapter for sd-turbo"},
        ),
    )  # fmt: skip
    text = chat_text.why_text(why, 3000)
    assert "drawn with the looks of fox (strength 0.6, ip-adapter h94/IP-Adapter)" in text
    assert "looks of fox not drawn with (no image-prompt adapter for sd-turbo)" in text


def test_the_rooms_cast_panel_sets_the_look_strength() -> None:
    from adapters.web.library_convert import LibraryMessageError, library_event
    from core.events import CastLooksSet

    channel, who = ChannelRef("web", "tale"), Author("u1", "Ana")
    event = library_event("looks", {"strength": 1.2}, channel, who)
    assert isinstance(event, CastLooksSet) and event.strength == 1.2
    with pytest.raises(LibraryMessageError):
        library_event("looks", {"strength": "lots"}, channel, who)
