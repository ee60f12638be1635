"""The `/inkwell` command group and the persistent buttons under illustrations and progress."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord import convert
from core.style.settings import MAX_STRENGTH, MIN_STRENGTH


class InteractionTarget(Protocol):
    """What the buttons and commands call back into: the Discord adapter."""

    async def on_command(self, interaction: discord.Interaction, name: str) -> None: ...

    async def on_style(
        self,
        interaction: discord.Interaction,
        name: str,
        picture: discord.Attachment | None = None,
        strength: float | None = None,
    ) -> None: ...

    async def on_button(
        self, interaction: discord.Interaction, kind: str, paragraph: str
    ) -> None: ...


def _target(interaction: discord.Interaction) -> InteractionTarget:
    # The client that received the click carries the adapter, whichever process posted the button.
    return interaction.client.inkwell_adapter  # type: ignore[attr-defined]


class RegenerateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=convert.REGENERATE_TEMPLATE
):
    """Draws the paragraph again from fresh seeds; rebuilt from its custom id after a restart."""

    def __init__(self, paragraph_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Regenerate",
                emoji="🔁",
                style=discord.ButtonStyle.secondary,
                custom_id=convert.regenerate_id(paragraph_id),
            )
        )
        self.paragraph_id = paragraph_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> RegenerateButton:
        return cls(match["paragraph"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _target(interaction).on_button(interaction, "regenerate", self.paragraph_id)


class StopButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=convert.CANCEL_TEMPLATE):
    """Stops one paragraph, drawn or waiting; sits on its status message until it finishes."""

    def __init__(self, paragraph_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Stop",
                emoji="⏹️",
                style=discord.ButtonStyle.danger,
                custom_id=convert.cancel_id(paragraph_id),
            )
        )
        self.paragraph_id = paragraph_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> StopButton:
        return cls(match["paragraph"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _target(interaction).on_button(interaction, "cancel", self.paragraph_id)


def single_button_view(item: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)  # persistent: never times out
    view.add_item(item)
    return view


def build_command_group() -> app_commands.Group:
    """`/inkwell <subcommand>`; each subcommand hands its name to the adapter."""
    group = app_commands.Group(
        name="inkwell", description="Illustrate this channel's story", guild_only=True
    )
    for name, description in convert.COMMANDS.items():
        group.add_command(
            app_commands.Command(name=name, description=description, callback=_callback(name))
        )
    group.add_command(_style_group())
    return group


def _style_group() -> app_commands.Group:
    """`/inkwell style set|show|clear|strength`; discord.py reads the options from the callbacks."""
    style = app_commands.Group(name="style", description="This channel's style reference")
    callbacks: dict[str, Callable[..., Awaitable[None]]] = {
        "set": _style_set,
        "show": _style_callback("show"),
        "clear": _style_callback("clear"),
        "strength": _style_strength,
    }
    for name, description in convert.STYLE_COMMANDS.items():
        style.add_command(
            app_commands.Command(name=name, description=description, callback=callbacks[name])
        )
    return style


@app_commands.describe(picture="A PNG, JPEG, WebP or GIF picture to draw like")
async def _style_set(interaction: discord.Interaction, picture: discord.Attachment) -> None:
    await _target(interaction).on_style(interaction, "set", picture=picture)


@app_commands.describe(value="0 is off, 1 is as the style branch was trained, up to 2")
async def _style_strength(
    interaction: discord.Interaction, value: app_commands.Range[float, MIN_STRENGTH, MAX_STRENGTH]
) -> None:
    await _target(interaction).on_style(interaction, "strength", strength=value)


def _style_callback(name: str) -> Callable[[discord.Interaction], Awaitable[None]]:
    async def run(interaction: discord.Interaction) -> None:
        await _target(interaction).on_style(interaction, name)

    return run


def _callback(name: str) -> Callable[[discord.Interaction], Awaitable[None]]:
    async def run(interaction: discord.Interaction) -> None:
        await _target(interaction).on_command(interaction, name)

    return run
