"""The README's configuration table and config.toml agree with the settings dataclasses."""

from __future__ import annotations

import re
import tomllib
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from bot.config import Config, load_config

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<key>[a-z0-9_.]+)` \| `(?P<default>[^`]*)` \| (?P<meaning>.*) \|$")


def settings_of(section: Any, prefix: str) -> dict[str, tuple[Any, str]]:
    """Every key a config file may set below `prefix`, with its default and its doc."""
    found: dict[str, tuple[Any, str]] = {}
    for spec in fields(section):
        if spec.metadata.get("secret"):
            continue  # from the environment only; the README's second table lists those
        value = getattr(section, spec.name)
        key = f"{prefix}{spec.name}"
        if is_dataclass(value):
            found.update(settings_of(value, f"{key}."))
        else:
            found[key] = (value, spec.metadata.get("doc", ""))
    return found


def every_setting() -> dict[str, tuple[Any, str]]:
    config = Config()
    found: dict[str, tuple[Any, str]] = {}
    for section in fields(config):
        found.update(settings_of(getattr(config, section.name), f"{section.name}."))
    return found


def readme_table() -> dict[str, str]:
    """`key -> default` of the README's configuration table, as written."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1]
    body = section.split("\n| key | default | meaning |\n| --- | --- | --- |\n", 1)[1]
    rows = body.split("\n\n", 1)[0].splitlines()
    table: dict[str, str] = {}
    for line in rows:
        match = ROW.match(line)
        assert match, f"a configuration row the test can't read: {line}"
        assert match["key"] not in table, f"{match['key']} is in the table twice"
        table[match["key"]] = match["default"]
    return table


def toml_value(text: str) -> Any:
    value = tomllib.loads(f"value = {text}")["value"]
    return tuple(value) if isinstance(value, list) else value


def test_every_setting_is_in_the_readme_table_and_nothing_else_is() -> None:
    settings, table = set(every_setting()), set(readme_table())
    assert sorted(settings - table) == [], "settings missing from the README's table"
    assert sorted(table - settings) == [], "README rows that are no setting"


def test_the_readme_table_gives_each_setting_its_default() -> None:
    settings = every_setting()
    wrong = {}
    for key, written in readme_table().items():
        default = settings[key][0] if key in settings else None
        value = toml_value(written)
        if value != default or type(value) is not type(default):
            wrong[key] = (written, default)
    assert wrong == {}, "README default differs from the dataclass (written, defined)"


def test_every_setting_says_what_it_is_for() -> None:
    assert [key for key, (_, doc) in every_setting().items() if not doc] == []


def test_the_shipped_config_toml_holds_the_defaults() -> None:
    assert load_config(REPO / "config.toml", environ={}) == Config()
