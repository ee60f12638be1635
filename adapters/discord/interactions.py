"""The `/inkwell` command group and the persistent buttons under illustrations and progress."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord import convert
from core.style.settings import MAX_STRENGTH, MIN_STRENGTH

log = logging.getLogger("inkwell.discord")

UNKNOWN_COMMAND = "Inkwell doesn't know that command (yet, or any more); try `/inkwell help`."
FOREIGN_BUTTON = "That button isn't one Inkwell knows, so it does nothing."
FAILED = "Something went wrong on Inkwell's side. Please try again in a moment (ref {ref})."


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

    async def on_library(
        self,
        interaction: discord.Interaction,
        name: str,
        names: list[str],
        picture: discord.Attachment | None = None,
    ) -> None: ...

    async def on_genre(self, interaction: discord.Interaction, name: str) -> None: ...

    async def on_settings(self, interaction: discord.Interaction, mode: str) -> None: ...


def _target(interaction: discord.Interaction) -> InteractionTarget:
    # The client that received the click carries the adapter, whichever process posted the button.
    return interaction.client.inkwell_adapter  # type: ignore[attr-defined]


class _ParagraphButton:
    """A persistent button that acts on one paragraph (or, for edit buttons, on the message
    clicked); rebuilt from its custom id after a restart, so old messages keep working."""

    KIND = ""
    LABEL = ""
    EMOJI = ""
    STYLE = discord.ButtonStyle.secondary

    def __init__(self, paragraph_id: str) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            label=self.LABEL,
            emoji=self.EMOJI,
            style=self.STYLE,
            custom_id=convert.button_id(self.KIND, paragraph_id),
        )
        super().__init__(button)  # type: ignore[call-arg]
        self.paragraph_id = paragraph_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> Any:
        return cls(match["paragraph"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _target(interaction).on_button(interaction, self.KIND, self.paragraph_id)


_Dynamic = discord.ui.DynamicItem[discord.ui.Button[Any]]


class RegenerateButton(_ParagraphButton, _Dynamic, template=convert.REGENERATE_TEMPLATE):
    """Draws the paragraph again from fresh seeds."""

    KIND, LABEL, EMOJI = "regenerate", "Regenerate", "🔁"


class StopButton(_ParagraphButton, _Dynamic, template=convert.CANCEL_TEMPLATE):
    """Stops one paragraph, drawn or waiting; sits on its status message until it finishes."""

    KIND, LABEL, EMOJI = "cancel", "Stop", "⏹️"
    STYLE = discord.ButtonStyle.danger


class WhyButton(_ParagraphButton, _Dynamic, template=convert.WHY_TEMPLATE):
    """Why these pictures: screening, branch and the candidates' scores."""

    KIND, LABEL, EMOJI = "why", "Why", "❔"


class UndoButton(_ParagraphButton, _Dynamic, template=convert.UNDO_TEMPLATE):
    """Under an edited picture: back to the version before the edit."""

    KIND, LABEL, EMOJI = "undo", "Undo", "↩️"


class OriginalButton(_ParagraphButton, _Dynamic, template=convert.ORIGINAL_TEMPLATE):
    """Under an edited picture: show the first drawing it was edited from."""

    KIND, LABEL, EMOJI = "original", "Original", "🖼️"


class CandidatesButton(_ParagraphButton, _Dynamic, template=convert.CANDIDATES_TEMPLATE):
    """Every candidate the pictures were chosen from, drawn again from their seeds."""

    KIND, LABEL, EMOJI = "candidates", "Candidates", "🎞️"


class EnhanceButton(_ParagraphButton, _Dynamic, template=convert.ENHANCE_TEMPLATE):
    """On a single picture: seed 002's restorer (sharper, less noise, no scratches)."""

    KIND, LABEL, EMOJI = "enhance", "Enhance", "✨"


BUTTONS = (
    RegenerateButton,
    StopButton,
    WhyButton,
    UndoButton,
    OriginalButton,
    CandidatesButton,
    EnhanceButton,
)


def button_view(*items: discord.ui.Item[Any]) -> discord.ui.View:
    view = discord.ui.View(timeout=None)  # persistent: never times out
    for item in items:
        view.add_item(item)
    return view


def build_command_group() -> app_commands.Group:
    """`/inkwell <subcommand>`; each subcommand hands its name to the adapter."""
    group = app_commands.Group(
        name="inkwell", description="Illustrate this channel's story", guild_only=True
    )
    for name, description in convert.COMMANDS.items():
        callback = _settings if name == "settings" else _callback(name)
        group.add_command(
            app_commands.Command(name=name, description=description, callback=callback)
        )
    group.add_command(_style_group())
    group.add_command(_library_group())
    group.add_command(
        app_commands.Command(
            name="genre",
            description="The trained genres; pick one for this story (or none)",
            callback=_genre,
        )
    )
    return group


