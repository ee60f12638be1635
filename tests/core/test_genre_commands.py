"""A channel's genre (seed 000 claim 16): listing, picking, drawing with it, "why" naming it,
and what writers are told once its adapter is gone."""

from __future__ import annotations

import pytest

from adapters.chat_text import why_text
from core.edit.work import genre_gone
from core.engine import AdapterInfo
from core.events import (
    Author,
    CandidatesRequested,
    GenreRequested,
    PostIllustrations,
    PostText,
    Refused,
    WhyRequested,
    WhyShown,
)
from core.story.candidates import genre_removed
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.core.test_edits import _reply
from tests.fakes.engine import ScriptedEngine

ANA = Author("ana", "Ana")


def genre(name: str, kind: str = "genre") -> AdapterInfo:
    return AdapterInfo(name, kind, "scripted", phrase=f"{name} style", pictures=120, steps=400)


async def say(chat: FakeAdapter, event: object) -> PostText | Refused:
    [reply] = await chat.dispatch(event)  # type: ignore[arg-type]
    assert isinstance(reply, (PostText, Refused)), reply
    return reply


@pytest.mark.asyncio
async def test_writers_see_the_trained_genres_and_pick_one(
    chat: FakeAdapter, engine: ScriptedEngine, storage: SQLiteStorage
) -> None:
    room = chat.channel()
    listing = await say(chat, GenreRequested(room, ANA))
    assert "without a genre" in listing.text and "No genres are trained yet" in listing.text
    engine.trained_adapters = [genre("wuxia"), genre("noir"), genre("blue", "attribute")]
    listing = await say(chat, GenreRequested(room, ANA))
    assert "**noir**" in listing.text and "**wuxia** (wuxia style; 120 pictures" in listing.text
    assert "blue" not in listing.text, "attribute generators are not genres"

    refused = await say(chat, GenreRequested(room, ANA, "western"))
    assert isinstance(refused, Refused)
    assert "no trained genre 'western'" in refused.message and "noir, wuxia" in refused.message

    picked = await say(chat, GenreRequested(room, ANA, " Wuxia "))
    assert isinstance(picked, PostText) and "Ana picked the genre **wuxia**" in picked.text
    assert (
        "This story is drawn in the genre **wuxia**"
        in (await say(chat, GenreRequested(room, ANA))).text
    )

    await chat.post("A swordsman crosses the bamboo bridge.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    off = await say(chat, GenreRequested(room, ANA, "none"))
    assert "turned the genre off" in off.text
    await chat.post("Rain falls on the inn.")
    await chat.wait_for(PostIllustrations, count=2)
    await chat.inkwell.idle()

    genres = [{r.genre for r in call} for call in engine.generate_calls]
    assert genres == [{"wuxia"}, {None}]
    paragraphs = await storage.paragraphs.page(room.key, None, 10)
    drawn = await storage.illustrations.for_paragraphs([p.id for p in paragraphs])
    assert [drawn[p.id][0].provenance["genre"] for p in paragraphs] == ["wuxia", None]


@pytest.mark.asyncio
async def test_a_genre_no_longer_trained_draws_without_and_says_so(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    room = chat.channel()
    engine.trained_adapters = [genre("noir")]
    await say(chat, GenreRequested(room, ANA, "noir"))
    engine.trained_adapters = []
    assert "which is gone" in (await say(chat, GenreRequested(room, ANA))).text
    await chat.post("The detective lights a cigarette.")
    await chat.wait_for(PostIllustrations)
    assert {r.genre for r in engine.generate_calls[0]} == {None}


@pytest.mark.asyncio
async def test_why_names_the_genre(chat: FakeAdapter, engine: ScriptedEngine) -> None:
    room = chat.channel()
    engine.trained_adapters = [genre("noir")]
    await say(chat, GenreRequested(room, ANA, "noir"))
    await chat.post("The detective lights a cigarette.")
    await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    [why] = await chat.dispatch(WhyRequested(room, ANA, ""))
    assert isinstance(why, WhyShown)
    assert {detail["genre"] for detail in why.illustrations} == {"noir"}
    assert "drawn in the genre noir" in why_text(why, 4000)


@pytest.mark.asyncio
async def test_candidates_and_edits_of_a_picture_whose_genre_was_removed_say_why(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    room = chat.channel()
    engine.trained_adapters = [genre("noir")]
    await say(chat, GenreRequested(room, ANA, "noir"))
    await chat.post("The detective lights a cigarette.")
    [post] = await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()
    engine.trained_adapters = []  # the adapter's folder was deleted
    drawn = len(engine.generate_calls)

    [refused] = await chat.dispatch(CandidatesRequested(room, ANA, post.paragraph_id))
    assert isinstance(refused, Refused) and refused.message == genre_removed("noir")
    assert "no longer trained" in refused.message and "redraw the paragraph" in refused.message
    assert len(engine.generate_calls) == drawn

    await _reply(chat, "make it darker", chat.message_of(post))
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    told = [a for a in chat.of_type(PostText) if "no longer trained" in a.text]
    assert [a.text for a in told] == [genre_gone("noir")]
    assert engine.edits == [], "nothing was redrawn without the picture's genre"
