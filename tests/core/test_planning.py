"""The planner runs seed 000's branch table to any depth, with scripted clauses and features."""

from __future__ import annotations

import numpy as np
import pytest

from core.engine import GeneratedImage, GenerationRequest, Screening
from core.story.branches import ACTION_ONLY
from core.story.planning import ParagraphPlanner, Prompt
from core.story.reader import StoryReader
from core.story.settings import StorySettings
from tests.fakes.engine import DIM, ScriptedEngine

ACTION, PARTLY = Screening(2, True), Screening(1, False)


class ScriptedReader(StoryReader):
    """Clauses and nouns as a test says; a text not named has one clause, and itself as noun."""

    def __init__(self, clauses: dict[str, list[str]], nouns: dict[str, list[str]] | None = None):
        super().__init__(None)
        self._clauses, self._nouns = clauses, nouns or {}

    def clauses(self, text: str) -> list[str]:
        return self._clauses.get(text, [text])

    def nouns(self, text: str) -> list[str]:
        return self._nouns.get(text, [text])


def unit(index: int) -> np.ndarray:
    return np.eye(DIM, dtype=np.float32)[index]


async def run(
    engine: ScriptedEngine, reader: StoryReader, sentences: list[str], **settings
) -> tuple[list[Prompt], list[list[tuple[str, int, str]]]]:
    planner = ParagraphPlanner(engine, StorySettings(candidates=3, **settings), reader)
    plans, screenings = await planner.plan(sentences)
    calls: list[list[tuple[str, int, str]]] = []

    async def draw(items: list[tuple[str, int, str]]) -> list[list[GeneratedImage]]:
        calls.append(items)
        seeds = [tuple(hash((text, key, n)) & 0xFFFF for n in range(3)) for text, _, key in items]
        return await engine.generate(
            [GenerationRequest(text, s) for (text, _, _), s in zip(items, seeds, strict=True)]
        )

    return await planner.prompts(plans, screenings, draw), calls


# S splits into A and B; A into A1 and A2; A1 into A1x and A1y (each shorter than its text).
S, A, B, A1, A2, A1X, A1Y = (
    "the whole sentence",
    "clause a",
    "clause b",
    "part a1",
    "part a2",
    "bit x",
    "bit y",
)
DEEP = {S: [A, B], A: [A1, A2], A1: [A1X, A1Y]}


@pytest.mark.asyncio
async def test_clauses_run_the_table_again_to_any_depth(engine: ScriptedEngine) -> None:
    # thr_2 = 0: every set of similar pictures differs "too much", so every clause runs again.
    prompts, calls = await run(engine, ScriptedReader(DEEP), [S], thr_1=-1.0, thr_2=0.0)
    assert [[text for text, _, _ in call] for call in calls] == [
        [S],
        [A, B],
        [A1, A2],
        [A1X, A1Y],
    ]
    assert [key for call in calls[1:] for _, _, key in call] == [
        A, B, A1, A2, A1X, A1Y
    ], "a clause's seeds are its own"  # fmt: skip
    assert engine.screen_calls == [[S, A, B], [A1, A2], [A1X, A1Y]]
    assert [(p.text, p.branch) for p in prompts] == [
        (A1X, "clause (depth 3): drawn anew"),
        (A1Y, "clause (depth 3): drawn anew"),
        (A2, "clause (depth 2): drawn anew"),
        (B, "clause: drawn anew"),
    ]


@pytest.mark.asyncio
async def test_each_clause_is_screened_again_index_and_type(engine: ScriptedEngine) -> None:
    engine.screenings = {A1: ACTION, A1X: PARTLY}
    prompts, calls = await run(engine, ScriptedReader(DEEP), [S], thr_1=-1.0, thr_2=0.0)
    assert [text for text, _, _ in calls[2]] == [A2], "the action clause is not drawn"
    assert [p.text for p in prompts] == [A2, B]


@pytest.mark.asyncio
async def test_a_split_clause_with_no_drawable_clause_is_drawn_whole(
    engine: ScriptedEngine,
) -> None:
    engine.screenings = {A1: ACTION, A2: PARTLY}
    prompts, calls = await run(engine, ScriptedReader(DEEP), [S], thr_1=-1.0, thr_2=0.0)
    assert len(calls) == 2
    assert [(p.text, p.branch) for p in prompts] == [
        (A, "clause: drawn anew"),
        (B, "clause: drawn anew"),
    ]


@pytest.mark.asyncio
async def test_a_split_sentence_that_is_an_action_is_not_drawn(engine: ScriptedEngine) -> None:
    engine.screenings = {S: ACTION}
    planner = ParagraphPlanner(engine, StorySettings(), ScriptedReader(DEEP))
    plans, _ = await planner.plan([S, "another"])
    assert not plans[0].drawn and plans[0].skip_reason == ACTION_ONLY
    assert plans[1].drawn and plans[1].clauses == ()


KITE, PIER = "a kite flies", "the pier stands"
BOTH = f"{KITE} and {PIER}"


def kite_and_pier(engine: ScriptedEngine, pier_noun: np.ndarray) -> ScriptedReader:
    """Picture 0 shows the pier, 1 the kite, 2 neither; the clause texts as a whole would
    all match picture 2 (the scripted engine's default text feature is unit(0))."""
    engine.text_features = {"kite": unit(1), "pier": pier_noun}
    for candidate, feature in enumerate([unit(2), unit(1), unit(0)]):
        engine.image_features[(BOTH, candidate)] = feature
    return ScriptedReader({BOTH: [KITE, PIER]}, {KITE: ["kite"], PIER: ["pier"]})


@pytest.mark.asyncio
async def test_clause_similarity_is_measured_on_the_clause_nouns(engine: ScriptedEngine) -> None:
    reader = kite_and_pier(engine, unit(2))
    prompts, calls = await run(engine, reader, [BOTH], thr_1=0.5, thr_2=1e9)
    assert len(calls) == 1
    assert [(p.text, p.forced, p.branch) for p in prompts] == [
        (KITE, 1, "clause: similar picture"),
        (PIER, 0, "clause: similar picture"),
    ]


@pytest.mark.asyncio
async def test_a_clause_without_a_similar_picture_is_drawn_alone(engine: ScriptedEngine) -> None:
    reader = kite_and_pier(engine, unit(5))  # the pier is in none of the pictures
    prompts, calls = await run(engine, reader, [BOTH], thr_1=0.5, thr_2=1e9)
    assert [[text for text, _, _ in call] for call in calls] == [[BOTH], [PIER]]
    assert [(p.text, p.forced, p.branch) for p in prompts] == [
        (KITE, 1, "clause: similar picture"),
        (PIER, None, "clause: drawn anew"),
    ]


@pytest.mark.asyncio
@pytest.mark.parametrize(("mode", "again"), [("variance", True), ("pairwise", False)])
async def test_the_difference_mode_decides(engine: ScriptedEngine, mode: str, again: bool) -> None:
    # The scripted pictures are flat colours: their rows differ from picture to picture
    # (variance > 0) but each picture's rows are alike (pairwise: every variance is 0).
    reader = kite_and_pier(engine, unit(2))
    prompts, calls = await run(engine, reader, [BOTH], thr_1=0.5, thr_2=1e-3, difference_mode=mode)
    assert len(calls) == (2 if again else 1)
    assert all((p.forced is None) == again for p in prompts)