@app_commands.describe(mode="direct or composed: how later paragraphs are drawn; empty: show")
async def _settings(interaction: discord.Interaction, mode: str = "") -> None:
    await _target(interaction).on_settings(interaction, mode)


@app_commands.describe(name="a trained genre's name, or none; empty: list them")
async def _genre(interaction: discord.Interaction, name: str = "") -> None:
    await _target(interaction).on_genre(interaction, name)


def _library_group() -> app_commands.Group:
    """`/inkwell library show|rename|merge|forget|pin|unpin|describe|pronoun|reference|looks`: see
    and steer the story's cast."""
    library = app_commands.Group(name="library", description="The story's characters and things")
    callbacks: dict[str, Callable[..., Awaitable[None]]] = {
        "show": _library_show,
        "rename": _library_rename,
        "merge": _library_merge,
        "forget": _library_named("forget"),
        "pin": _library_named("pin"),
        "unpin": _library_named("unpin"),
        "describe": _library_describe,
        "pronoun": _library_pronoun,
        "reference": _library_reference,
        "looks": _library_looks,
    }
    for name, description in convert.LIBRARY_COMMANDS.items():
        library.add_command(
            app_commands.Command(name=name, description=description, callback=callbacks[name])
        )
    return library


async def _library_show(interaction: discord.Interaction) -> None:
    await _target(interaction).on_library(interaction, "show", [])


@app_commands.describe(name="The element's name now", new_name="Its new name")
async def _library_rename(interaction: discord.Interaction, name: str, new_name: str) -> None:
    await _target(interaction).on_library(interaction, "rename", [name, new_name])


@app_commands.describe(name="The element to merge", into="The element it is the same as")
async def _library_merge(interaction: discord.Interaction, name: str, into: str) -> None:
    await _target(interaction).on_library(interaction, "merge", [name, into])


@app_commands.describe(
    name="The element", description='e.g. "grey beard, green apron"; empty clears'
)
async def _library_describe(
    interaction: discord.Interaction, name: str, description: str = ""
) -> None:
    await _target(interaction).on_library(interaction, "describe", [name, description])


@app_commands.describe(name="The element", pronoun="he, she, it or they")
async def _library_pronoun(interaction: discord.Interaction, name: str, pronoun: str) -> None:
    await _target(interaction).on_library(interaction, "pronoun", [name, pronoun])


@app_commands.describe(name="The element", picture="A picture of how it looks")
async def _library_reference(
    interaction: discord.Interaction, name: str, picture: discord.Attachment
) -> None:
    await _target(interaction).on_library(interaction, "reference", [name], picture)


@app_commands.describe(strength="0 is off, up to 2; empty shows it")
async def _library_looks(interaction: discord.Interaction, strength: str = "") -> None:
    await _target(interaction).on_library(interaction, "looks", [strength] if strength else [])


def _library_named(command: str) -> Callable[..., Awaitable[None]]:
    @app_commands.describe(name="The element's name")
    async def run(interaction: discord.Interaction, name: str) -> None:
        await _target(interaction).on_library(interaction, command, [name])

    return run


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


def is_inkwell_button(custom_id: str) -> bool:
    """Whether a clicked component's custom id is one of Inkwell's persistent buttons."""
    templates = (button.__discord_ui_compiled_template__ for button in BUTTONS)
    return any(template.fullmatch(custom_id) for template in templates)


async def tell_privately(interaction: discord.Interaction, text: str) -> None:
    """A short answer only the asker sees: as the acknowledgement when none was sent yet,
    else as a follow-up; a failure here is logged, never raised into discord.py."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("couldn't answer interaction %s: %s", interaction.id, error)


class InkwellTree(app_commands.CommandTree):
    """The command tree, answering every command it can't run instead of leaving Discord's
    "The application did not respond": unknown ones with a hint, failed ones with a ref."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        unknown = (app_commands.CommandNotFound, app_commands.CommandSignatureMismatch)
        if isinstance(error, unknown):
            log.info("unknown command in interaction %s: %s", interaction.id, error)
            await tell_privately(interaction, UNKNOWN_COMMAND)
            return
        reference = uuid.uuid4().hex[:10]
        cause = error.__cause__ or error
        log.error("interaction %s failed (ref %s)", interaction.id, reference, exc_info=cause)
        await tell_privately(interaction, FAILED.format(ref=reference))
