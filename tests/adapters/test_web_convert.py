"""The story room's pure translations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from adapters.web import convert
from core.events import (
    Accepted,
    CancelRequested,
    IllustrationImage,
    ParagraphPosted,
    PostIllustrations,
    Progress,
    StoryEntry,
    StoryRequested,
)

ROOM = convert.channel("Harbor tales")


@pytest.mark.parametrize("name", ["Harbor tales", "Ana's room", "小屋", "Act 2 - the return!"])
def test_room_names_people_use_are_accepted(name: str) -> None:
    assert convert.room_name(f"  {name}  ") == name


@pytest.mark.parametrize(
    "name", ["../etc", "a/b", "a\\b", "..", ".hidden", "", "   ", "x" * 65, None, 42, "a\x00b"]
)
def test_room_names_with_path_characters_or_junk_are_refused(name: object) -> None:
    with pytest.raises(convert.ClientMessageError):
        convert.room_name(name)


@pytest.mark.parametrize(
    "raw", ["not json", "[]", '{"type": 3}', '{"type": "drop_tables"}', "[" * 100_000]
)
def test_unreadable_messages_are_refused_with_words(raw: str) -> None:
    with pytest.raises(convert.ClientMessageError):
        convert.parse_client_message(raw)


def test_messages_become_core_events() -> None:
    def event(raw: str):
        return convert.to_event(convert.parse_client_message(raw), "Harbor tales", "Ana")

    posted = event('{"type": "paragraph", "text": "A gull."}')
    assert isinstance(posted, ParagraphPosted)
    assert (posted.channel, posted.text, posted.author.display_name) == (ROOM, "A gull.", "Ana")
    history = event('{"type": "history", "before_seq": 7}')
    assert isinstance(history, StoryRequested) and history.before_seq == 7
    assert isinstance(event('{"type": "cancel"}'), CancelRequested)
    with pytest.raises(convert.ClientMessageError):
        event('{"type": "paragraph", "text": 5}')
    with pytest.raises(convert.ClientMessageError):
        event('{"type": "history", "before_seq": "x"}')


def test_author_names_are_tidied() -> None:
    assert convert.author_name("  Ana \n Lee ") == "Ana Lee"
    assert convert.author_name(None) == "Writer"
    assert len(convert.author_name("x" * 500)) == convert.MAX_AUTHOR_NAME


def test_actions_become_browser_messages() -> None:
    entry = StoryEntry(
        "p1",
        3,
        "Ana",
        "A gull.",
        "queued",
        datetime(2026, 1, 1, tzinfo=UTC),
        (("img1", "A gull."),),
        illustration_ids=("p1:0",),
    )
    assert convert.action_json(Accepted(ROOM, entry, 2), "c9") == {
        "type": "accepted",
        "client_id": "c9",
        "paragraph_id": "p1",
        "seq": 3,
        "queue_position": 2,
        "again": False,
    }
    assert convert.entry_json(entry)["illustrations"] == [
        {"url": "/images/img1.png", "caption": "A gull.", "illustration_id": "p1:0"}
    ]
    progress = convert.action_json(Progress(ROOM, "p1", "generating", 0.5, detail="Drawing"))
    assert progress["stage"] == "generating" and progress["fraction"] == 0.5
    image = IllustrationImage("ill1", "img1", b"png", "A gull.", 0.312345)
    shown = convert.action_json(
        PostIllustrations(ROOM, "p1", (image,), "tiny", delivery_id="illustrations:p1")
    )
    assert shown["delivery_id"] == "illustrations:p1"  # the page shows a resend once
    assert shown["images"] == [
        {
            "illustration_id": "ill1",
            "url": "/images/img1.png",
            "caption": "A gull.",
            "score": 0.3123,
            "sentence_index": None,
        }
    ]
    assert shown["profile"] == "tiny"


def test_a_change_request_names_its_picture() -> None:
    message = convert.parse_client_message(
        '{"type": "edit", "illustration_id": "p1:0", "text": " make it darker "}'
    )
    event = convert.to_event(message, "Harbor", "Ana")
    assert (event.illustration_id, event.text) == ("p1:0", "make it darker")
    for bad, said in (
        ('{"type": "edit", "text": "darker"}', "Which picture?"),
        ('{"type": "edit", "illustration_id": "p1:0", "text": "  "}', "Say what should change"),
        ('{"type": "edit", "illustration_id": "p1:0", "text": "' + "x" * 400 + '"}', "under 300"),
    ):
        with pytest.raises(convert.ClientMessageError, match=said):
            convert.to_event(convert.parse_client_message(bad), "Harbor", "Ana")


def test_the_genre_picker_messages_become_genre_events_and_choices_json() -> None:
    from core.events import GenreChoice, GenreChoices, GenreChoicesRequested, GenreRequested

    shown = convert.to_event(
        convert.parse_client_message('{"type": "genre_show"}'), "Harbor", "Ana"
    )
    assert isinstance(shown, GenreChoicesRequested)
    picked = convert.to_event(
        convert.parse_client_message('{"type": "genre", "name": "noir"}'), "Harbor", "Ana"
    )
    assert isinstance(picked, GenreRequested) and picked.name == "noir"
    choices = GenreChoices(
        convert.channel("Harbor"),
        genres=(GenreChoice("noir", "noir style", 120, 400),),
        current="noir",
    )
    assert convert.genres_json(choices, "Ana picked the genre **noir**.") == {
        "type": "genres",
        "message": "Ana picked the genre noir.",
        "genres": [{"name": "noir", "phrase": "noir style", "pictures": 120, "steps": 400}],
        "current": "noir",
        "gone": False,
    }
