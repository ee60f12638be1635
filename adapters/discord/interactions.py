"""The `/inkwell` command group and the persistent buttons under illustrations and progress."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord import convert


class InteractionTarget(Protocol):
    """What the buttons and commands call back into: the Discord adapter."""

    async def on_command(self, interaction: discord.Interaction, name: str) -> None: ...

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
    return group


def _callback(name: str) -> Callable[[discord.Interaction], Awaitable[None]]:
    async def run(interaction: discord.Interaction) -> None:
        await _target(interaction).on_command(interaction, name)

    return run
