"""The story room's cast panel over real HTTP and websockets: describe, pronoun, reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.adapters.test_web_style import join, picture, site  # noqa: F401  (fixture)
from tests.fakes.engine import DIM


def vec(*values: float) -> np.ndarray:
    vector = np.zeros(DIM, dtype=np.float32)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


@pytest.mark.asyncio
async def test_the_cast_is_described_given_a_pronoun_and_a_reference_picture(
    site: Any,  # noqa: F811
) -> None:
    base, session, engine = site
    engine.text_features = {"fox": vec(1, 0.2)}
    ana = await join(session, base, "Ana")
    await ana.send({"type": "paragraph", "text": "The fox sleeps.", "client_id": "p1"})
    await ana.expect("illustrations")

    await ana.send({"type": "library"})
    shown = await ana.expect("library")
    [fox] = shown["elements"]
    assert fox["name"] == "fox" and fox["description"] == "" and len(fox["references"]) == 1
    assert fox["thumbnail"] == fox["references"][0], "its own crop"
    async with session.get(base + fox["thumbnail"]) as crop:
        assert crop.status == 200 and (await crop.read()).startswith(b"\x89PNG")

    bo = await join(session, base, "Bo")
    await ana.send({"type": "describe", "name": "fox", "description": "red, with a hat"})
    described = await bo.expect("library", message="fox is now drawn as: red, with a hat.")
    assert described["elements"][0]["description"] == "red, with a hat"
    await ana.send({"type": "pronoun", "name": "fox", "pronoun": "she"})
    told = await ana.expect("library", message="She now refers to 'fox'.")
    assert told["elements"][0]["pronoun"] == "she"
    await ana.send({"type": "describe", "name": "fox"})
    assert "Describe it how?" in (await ana.expect("error"))["message"]

    url = f"{base}/api/rooms/Harbor/cast/fox/reference?author=Bo"
    async with session.post(url, data=picture(), headers={"Content-Type": "image/png"}) as reply:
        assert reply.status == 200
        answer = await reply.json()
    assert "Bo gave 'fox' a reference picture" in answer["message"]
    [fox] = answer["elements"]
    assert fox["pinned"] and len(fox["references"]) == 2
    assert fox["thumbnail"] == fox["references"][-1]
    await ana.expect("library", message=answer["message"])
    bad = f"{base}/api/rooms/Harbor/cast/fox/reference"
    async with session.post(bad, data=b"nope", headers={"Content-Type": "image/png"}) as reply:
        assert reply.status == 400 and "isn't a picture" in (await reply.json())["error"]
    nobody = f"{base}/api/rooms/Harbor/cast/dragon/reference"
    async with session.post(nobody, data=picture(), headers={"Content-Type": "image/png"}) as r:
        assert r.status == 400 and "no element called 'dragon'" in (await r.json())["error"]

    await ana.send({"type": "paragraph", "text": "The fox wakes.", "client_id": "p2"})
    await ana.expect("illustrations")
    assert engine.generate_calls[-1][0].prompt == "The red fox with a hat wakes."


@pytest.mark.asyncio
async def test_the_cast_panel_sets_how_strongly_looks_steer_drawing(
    site: Any,  # noqa: F811
) -> None:
    base, session, engine = site
    engine.text_features = {"fox": vec(1, 0.2)}
    ana = await join(session, base, "Ana")
    await ana.send({"type": "paragraph", "text": "The fox sleeps.", "client_id": "p1"})
    await ana.expect("illustrations")
    await ana.send({"type": "library"})
    assert (await ana.expect("library"))["look_strength"] == 0.6
    bo = await join(session, base, "Bo")
    await ana.send({"type": "looks", "strength": 1.4})
    shown = await bo.expect("library")
    assert shown["look_strength"] == 1.4 and "set the cast's looks to 1.4" in shown["message"]
    await ana.send({"type": "paragraph", "text": "The fox runs.", "client_id": "p2"})
    await ana.expect("illustrations")
    [request] = engine.generate_calls[-1]
    assert [look.element for look in request.looks] == ["fox"] and request.look_strength == 1.4
    await ana.send({"type": "looks", "strength": 3})
    assert "from 0 (off) to 2" in (await ana.expect("error"))["message"]
