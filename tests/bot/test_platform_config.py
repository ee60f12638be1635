"""The [discord] and [slack] sections: secrets from the environment, clear errors when missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.platforms import chat_adapters
from core.health import Health


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_platforms_are_off_by_default_and_take_secrets_only_from_the_environment(
    tmp_path: Path,
) -> None:
    config = load_config(None, environ={})
    assert not config.discord.enabled and not config.slack.enabled
    assert chat_adapters(config, None) == []
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        load_config(_config(tmp_path, '[discord]\ntoken = "abc"\n'), environ={})


def test_enabled_platforms_name_the_missing_variables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="set the DISCORD_TOKEN"):
        load_config(_config(tmp_path, "[discord]\nenabled = true\n"), environ={})
    slack = _config(tmp_path, "[slack]\nenabled = true\n")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"):
        load_config(slack, environ={})
    socket = _config(tmp_path, '[slack]\nenabled = true\nmode = "socket"\n')
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        load_config(socket, environ={"SLACK_BOT_TOKEN": "xoxb-1"})
    with pytest.raises(ConfigError, match="http or socket"):
        load_config(_config(tmp_path, '[slack]\nmode = "webhook"\n'), environ={})
    no_web = _config(tmp_path, "[web]\nenabled = false\n[slack]\nenabled = true\n")
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    with pytest.raises(ConfigError, match=r"web\.enabled"):
        load_config(no_web, environ=env)


def test_enabled_platforms_become_adapters(tmp_path: Path) -> None:
    from adapters.web.adapter import WebAdapter

    path = _config(tmp_path, "[discord]\nenabled = true\n[slack]\nenabled = true\n")
    env = {"DISCORD_TOKEN": "d", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    config = load_config(path, environ=env)
    assert (config.discord.token, config.slack.signing_secret) == ("d", "s")

    async def no_image(image_id: str) -> None:
        return None

    web = WebAdapter("127.0.0.1", 0, "", no_image, "tiny", health=not_checked)
    adapters = chat_adapters(config, web)
    assert [a.name for a in adapters] == ["discord", "slack"]
    assert all(a.capabilities.opt_in for a in adapters)
    assert "/slack/events" in {r.resource.canonical for r in web.app.router.routes()}


async def not_checked() -> Health:
    raise AssertionError("this test never asks /health")
