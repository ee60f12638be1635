"""Image bytes in GridFS, so every bot process sees every picture."""

from __future__ import annotations

import re
import uuid
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile

_IMAGE_ID = re.compile(r"^[0-9a-f]{32}$")


class GridFSImageStore:
    def __init__(self, db: Any) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name="images")

    async def put(self, png: bytes) -> str:
        image_id = uuid.uuid4().hex
        await self._bucket.upload_from_stream_with_id(image_id, f"{image_id}.png", png)
        return image_id

    async def get(self, image_id: str) -> bytes | None:
        if not _IMAGE_ID.match(image_id):
            return None
        try:
            stream = await self._bucket.open_download_stream(image_id)
        except NoFile:
            return None
        return await stream.read()

    async def delete(self, image_id: str) -> None:
        if _IMAGE_ID.match(image_id):
            try:
                await self._bucket.delete(image_id)
            except NoFile:
                return
