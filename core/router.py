"""Routes inbound events to their handlers, through middleware, turning failures into replies."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from core.events import Action, Event, PostError

log = logging.getLogger("inkwell.router")

Handler = Callable[[Event], Awaitable[list[Action]]]
Middleware = Callable[[Event, Handler], Awaitable[list[Action]]]


def new_reference() -> str:
    """A short id a writer can quote and an operator can grep the logs for."""
    return uuid.uuid4().hex[:10]


class Router:
    def __init__(self) -> None:
        self._handlers: dict[type[Event], Handler] = {}
        self._middleware: list[Middleware] = []

    def on(self, event_type: type[Event], handler: Handler) -> None:
        if event_type in self._handlers:
            raise ValueError(f"{event_type.__name__} already has a handler")
        self._handlers[event_type] = handler

    def use(self, middleware: Middleware) -> None:
        """Middleware runs in registration order, outermost first."""
        self._middleware.append(middleware)

    async def dispatch(self, event: Event) -> list[Action]:
        handler = self._handlers.get(type(event))
        if handler is None:
            log.warning("no handler for %s in %s", type(event).__name__, event.channel.key)
            return [
                PostError(
                    event.channel,
                    message="Inkwell doesn't know how to do that yet.",
                    reference=new_reference(),
                )
            ]
        chain = handler
        for middleware in reversed(self._middleware):
            chain = _wrap(middleware, chain)
        try:
            return await chain(event)
        except Exception:
            reference = new_reference()
            log.exception(
                "handler for %s failed in %s (ref %s)",
                type(event).__name__,
                event.channel.key,
                reference,
            )
            return [
                PostError(
                    event.channel,
                    message="Something went wrong on Inkwell's side. Please try again in a moment.",
                    reference=reference,
                )
            ]


def _wrap(middleware: Middleware, inner: Handler) -> Handler:
    async def call(event: Event) -> list[Action]:
        return await middleware(event, inner)

    return call
