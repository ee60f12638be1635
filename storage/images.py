"""Image bytes kept as files under the data directory, addressed by opaque ids."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path

_IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")


class FileImageStore:
    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, image_id: str) -> Path | None:
        # Ids come back from URLs; only our own hex ids may turn into paths.
        if not _IMAGE_ID.match(image_id):
            return None
        return self._root / image_id[:2] / f"{image_id}.png"

    async def put(self, png: bytes) -> str:
        image_id = uuid.uuid4().hex
        path = self._path(image_id)
        assert path is not None
        await asyncio.to_thread(_write_atomically, path, png)
        return image_id

    async def get(self, image_id: str) -> bytes | None:
        path = self._path(image_id)
        if path is None:
            return None
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, image_id: str) -> None:
        path = self._path(image_id)
        if path is not None:
            await asyncio.to_thread(path.unlink, missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
