"""The training room's HTTP routes (seed 002 [0290]-[0353]): controls, samples, feedback, losses.

The session is the engine's (`Engine.open_training_room`: in this process, or in an actor
beside a Ray replica's models); the handlers only translate between JSON and its controls,
and store typed feedback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from core.engine import TrainingBusy, TrainingRoomControls
from core.feedback.capture import TRAINING_ROOM, keep_feedback
from core.feedback.evaluation import classify_feedback
from storage.base import Storage

log = logging.getLogger("inkwell.web")

STATIC_DIR = Path(__file__).parent / "static"
PAGE = "/training"
MAX_FEEDBACK_CHARS = 500
SAMPLES_SHOWN = 12
_KINDS = ("input", "prediction", "clean")


class TrainingRoom:
    """Mount with `adapter.add_room(room.mount, {TrainingRoom.page})`.

    `make_session` opens the engine's TrainingRoomControls on the first request that needs
    them, so a bot whose training room is never opened never loads a second copy of the
    models.
    """

    page = PAGE

    def __init__(
        self,
        storage: Storage,
        make_session: Callable[[], Awaitable[TrainingRoomControls]],
        profile: str,
    ) -> None:
        self._storage = storage
        self._make_session = make_session
        self._session: TrainingRoomControls | None = None
        self._creating = asyncio.Lock()  # two first requests must not build two sessions
        self._profile = profile
        self._restorer_state: Callable[[], str] = lambda: "unknown"

    def watch_restorer(self, state: Callable[[], str]) -> None:
        """Where the page reads whether the engine's restorer is trained."""
        self._restorer_state = state

    def mount(self, app: web.Application) -> None:
        app.router.add_get(PAGE, self._page)
        app.router.add_get("/api/training", self._state)
        app.router.add_post("/api/training/start", self._start)
        app.router.add_post("/api/training/stop", self._stop)
        app.router.add_get("/api/training/samples", self._samples)
        app.router.add_get("/api/training/samples/{sample}/{kind}.png", self._picture)
        app.router.add_post("/api/training/samples/{sample}/feedback", self._feedback)

    async def session(self) -> TrainingRoomControls:
        async with self._creating:
            if self._session is None:
                self._session = await self._make_session()
        return self._session

    async def close(self) -> None:
        """Stop the session's stage and release it, if it was opened."""
        async with self._creating:
            session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "training.html")

    async def _state(self, request: web.Request) -> web.StreamResponse:
        snapshot = await (await self.session()).snapshot()
        snapshot["profile"] = self._profile
        snapshot["restorer"] = self._restorer_state()
        return web.json_response(snapshot)

    async def _start(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        session = await self.session()
        try:
            await session.start(str(body.get("stage", "")))
        except ValueError as error:
            return _error(str(error), 400)
        except TrainingBusy as error:
            return _error(str(error), 409)
        return web.json_response(await session.snapshot())

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        session = await self.session()
        stopping = await session.stop()
        return web.json_response({"stopping": stopping, **(await session.snapshot())})

    async def _samples(self, request: web.Request) -> web.StreamResponse:
        samples = await (await self.session()).samples()
        return web.json_response({"samples": samples[:SAMPLES_SHOWN]})

    async def _picture(self, request: web.Request) -> web.StreamResponse:
        kind = request.match_info["kind"]
        if kind not in _KINDS:
            return _error("No such picture.", 404)
        session = await self.session()
        sample = request.match_info["sample"]
        png = await session.picture(sample, kind)
        if png is None:
            return _error("That sample doesn't exist.", 404)
        return web.Response(
            body=png, content_type="image/png", headers={"Cache-Control": "no-store"}
        )

    async def _feedback(self, request: web.Request) -> web.StreamResponse:
        body = await _json(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error("Type what you see in the picture, e.g. “her face is not clear”.", 400)
        if len(text) > MAX_FEEDBACK_CHARS:
            return _error(f"Keep feedback under {MAX_FEEDBACK_CHARS} characters.", 400)
        author = body.get("author") if isinstance(body.get("author"), str) else ""
        session = await self.session()
        sample = request.match_info["sample"]
        bound = await session.add_feedback(sample, text.strip())
        if bound is None:
            return _error("That sample doesn't exist.", 404)
        target, shown = bound
        image_id = await self._storage.images.put(shown)
        record = await keep_feedback(
            self._storage, TRAINING_ROOM, f"web:{author or 'trainer'}", text.strip(), image_id
        )
        feedback = classify_feedback(text)
        return web.json_response(
            {
                "sample": sample,
                "feedback_id": record.id,
                "image_id": image_id,
                "label": feedback.label,
                "positive": feedback.positive,
                "opposite": feedback.opposite,
                "target": target,
            }
        )


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error(message: str, status: int) -> web.StreamResponse:
    return web.json_response({"error": message}, status=status)
