"""The edit request event: a writer's reply to a picture, or a button under it."""

from __future__ import annotations

from dataclasses import dataclass

from core.events import Event, MessageRef


@dataclass(frozen=True)
class EditRequested(Event):
    """Change one illustration as `text` says ("I prefer darker", "undo", "show the original").

    The picture is named by `illustration_id` (the web room, buttons) or by `message_id`, the
    platform message the writer replied to; a message with several pictures needs `picture`
    (1-based) or a reply starting with the picture's number ("2: make it darker").
    """

    text: str
    illustration_id: str = ""
    message_id: str = ""
    picture: int | None = None
    message: MessageRef | None = None  # what the new picture answers (the writer's reply)
    request_id: str = ""  # the platform's id of the reply, so a redelivered one is done once
