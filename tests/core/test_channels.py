"""Channel controls: opt-in channels, the manager rule, redraws and stopping one paragraph."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from core.adapter import Capabilities
from core.events import (
    Accepted,
    Audience,
    Author,
    ChannelDisableRequested,
    ChannelEnableRequested,
    ChannelRef,
    ChannelSettings,
    ElementRenameRequested,
    LibraryRequested,
    ParagraphCancelRequested,
    ParagraphPosted,
    PostIllustrations,
    PostText,
    Progress,
    Refused,
    RegenerateRequested,
    SettingsRequested,
    StoryPage,
    StoryRequested,
    StyleReferenceRequested,
    StyleStrengthSet,
    WhyShown,
)
from core.inkwell import Inkwell
from core.story.loop import candidate_seeds
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

ANA = Author("ana", "Ana")


class ChatAdapter(FakeAdapter):
    """A chat platform: channels are stories only once a manager enables them."""

    name = "chat"
    capabilities = Capabilities(edits=True, threads=True, buttons=True, opt_in=True)


@pytest_asyncio.fixture
async def chat(storage: SQLiteStorage, engine: ScriptedEngine) -> AsyncIterator[ChatAdapter]:
    inkwell = Inkwell(engine, storage, StorySettings(candidates=2, progress_interval_s=0))
    adapter = ChatAdapter()
    inkwell.attach(adapter)
    await inkwell.start()
    adapter.inkwell = inkwell  # type: ignore[attr-defined]
    yield adapter
    await inkwell.stop()


def said(chat: ChatAdapter, text: str, addressed: bool, where: ChannelRef | None = None):
    channel = where or chat.channel()
    return chat.dispatch(ParagraphPosted(channel, ANA, text=text, addressed=addressed))


@pytest.mark.asyncio
async def test_a_disabled_channel_ignores_chat_and_answers_only_when_addressed(
    chat: ChatAdapter,
) -> None:
    assert await said(chat, "Just chatting.", addressed=False) == []
    [refused] = await said(chat, "@Inkwell draw this", addressed=True)
    assert isinstance(refused, Refused) and "/inkwell enable" in refused.message
    [refused] = await chat.dispatch(StoryRequested(chat.channel(), ANA))
    assert isinstance(refused, Refused)


@pytest.mark.asyncio
async def test_only_a_manager_enables_and_then_paragraphs_are_drawn(chat: ChatAdapter) -> None:
    [refused] = await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=False))
    assert isinstance(refused, Refused) and "manage this channel" in refused.message
    assert refused.audience is Audience.WRITER  # a refusal concerns the asker alone
    [done] = await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=True))
    assert isinstance(done, PostText) and "on in this channel" in done.text
    assert done.audience is Audience.CHANNEL  # news for everyone there
    [again] = await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=True))
    assert "already on" in again.text  # type: ignore[attr-defined]
    assert again.audience is Audience.WRITER  # nothing changed: no news for the channel

    [accepted] = await said(chat, "A lamp glows.", addressed=False)
    assert isinstance(accepted, Accepted)
    await chat.wait_for(PostIllustrations)

    thread = ChannelRef("chat", "story", "t1")
    [in_thread] = await said(chat, "The thread follows its channel.", False, thread)
    assert isinstance(in_thread, Accepted)

    [settings] = await chat.dispatch(SettingsRequested(chat.channel(), ANA))
    assert isinstance(settings, ChannelSettings) and settings.enabled
    assert (settings.paragraphs, settings.profile) == (1, "scripted")

    [off] = await chat.dispatch(ChannelDisableRequested(chat.channel(), ANA, manager=True))
    assert "off" in off.text  # type: ignore[attr-defined]
    assert await said(chat, "Back to chat.", addressed=False) == []


@pytest.mark.asyncio
async def test_a_redraw_uses_fresh_seeds_and_replaces_the_pictures(
    chat: ChatAdapter, engine: ScriptedEngine
) -> None:
    await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=True))
    [accepted] = await said(chat, "A fox. A moon.", addressed=False)
    paragraph_id = accepted.entry.paragraph_id  # type: ignore[attr-defined]
    [first] = await chat.wait_for(PostIllustrations)

    [again] = await chat.dispatch(RegenerateRequested(chat.channel(), ANA, paragraph_id))
    assert isinstance(again, Accepted) and again.entry.paragraph_id == paragraph_id
    second = (await chat.wait_for(PostIllustrations, 2))[1]
    assert [i.caption for i in second.images] == [i.caption for i in first.images]
    assert {i.image_id for i in second.images}.isdisjoint(i.image_id for i in first.images)
    first_seeds, redraw_seeds = (call[0].seeds for call in engine.generate_calls)
    assert first_seeds == candidate_seeds(paragraph_id, 0, 2) != redraw_seeds

    [page] = await chat.dispatch(StoryRequested(chat.channel(), ANA))
    assert isinstance(page, StoryPage)
    shown = [image_id for image_id, _ in page.entries[0].illustrations]
    assert shown == [i.image_id for i in second.images]

    [elsewhere] = await chat.dispatch(
        RegenerateRequested(ChannelRef("chat", "other"), ANA, paragraph_id)
    )
    assert isinstance(elsewhere, Refused)  # "other" is not enabled, and not its story


@pytest.mark.asyncio
async def test_stopping_one_waiting_paragraph_leaves_the_others(
    chat: ChatAdapter, engine: ScriptedEngine
) -> None:
    await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=True))
    engine.gate = asyncio.Event()
    [first] = await said(chat, "One.", addressed=False)
    [second] = await said(chat, "Two.", addressed=False)
    second_id = second.entry.paragraph_id  # type: ignore[attr-defined]
    [stopping] = await chat.dispatch(ParagraphCancelRequested(chat.channel(), ANA, second_id))
    assert isinstance(stopping, PostText)
    engine.gate.set()
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    stages = {(p.paragraph_id, p.stage) for p in chat.of_type(Progress)}
    assert (first.entry.paragraph_id, "done") in stages  # type: ignore[attr-defined]
    assert (second_id, "cancelled") in stages
    [missing] = await chat.dispatch(ParagraphCancelRequested(chat.channel(), ANA, second_id))
    assert isinstance(missing, Refused)


@pytest.mark.asyncio
async def test_each_answer_says_who_sees_it_and_only_channel_news_is_sent_later(
    chat: ChatAdapter,
) -> None:
    await chat.dispatch(ChannelEnableRequested(chat.channel(), ANA, manager=True))
    [accepted] = await said(chat, "A fox sleeps.", addressed=False)
    await chat.wait_for(PostIllustrations)
    paragraph = accepted.entry.paragraph_id  # type: ignore[attr-defined]
    asked = {
        "story": StoryRequested(chat.channel(), ANA),
        "settings": SettingsRequested(chat.channel(), ANA),
        "library": LibraryRequested(chat.channel(), ANA),
        "style": StyleReferenceRequested(chat.channel(), ANA),
        "rename a stranger": ElementRenameRequested(chat.channel(), ANA, "nobody", "x"),
        "stop a drawn one": ParagraphCancelRequested(chat.channel(), ANA, paragraph),
    }
    for what, event in asked.items():
        [answer] = await chat.dispatch(event)
        assert answer.audience is Audience.WRITER, what
    [strength] = await chat.dispatch(StyleStrengthSet(chat.channel(), ANA, strength=0.5))
    assert strength.audience is Audience.CHANNEL  # a change of look concerns every writer
    # Every later update (progress, pictures) reached the channel; none was for one writer.
    assert all(action.audience is Audience.CHANNEL for action in chat.sent)
    inkwell = chat.inkwell  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="one writer"):
        await inkwell.deliver(WhyShown(chat.channel(), paragraph, "A fox sleeps.", "", ()))
