"""Adapter training as engine-side work on Ray: a genre adapter and an edit model train on a
replica's node, land in the replicas' adapters folder, and the replicas draw with them."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.engine import (
    AdapterStep,
    AdapterTrainingRequest,
    EditRequest,
    GenerationRequest,
)
from engine.ray_engine import RayEngine

pytestmark = [pytest.mark.ray, pytest.mark.asyncio]


def png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), colour, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def adapters(ray_models_dir: Path) -> Iterator[Path]:
    """The replicas' adapters folder, removed afterwards so other tests see none trained."""
    folder = ray_models_dir / "adapters"
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


async def test_a_genre_and_an_edit_model_train_on_a_replica_which_then_uses_them(
    ray_app: str, adapters: Path
) -> None:
    engine = await RayEngine.connect(ray_app)
    steps: list[AdapterStep] = []
    genre = AdapterTrainingRequest(
        kind="genre",
        name="ember",
        phrase="ember style",
        pictures=((png((200, 40, 40)), "a fox"), (png((220, 60, 40)), "")),
        steps=2,
        batch_size=2,
    )
    result = await engine.train_adapter(genre, steps.append)
    assert [s.step for s in steps] == [1, 2]
    assert Path(result.directory) == adapters / "tiny" / "genre" / "ember"
    edits = AdapterTrainingRequest(
        kind="edit-model",
        name="pairs",
        pairs=((png((200, 40, 40)), png((40, 40, 200)), "make it blue"),),
        steps=2,
        batch_size=1,
    )
    await engine.train_adapter(edits)
    listed = {(a.kind, a.name) for a in await engine.adapters()}
    assert listed == {("genre", "ember"), ("edit-model", "pairs")}

    [[drawn]] = await engine.generate([GenerationRequest("a fox", (3,), genre="ember")])
    assert drawn.provenance.genre == "ember"
    request = EditRequest(
        kind="attribute",
        image=drawn.png,
        provenance=drawn.provenance,
        prompt="a blue fox",
        attribute="blue",
        attribute_word="fox",
        edit_model="pairs",
        instruction="make the fox blue",
    )
    [edited] = await engine.edit([request])
    assert (edited.provenance.edit or {})["method"] == "edit model pairs"
