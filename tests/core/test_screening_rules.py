"""Seed 000's screening data: conformity and index rules, the TSV, the split, CLIP labelling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.story.screening import (
    UNLABELLED,
    ScreeningDataError,
    ScreeningExample,
    generability_index,
    held_out_split,
    image_conforms,
    majority_accuracy,
    read_examples,
    write_examples,
)
from core.story.screening_labels import conforming_images, elements_to_find, label_texts
from tests.fakes.engine import DIM, ScriptedEngine

DATASET = Path(__file__).resolve().parents[2] / "training" / "datasets" / "screening.tsv"


def test_up_to_five_elements_all_must_appear() -> None:
    assert image_conforms([True] * 5)
    assert not image_conforms([True, True, True, True, False])
    assert image_conforms([True])
    assert not image_conforms([])


def test_more_than_five_elements_ninety_percent_suffice() -> None:
    # The seed's example [0240]: seven elements, six of them are enough.
    assert image_conforms([True] * 6 + [False])
    assert not image_conforms([True] * 5 + [False] * 2)
    assert image_conforms([True] * 9 + [False])
    assert not image_conforms([True] * 8 + [False] * 2)


@pytest.mark.parametrize(("conforming", "index"), [(0, 0), (1, 1), (2, 1), (3, 2), (10, 2)])
def test_index_from_conforming_images(conforming: int, index: int) -> None:
    assert generability_index(conforming) == index


def test_shipped_dataset_parses_with_valid_labels() -> None:
    examples = read_examples(DATASET)
    assert len(examples) >= 300
    assert {e.generability for e in examples} == {0, 1, 2}
    assert {e.verb_included for e in examples} == {0, 1}
    assert len({e.genre for e in examples}) >= 6
    chinese = [e for e in examples if any("\u4e00" <= ch <= "\u9fff" for ch in e.text)]
    assert len(chinese) >= 0.08 * len(examples)
    assert len({e.text for e in examples}) == len(examples)


def test_tsv_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "labels.tsv"
    rows = [
        ScreeningExample('A "red" door\tin the wall', 2, UNLABELLED, "mystery"),
        ScreeningExample("Time passed.", 0, 0, ""),
    ]
    write_examples(path, rows)
    back = read_examples(path, require_type=False)
    assert back[0] == ScreeningExample('A "red" door in the wall', 2, UNLABELLED, "mystery")
    assert back[1] == rows[1]
    with pytest.raises(ScreeningDataError, match=":2: labels out of range"):
        read_examples(path)  # -1 is only accepted when asked for
    path.write_text("text\tgenerability\tverb_included\nA cat.\t3\t0\n")
    with pytest.raises(ScreeningDataError, match="out of range"):
        read_examples(path)
    path.write_text("sentence\tlabel\n")
    with pytest.raises(ScreeningDataError, match="header"):
        read_examples(path)


def test_split_is_fixed_and_disjoint() -> None:
    train, test = held_out_split(100, 0.2, seed=0)
    assert len(test) == 20 and len(train) == 80
    assert set(train).isdisjoint(test) and set(train) | set(test) == set(range(100))
    assert held_out_split(100, 0.2, seed=0) == (train, test)
    assert held_out_split(100, 0.2, seed=1) != (train, test)


def test_majority_baseline() -> None:
    assert majority_accuracy([0, 2, 2], [2, 2, 1, 0]) == 0.5


def _unit(*values: float) -> np.ndarray:
    row = np.zeros(DIM, np.float32)
    row[: len(values)] = values
    return row / np.linalg.norm(row)


def test_conformity_with_clip_features_uses_the_ninety_percent_rule() -> None:
    elements = np.eye(7, DIM, dtype=np.float32)  # seven orthogonal element features
    shows_six = _unit(1, 1, 1, 1, 1, 1, 0)  # cosine 0.41 with six elements, 0 with the last
    shows_five = _unit(1, 1, 1, 1, 1, 0, 0)
    images = np.stack([shows_six, shows_five, shows_six])
    assert conforming_images(elements, images, presence_threshold=0.3) == 2
    # With five elements, missing one is already too many.
    assert conforming_images(elements[:5], np.stack([_unit(1, 1, 1, 1, 0)]), 0.3) == 0


def test_text_without_nouns_is_judged_as_a_whole() -> None:
    assert elements_to_find("A fox sat by the river.") == ["fox", "river"]
    assert elements_to_find("it was over") == ["it was over"]


@pytest.mark.asyncio
async def test_label_texts_draws_ten_images_and_counts_conforming() -> None:
    # The scripted engine's candidate j has cosine similarities[prompt][j] with every text.
    engine = ScriptedEngine(
        {
            "A fox sat by the river.": [0.5, 0.5, 0.5] + [0.0] * 7,
            "The owl slept.": [0.0] * 9 + [0.4],
            "Nothing was left.": [0.1] * 10,
        }
    )
    texts = ["A fox sat by the river.", "The owl slept.", "Nothing was left."]
    labelled = await label_texts(engine, texts, presence_threshold=0.2, batch=2)
    assert [item.conforming for item in labelled] == [3, 1, 0]
    assert [item.generability for item in labelled] == [2, 1, 0]
    assert [len(call) for call in engine.generate_calls] == [2, 1]
    assert all(r.seeds == tuple(range(10)) for call in engine.generate_calls for r in call)
    assert labelled[0].example("fable") == ScreeningExample(texts[0], 2, UNLABELLED, "fable")
