"""Builds the Discord and Slack adapters the config enables (imported only when enabled)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import Config
from core.adapter import Adapter, ImageLoader

if TYPE_CHECKING:
    from adapters.web.adapter import WebAdapter


def chat_adapters(
    config: Config, web: WebAdapter | None, load_image: ImageLoader | None = None
) -> list[Adapter]:
    """Enabled chat adapters; Slack's HTTP mode is mounted on the web room's server.

    `load_image` reads stored pictures, so `/inkwell style show` can post the reference."""
    adapters: list[Adapter] = []
    if config.discord.enabled:
        from adapters.discord.adapter import DiscordAdapter

        discord = config.discord
        adapters.append(
            DiscordAdapter(
                discord.token,
                api_base=discord.api_base,
                max_attachment_bytes=discord.max_attachment_bytes,
                status_interval_s=discord.status_interval_s,
                sync_commands=discord.sync_commands,
                load_image=load_image,
            )
        )
    if config.slack.enabled:
        from adapters.slack.adapter import EVENTS_PATH, SlackAdapter

        slack = config.slack
        adapter = SlackAdapter(
            slack.bot_token,
            slack.signing_secret,
            app_token=slack.app_token if slack.mode == "socket" else "",
            api_base=slack.api_base,
            max_attachment_bytes=slack.max_attachment_bytes,
            status_interval_s=slack.status_interval_s,
            load_image=load_image,
        )
        if slack.mode == "http":
            assert web is not None, "config checks require the web server for Slack's HTTP mode"
            web.add_signed_route(EVENTS_PATH, adapter.handle_http)
        adapters.append(adapter)
    return adapters
