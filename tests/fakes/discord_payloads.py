"""Discord API objects shaped as discord.com/developers/docs documents them (user, guild, ...)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000
VIEW_SEND = (1 << 10) | (1 << 11)  # VIEW_CHANNEL | SEND_MESSAGES
MANAGE_CHANNELS = 1 << 4
_counter = itertools.count()


def snowflake(at_ms: int | None = None) -> str:
    """A Discord id: milliseconds since the Discord epoch in the top bits, a counter below."""
    ms = int(time.time() * 1000) if at_ms is None else at_ms
    return str(((ms - DISCORD_EPOCH_MS) << 22) | (next(_counter) & 0xFFF))


def iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())


@dataclass(frozen=True)
class FakeUser:
    id: str
    name: str
    permissions: int = VIEW_SEND
    bot: bool = False

    def user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.name.lower(),
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }

    def member(self, with_user: bool) -> dict[str, Any]:
        member: dict[str, Any] = {
            "roles": [],
            "joined_at": iso_now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
        }
        if with_user:
            member["user"] = self.user()
            member["permissions"] = str(self.permissions)
        return member


def application(app_id: str, owner: FakeUser) -> dict[str, Any]:
    return {
        "id": app_id,
        "name": "Inkwell",
        "icon": None,
        "description": "Illustrates stories",
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": owner.user(),
        "verify_key": "0" * 64,
        "flags": 0,
        "team": None,
        "interactions_endpoint_url": None,
    }


def text_channel(channel_id: str, guild_id: str, name: str) -> dict[str, Any]:
    return {
        "id": channel_id,
        "type": 0,
        "guild_id": guild_id,
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": None,
    }


def thread(thread_id: str, guild_id: str, parent_id: str, owner_id: str, name: str) -> dict:
    return {
        "id": thread_id,
        "type": 11,  # PUBLIC_THREAD
        "guild_id": guild_id,
        "parent_id": parent_id,
        "owner_id": owner_id,
        "name": name,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": iso_now(),
            "locked": False,
        },
    }


def guild(guild_id: str, owner_id: str, channels: list[dict], threads: list[dict]) -> dict:
    return {
        "id": guild_id,
        "name": "Story Club",
        "icon": None,
        "owner_id": owner_id,
        "roles": [
            {
                "id": guild_id,  # @everyone shares the guild's id
                "name": "@everyone",
                "permissions": str(VIEW_SEND),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": channels,
        "threads": threads,
        "members": [],
        "member_count": 3,
        "emojis": [],
        "stickers": [],
        "features": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "large": False,
        "unavailable": False,
        "joined_at": iso_now(),
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "system_channel_id": None,
        "verification_level": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
    }


def message(
    message_id: str,
    channel_id: str,
    guild_id: str | None,
    author: FakeUser,
    content: str,
    *,
    mentions: list[FakeUser] = (),  # type: ignore[assignment]
    attachments: list[dict] = (),  # type: ignore[assignment]
    components: list[dict] = (),  # type: ignore[assignment]
    reference: dict | None = None,
    referenced: dict | None = None,
    flags: int = 0,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": message_id,
        "channel_id": channel_id,
        "author": author.user(),
        "content": content,
        "timestamp": iso_now(),
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [user.user() for user in mentions],
        "mention_roles": [],
        "attachments": list(attachments),
        "embeds": [],
        "pinned": False,
        "type": 19 if reference else 0,  # REPLY or DEFAULT
        "flags": flags,
        "components": list(components),
    }
    if guild_id is not None:
        data["guild_id"] = guild_id
        data["member"] = author.member(with_user=False)
    if reference:
        data["message_reference"] = reference
    if referenced is not None:  # Discord includes the replied-to message in MESSAGE_CREATE
        data["referenced_message"] = referenced
    return data


def attachment(filename: str, content_type: str | None, size: int, url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": snowflake(),
        "filename": filename,
        "size": size,
        "url": url,
        "proxy_url": url,
    }
    if content_type is not None:
        data["content_type"] = content_type
    return data


def style_options(
    name: str, *, picture: dict[str, Any] | None = None, strength: float | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The options (and resolved attachments) of `/inkwell style <name>`."""
    arguments: list[dict[str, Any]] = []
    resolved = None
    if picture is not None:  # type 11: ATTACHMENT, its value the attachment's id
        arguments.append({"name": "picture", "type": 11, "value": picture["id"]})
        resolved = {"attachments": {picture["id"]: picture}}
    if strength is not None:  # type 10: NUMBER
        arguments.append({"name": "value", "type": 10, "value": strength})
    sub = {"name": name, "type": 1, "options": arguments}
    return [{"name": "style", "type": 2, "options": [sub]}], resolved  # type 2: SUBCOMMAND_GROUP


def interaction(
    kind: int,
    app_id: str,
    guild_id: str,
    channel: dict[str, Any],
    user: FakeUser,
    data: dict[str, Any],
    *,
    token: str,
    message: dict[str, Any] | None = None,
    created_ms: int | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": snowflake(created_ms),
        "application_id": app_id,
        "type": kind,  # 2: APPLICATION_COMMAND, 3: MESSAGE_COMPONENT
        "token": token,
        "version": 1,
        "guild_id": guild_id,
        "channel_id": channel["id"],
        "channel": channel,
        "member": user.member(with_user=True),
        "app_permissions": str(VIEW_SEND | (1 << 15)),  # ATTACH_FILES too
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": 10 * 1024 * 1024,
        "data": data,
    }
    if message is not None:
        payload["message"] = message
    return payload


@dataclass
class Posted:
    """A message the bot posted, as Discord stores it, with every edit it received."""

    data: dict[str, Any]
    files: list[tuple[str, bytes]]
    edits: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    via: str = "channel"  # "channel", "response", "original" (a resolved defer) or "followup"
    token: str | None = None  # the interaction a follow-up answered
    allowed_mentions: dict[str, Any] | None = None  # as the request asked (None: not given)

    @property
    def content(self) -> str:
        return self.data.get("content") or ""

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for row in self.data["components"] for c in row["components"]]
