"""Show candidates: a paragraph's candidates drawn again from their recorded seeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import (
    Author,
    CandidatesRequested,
    CandidatesShown,
    PostIllustrations,
    PostText,
    Refused,
)
from core.story.candidates import NO_SEEDS, STYLE_REMOVED, other_profile
from core.testing import FakeAdapter
from storage.base import IllustrationRecord
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

pytestmark = pytest.mark.asyncio
NOW = datetime(2026, 11, 24, tzinfo=UTC)


async def test_the_candidates_come_back_with_the_chosen_one_marked(
    chat: FakeAdapter, engine: ScriptedEngine
) -> None:
    engine.similarities["A fox waits."] = [0.1, 0.9, 0.3]
    await chat.post("A fox waits.")
    [post] = await chat.wait_for(PostIllustrations)
    await chat.inkwell.idle()  # type: ignore[attr-defined]
    drawn = engine.generate_calls[-1][0]

    [told] = await chat.dispatch(
        CandidatesRequested(chat.channel(), Author("bo", "Bo"), post.paragraph_id)
    )
    assert isinstance(told, PostText) and "from their seeds" in told.text
    [shown] = await chat.wait_for(CandidatesShown)
    again = engine.generate_calls[-1][0]
    assert (again.prompt, again.seeds) == (drawn.prompt, drawn.seeds)
    assert len(shown.images) == 3
    chosen = [image for image in shown.images if "(chosen)" in image.caption]
    assert [image.caption for image in chosen] == [
        "Picture 1, candidate 2 of 3: score 90% (chosen)"
    ]
    assert chosen[0].png == post.images[0].png  # the same seed draws the same picture


async def test_unknown_paragraphs_and_old_drawings_are_answered(
    chat: FakeAdapter, storage: SQLiteStorage
) -> None:
    who = Author("bo", "Bo")
    [refused] = await chat.dispatch(CandidatesRequested(chat.channel(), who, "nope"))
    assert isinstance(refused, Refused) and "isn't part of this story" in refused.message

    # A drawing from before candidate seeds were recorded.
    channel = chat.channel()
    await storage.channels.ensure(channel.key, channel.platform, channel.channel_id, None, "s")
    paragraph = await storage.paragraphs.add(channel.key, "bo", "Bo", "A fox waits.", NOW)
    old = IllustrationRecord(
        f"{paragraph.id}:0",
        channel.key,
        paragraph.id,
        0,
        "A fox waits.",
        "img",
        0.5,
        {"prompt": "A fox waits.", "seed": 1, "candidate_index": 0},
        None,
        NOW,
    )
    await storage.illustrations.add(old)
    [refused] = await chat.dispatch(CandidatesRequested(channel, who, paragraph.id))
    assert isinstance(refused, Refused) and refused.message == NO_SEEDS


async def test_drawings_of_another_profile_or_a_removed_style_are_not_redrawn(
    chat: FakeAdapter, storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    who, channel = Author("bo", "Bo"), chat.channel()
    await storage.channels.ensure(channel.key, channel.platform, channel.channel_id, None, "s")

    async def drawn_with(**provenance: object) -> str:
        paragraph = await storage.paragraphs.add(channel.key, "bo", "Bo", "A fox waits.", NOW)
        record = IllustrationRecord(
            f"{paragraph.id}:0",
            channel.key,
            paragraph.id,
            0,
            "A fox waits.",
            "img",
            0.5,
            {"prompt": "A fox waits.", "candidate_seeds": [1, 2], "candidate_index": 0}
            | provenance,
            None,
            NOW,
        )
        await storage.illustrations.add(record)
        return paragraph.id

    other = await drawn_with(profile="sd15", seed=1)
    [refused] = await chat.dispatch(CandidatesRequested(channel, who, other))
    assert isinstance(refused, Refused)
    assert refused.message == other_profile("sd15", engine.profile_name)

    styled = await drawn_with(profile=engine.profile_name, seed=1, style_ref="removed-style")
    [refused] = await chat.dispatch(CandidatesRequested(channel, who, styled))
    assert isinstance(refused, Refused) and refused.message == STYLE_REMOVED
    assert engine.generate_calls == []  # nothing was drawn unstyled or with other models
