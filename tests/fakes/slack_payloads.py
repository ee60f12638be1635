"""Slack request payloads as api.slack.com documents them: events, slash commands, block actions."""

from __future__ import annotations

import time
import uuid
from typing import Any

BOT_TOKEN = "xoxb-fake-bot-token"
APP_TOKEN = "xapp-fake-app-token"
TEAM = "T0STORY"
APP = "A0INKWELL"
BOT_USER = "U0INKWELL"
CHANNEL = "C0STORY"
MANAGER = "U0ANA"  # created the story channel
READER = "U0BO"


def message_event(ts: str, user: str, text: str, channel: str, **extra: Any) -> dict[str, Any]:
    """An Events API `event_callback` carrying a `message` event."""
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM, "user_id": BOT_USER, "is_bot": True}],
    }


def command(port: int, user: str, text: str, channel: str) -> dict[str, str]:
    """The form fields of a `/inkwell` slash command."""
    key = uuid.uuid4().hex
    return {
        "token": "verification-token",
        "team_id": TEAM,
        "team_domain": "storyclub",
        "channel_id": channel,
        "channel_name": "story",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/inkwell",
        "text": text,
        "api_app_id": APP,
        "response_url": f"http://127.0.0.1:{port}/respond/{key}",
        "trigger_id": key,
    }


def block_actions(port: int, ts: str, user: str, message: Any, action_id: str) -> dict[str, Any]:
    """A click on the button `action_id` of a message the bot posted."""
    [value] = [
        element["value"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] == action_id
    ]
    container = {"type": "message", "message_ts": message.ts, "channel_id": message.channel}
    thread = {"thread_ts": message.thread_ts} if message.thread_ts else {}
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP,
        "token": "verification-token",
        "container": {**container, "is_ephemeral": False},
        "trigger_id": uuid.uuid4().hex,
        "team": {"id": TEAM, "domain": "storyclub"},
        "channel": {"id": message.channel, "name": "story"},
        "message": {
            "type": "message",
            "user": BOT_USER,
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
            **thread,
        },
        "response_url": f"http://127.0.0.1:{port}/respond/{uuid.uuid4().hex}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"inkwell-{value}",
                "value": value,
                "type": "button",
                "action_ts": ts,
            }
        ],
    }


def file_object(file_id: str, name: str, mimetype: str, size: int, url: str) -> dict[str, Any]:
    """A shared file as files.info and message events describe it."""
    return {
        "id": file_id,
        "name": name,
        "title": name,
        "mimetype": mimetype,
        "filetype": name.rsplit(".", 1)[-1],
        "size": size,
        "url_private": url,
        "url_private_download": url,
        "user": MANAGER,
        "mode": "hosted",
        "is_external": False,
    }
