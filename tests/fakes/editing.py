"""The scripted engine plus edits, for core and adapter tests that need an edit drawn."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from core.engine import CancelToken, EditRequest, GeneratedImage, ProgressCallback, Provenance
from tests.fakes.engine import DIM, ScriptedEngine


def luminance(png: bytes) -> float:
    with Image.open(io.BytesIO(png)) as image:
        return float(np.asarray(image.convert("L"), np.float32).mean())


class EditingEngine(ScriptedEngine):
    """The scripted engine plus edits: the parent picture, its brightness scaled by the tone."""

    def __init__(self) -> None:
        super().__init__()
        self.edits: list[EditRequest] = []

    async def edit(
        self,
        requests: Sequence[EditRequest],
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> list[GeneratedImage]:
        results = []
        for request in requests:
            self.edits.append(request)
            with Image.open(io.BytesIO(request.image)) as parent:
                pixels = np.asarray(parent.convert("RGB"), np.float32)
            factor = request.tone.brightness if request.tone else 1.0
            # A marker pixel per edit, so every version is a distinct picture.
            pixels[0, 0] = (len(self.edits) * 37) % 256
            edited = np.clip(pixels * factor, 0, 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(edited).save(buffer, format="PNG")
            png = buffer.getvalue()
            feature = np.zeros(DIM, np.float32)
            feature[0] = 1.0
            self._features[png] = feature
            provenance = Provenance(
                **{**request.provenance.to_dict(), "prompt": request.prompt, "edit_chain": ()}
            )
            results.append(GeneratedImage(png, provenance))
        return results
