"""The story loop follows seed 000's branch table, end to end with a scripted engine."""

from __future__ import annotations

import pytest

from core.engine import Screening
from core.events import Author, PostIllustrations, PostText, StoryRequested
from core.inkwell import Inkwell
from core.story.settings import StorySettings
from core.testing import FakeAdapter
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine

ANA = Author("ana", "Ana")
KITE_PIER = "A red kite flies over the bay, and the old pier stands in the rain."
KITE_PIER_CLAUSES = ["A red kite flies over the bay", "the old pier stands in the rain"]


async def _chat(storage: SQLiteStorage, engine: ScriptedEngine, **settings) -> Inkwell:
    inkwell = Inkwell(
        engine, storage, StorySettings(candidates=3, progress_interval_s=0, **settings)
    )
    chat = FakeAdapter()
    inkwell.attach(chat)
    await inkwell.start()
    inkwell.chat = chat  # type: ignore[attr-defined]
    return inkwell


async def _provenance(storage: SQLiteStorage, paragraph_id: str) -> list[dict]:
    stored = (await storage.illustrations.for_paragraphs([paragraph_id]))[paragraph_id]
    return [record.provenance | {"text": record.text} for record in stored]


@pytest.mark.asyncio
async def test_sentences_with_nothing_to_draw_are_skipped_and_explained(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    engine.screenings = {
        "She wondered about fate.": Screening(0, False),
        "He leapt, spun, and struck.": Screening(2, True),
    }
    inkwell = await _chat(storage, engine)
    chat = inkwell.chat
    await chat.post("She wondered about fate. A lantern glows. He leapt, spun, and struck.")
    [posted] = await chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [image.caption for image in posted.images] == ["A lantern glows."]
    [note] = [text.text for text in chat.of_type(PostText)]
    assert 'Not drawn: "She wondered about fate." (nothing concrete to draw).' in note
    assert '"He leapt, spun, and struck." (an action across several clauses' in note
    [page] = await chat.dispatch(StoryRequested(chat.channel(), ANA))
    assert page.entries[0].note == note
    await inkwell.stop()


@pytest.mark.asyncio
async def test_a_paragraph_with_nothing_to_draw_gets_only_the_note_when_writers_say_so(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    engine.screenings = {"Time passed.": Screening(0, False)}
    inkwell = await _chat(storage, engine, draw_at_least_one=False)
    await inkwell.chat.post("Time passed.")
    await inkwell.chat.wait_for(PostText)
    await inkwell.idle()
    assert inkwell.chat.of_type(PostIllustrations) == []
    assert engine.generate_calls == []
    [page] = await inkwell.chat.dispatch(StoryRequested(inkwell.chat.channel(), ANA))
    assert page.entries[0].status == "done"
    await inkwell.stop()


@pytest.mark.asyncio
async def test_when_nothing_passes_screening_the_most_drawable_sentence_is_drawn(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    engine.screenings = {
        "Time passed.": Screening(0, False, (0.9, 0.1, 0.0)),
        "The rain on the window.": Screening(1, False, (0.2, 0.5, 0.3)),
    }
    inkwell = await _chat(storage, engine)
    await inkwell.chat.post("Time passed. The rain on the window.")
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [image.caption for image in posted.images] == ["The rain on the window."]
    [note] = [text.text for text in inkwell.chat.of_type(PostText)]
    assert 'Not drawn: "Time passed."' in note
    assert 'Drawn: "The rain on the window." (no sentence passed screening' in note
    await inkwell.stop()


@pytest.mark.asyncio
async def test_chat_labels_markup_and_foreign_words_are_cleaned_before_screening(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    inkwell = await _chat(storage, engine)
    await inkwell.chat.post(
        "Paragraph 0: a red boat on the grey sea. Tom: **The 骑士 rides past the القلعة.**"
    )
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert engine.screen_calls[0] == [
        "a red boat on the grey sea.",
        "The thing rides past the thing.",
    ]
    captions = [image.caption for image in posted.images]
    assert captions == ["a red boat on the grey sea.", "The 骑士 rides past the القلعة."]
    await inkwell.stop()


@pytest.mark.asyncio
async def test_clauses_whose_similar_pictures_agree_are_illustrated_from_the_first_drawing(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    pytest.importorskip("spacy")  # story.parser: clauses by the parse
    engine.similarities = {KITE_PIER: [0.9, 0.5, 0.3]}
    inkwell = await _chat(storage, engine, thr_1=0.1, thr_2=1e9)
    await inkwell.chat.post(KITE_PIER)
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert len(engine.generate_calls) == 1, "no second drawing"
    assert engine.screen_calls == [[KITE_PIER, *KITE_PIER_CLAUSES]], "every clause is screened"
    assert [image.caption for image in posted.images] == KITE_PIER_CLAUSES
    drawn = await _provenance(storage, posted.paragraph_id)
    assert [d["branch"] for d in drawn] == ["clause: similar picture"] * 2
    assert [d["candidate_index"] for d in drawn] == [0, 0]
    await inkwell.stop()


@pytest.mark.asyncio
async def test_clauses_whose_pictures_differ_too_much_are_drawn_as_prompts_of_their_own(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    pytest.importorskip("spacy")  # story.parser: clauses by the parse
    engine.similarities = {KITE_PIER: [0.9, 0.5, 0.3]}
    inkwell = await _chat(storage, engine, thr_1=0.1, thr_2=0.0)
    await inkwell.chat.post(KITE_PIER)
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [[r.prompt for r in call] for call in engine.generate_calls] == [
        [KITE_PIER],
        KITE_PIER_CLAUSES,
    ]
    first = engine.generate_calls[1][0]
    assert first.seeds != engine.generate_calls[0][0].seeds, "clauses get seeds of their own"
    drawn = await _provenance(storage, posted.paragraph_id)
    assert [d["branch"] for d in drawn] == ["clause: drawn anew"] * 2
    assert [d["text"] for d in drawn] == KITE_PIER_CLAUSES
    await inkwell.stop()


@pytest.mark.asyncio
async def test_clauses_that_are_not_drawable_are_left_out(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    pytest.importorskip("spacy")  # story.parser: clauses by the parse
    sentence = "A red kite flies over the bay, and a sense of dread grows."
    engine.similarities = {sentence: [0.9, 0.5, 0.3]}
    engine.screenings = {"a sense of dread grows": Screening(1, False)}
    inkwell = await _chat(storage, engine, thr_1=0.1, thr_2=1e9)
    await inkwell.chat.post(sentence)
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [image.caption for image in posted.images] == ["A red kite flies over the bay"]
    await inkwell.stop()


@pytest.mark.asyncio
async def test_an_appositive_keeps_the_sentence_whole(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    pytest.importorskip("spacy")  # story.parser: clauses by the parse
    sentence = "The baker's son, Tom, lived above the shop at the end of the market street."
    inkwell = await _chat(storage, engine, thr_1=0.1, thr_2=0.0)
    await inkwell.chat.post(sentence)
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [image.caption for image in posted.images] == [sentence]
    assert [[r.prompt for r in call] for call in engine.generate_calls] == [[sentence]]
    await inkwell.stop()


@pytest.mark.asyncio
async def test_without_the_parser_clauses_are_cut_at_commas(
    storage: SQLiteStorage, engine: ScriptedEngine
) -> None:
    engine.similarities = {"A red kite, the old pier.": [0.9, 0.5, 0.3]}
    inkwell = await _chat(storage, engine, thr_1=0.1, thr_2=1e9, parser="")
    await inkwell.chat.post("A red kite, the old pier.")
    [posted] = await inkwell.chat.wait_for(PostIllustrations)
    await inkwell.idle()
    assert [image.caption for image in posted.images] == ["A red kite", "the old pier."]
    await inkwell.stop()
