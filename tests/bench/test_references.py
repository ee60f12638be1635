"""The quality benchmark's "+ references" rows: each recurring element of a story is entered
in the cast with a render of it from the world, pinned, before the story is told."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.quality import ablation_variants
from bench.references import give_references, reference_png, reference_thing
from picturebook import oracle
from picturebook.stories import STORIES
from storage.sqlite import SQLiteStorage
from tests.fakes.engine import ScriptedEngine


def story(title: str):  # -> Story
    return next(s for s in STORIES if s.title == title)


def test_a_reference_is_the_element_as_the_story_states_it() -> None:
    import random

    fox = reference_thing(story("the red fox"), "fox", random.Random(0))
    assert (fox.kind, fox.colour, fox.hat) == ("fox", "red", False)
    witch = reference_thing(story("the witch's lantern"), "witch", random.Random(0))
    assert witch.hat, "the story says she wears a hat"


def test_the_oracle_reads_the_reference_as_the_element() -> None:
    import random

    model = oracle.load(oracle.WEIGHTS)
    thing = reference_thing(story("the red fox"), "fox", random.Random(0))
    picture = Image.open(io.BytesIO(reference_png(thing))).convert("RGB").resize((64, 64))
    [seen] = oracle.read_many([picture], model)
    read = seen.thing("fox")
    assert read is not None and read.colour == "red"


@pytest.mark.asyncio
async def test_recurring_elements_enter_the_cast_pinned_with_their_reference(
    tmp_path: Path,
) -> None:
    storage = await SQLiteStorage.open(tmp_path / "q.sqlite3", tmp_path / "img")
    try:
        tale = story("the old man's cup")
        names = await give_references(storage, ScriptedEngine(), "fake:story-x", tale)
        assert sorted(names) == sorted(kind.split()[-1] for kind in tale.recurring())
        cast = {e.name: e for e in await storage.elements.list("fake:story-x")}
        man = cast["man"]
        assert man.pinned and man.aliases == ("old man",) and man.kind == "character"
        assert man.description == "green"
        [reference] = man.references
        assert reference.illustration_id is None
        assert np.allclose(reference.feature, man.look)
        assert await storage.images.get(reference.image_id) is not None
    finally:
        await storage.close()


def test_the_ablation_ends_with_references_then_image_prompt_looks() -> None:
    variants = ablation_variants(0.85, 1.0)
    assert [v.label for v in variants][-2:] == ["+ references", "+ image-prompt looks"]
    assert all(v.cast.look_strength == 0 for v in variants[:-1])
    assert variants[-1].cast.look_strength == 1.0 and variants[-1].references
    assert [v.references for v in variants[:-2]] == [False] * 4


def test_bench_looks_runs_the_whole_path_on_tiny(capsys: pytest.CaptureFixture[str]) -> None:
    from bench import looks

    assert looks.main(["--profile", "tiny", "--count", "2"]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    fields = dict(field.split("=") for field in last.removeprefix("looks: ").split())
    assert fields["method"] == "ip-adapter_(random_test_weights)"
    assert set(fields) == {"method", "present_bare", "present_looks", "colour_bare", "colour_looks"}
