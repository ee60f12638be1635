"""Discord I/O: the gateway client, messages and interactions in, replies within the deadlines."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import discord
from discord.http import Route

from adapters import chat_text
from adapters.commands import command_event, genre_event, library_event, style_event
from adapters.discord import convert
from adapters.discord.gateway import GatewaySupervisor, skip_unreadable_events
from adapters.discord.interactions import (
    BUTTONS,
    FOREIGN_BUTTON,
    InkwellTree,
    build_command_group,
    is_inkwell_button,
    tell_privately,
)
from adapters.discord.outbound import DiscordPoster
from adapters.discord.replies import ANSWER_WINDOW_S, InteractionAnswer, follow_up, render
from core.adapter import Capabilities, Dispatch, ImageLoader
from core.connections import Backoff, Connection
from core.events import (
    Accepted,
    Action,
    Audience,
    Author,
    DrawingModeRequested,
    ElementReferenceSet,
    Event,
    LibraryShown,
    MessageRef,
    StyleReferenceSet,
    StyleReferenceShown,
)

log = logging.getLogger("inkwell.discord")

NO_TEXT = "Inkwell illustrates words: write your paragraph in the message."
NOT_A_CHANNEL = "Inkwell works in server channels."


class _InkwellClient(discord.AutoShardedClient):
    def __init__(self, adapter: DiscordAdapter, sync_commands: bool, **options: Any) -> None:
        super().__init__(**options)
        self.inkwell_adapter = adapter
        self.tree = InkwellTree(self)
        self._sync_commands = sync_commands

    async def setup_hook(self) -> None:
        # Buttons are matched by custom id, so clicks on messages posted before a restart work.
        self.add_dynamic_items(*BUTTONS)
        self.tree.add_command(build_command_group())
        if self._sync_commands:
            await self.tree.sync()

    async def on_ready(self) -> None:
        self.inkwell_adapter.connected()

    async def on_resumed(self) -> None:
        self.inkwell_adapter.connected()

    async def on_message(self, message: discord.Message) -> None:
        await self.inkwell_adapter.on_message(message)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every click is acknowledged: Inkwell's buttons by their own callbacks, any other
        (a foreign or retired button) here, with a short private answer."""
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if not is_inkwell_button(custom_id):
            log.info("a click on a button Inkwell doesn't know: %r", custom_id[:100])
            await tell_privately(interaction, FOREIGN_BUTTON)


class DiscordAdapter:
    name = convert.PLATFORM

    def __init__(
        self,
        token: str,
        *,
        api_base: str = "",
        max_attachment_bytes: int = 8 * 1024 * 1024,
        status_interval_s: float = 2.0,
        sync_commands: bool = True,
        guild_ready_timeout: float = 2.0,
        load_image: ImageLoader | None = None,
        reconnect_backoff_s: tuple[float, float] = (1.0, 60.0),
        answer_window_s: float = ANSWER_WINDOW_S,
    ) -> None:
        self._token = token
        self._api_base = api_base.rstrip("/")
        self._max_attachment = max_attachment_bytes
        self._sync_commands = sync_commands
        self._guild_ready_timeout = guild_ready_timeout
        self._answer_window_s = answer_window_s  # answers later than this are deferred
        self._load_image = load_image  # shows the style reference; without it, words only
        self._poster = DiscordPoster(lambda: self.client, status_interval_s)
        self._dispatch: Dispatch | None = None
        self._client: _InkwellClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._supervisor: GatewaySupervisor | None = None
        self._backoff = Backoff(*reconnect_backoff_s)
        self.connection = Connection(convert.PLATFORM)
        self._saved_base: str | None = None
        self.capabilities = Capabilities(
            edits=True, threads=True, buttons=True, max_upload_bytes=25 * 1024 * 1024, opt_in=True
        )

    @property
    def client(self) -> _InkwellClient:
        if self._client is None:
            raise RuntimeError("the Discord adapter is not started")
        return self._client

    async def start(self, dispatch: Dispatch) -> None:
        self._dispatch = dispatch
        if self._api_base:
            # discord.py builds every REST and webhook URL from this; the gateway URL then
            # comes from GET /gateway/bot, as Discord documents for sharded bots.
            self._saved_base, Route.BASE = Route.BASE, self._api_base
        self._supervisor = GatewaySupervisor(self._login, self.connection, self._backoff)
        client = await self._login()
        self._runner = asyncio.create_task(self._supervisor.run(client))
        ready = asyncio.create_task(client.wait_until_ready())
        await asyncio.wait({ready, self._runner}, timeout=60, return_when="FIRST_COMPLETED")
        if not ready.done():
            ready.cancel()
            failure = self.connection.cause or "timed out"
            await self.stop()
            raise RuntimeError(f"Discord did not become ready: {failure}")
        log.info("connected to Discord as %s", client.user)

    async def _login(self) -> _InkwellClient:
        """A new client, logged in (REST only); the supervisor connects it to the gateway."""
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.message_content = True  # privileged: paragraphs are message text
        client = _InkwellClient(
            self,
            self._sync_commands,
            intents=intents,
            guild_ready_timeout=self._guild_ready_timeout,
            # Stories echo writers' words: nothing Inkwell posts may notify anyone.
            allowed_mentions=discord.AllowedMentions.none(),
        )
        skip_unreadable_events(client)
        self._client = client
        await client.login(self._token)
        return client

    def connected(self) -> None:
        """The gateway is ready (or resumed): /health says so, and restarts pause afresh."""
        if self._supervisor is not None:
            self._supervisor.connected()

    async def stop(self) -> None:
        await self._poster.close()
        if self._supervisor is not None:
            await self._supervisor.stop()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        if self._saved_base is not None:
            Route.BASE, self._saved_base = self._saved_base, None
        self._client = self._runner = self._supervisor = None

    async def send(self, action: Action) -> MessageRef | None:
        return await self._poster.send(action)

    # ------------------------------------------------------------------ Discord -> core

    async def _core(self, event: Event) -> list[Action]:
        if self._dispatch is None:
            raise RuntimeError("the Discord adapter is not started")
        return await self._dispatch(event)

    async def on_message(self, message: discord.Message) -> None:
        me = self.client.user
        channel = message.channel
        if message.author.bot or me is None or message.guild is None:
            return
        if not isinstance(channel, (discord.TextChannel, discord.Thread)):
            return
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        incoming = convert.IncomingMessage(
            message.id,
            channel.id,
            parent,
            message.author.id,
            message.author.display_name,
            message.content,
            any(user.id == me.id for user in message.mentions),
            {user.id: user.display_name for user in message.mentions},
        )
        replied_to = _reply_to_me(message, me.id)
        if replied_to is not None:
            await self._edit_request(message, convert.edit_event(incoming, replied_to, me.id))
            return
        event = convert.paragraph_event(incoming, me.id)
        if event.addressed and message.attachments:
            problems = [
                chat_text.attachment_problem(
                    a.filename, a.content_type, a.size, self._max_attachment
                )
                for a in message.attachments
            ]
            if any(problems):
                await message.reply("\n".join(p for p in problems if p))
                return
        if not event.text:
            if event.addressed:
                await message.reply(NO_TEXT)
            return
        for action in await self._core(event):
            if isinstance(action, Accepted):
                if not action.again:  # a redelivered message was answered the first time
                    await self._poster.accepted(action, reply_to=message.id)
            else:
                # Discord can't answer a message privately: a writer's answer replies to it.
                await message.reply(render(action))

    async def _edit_request(self, message: discord.Message, event: Event) -> None:
        """A reply to one of Inkwell's pictures: the core reads it and answers in the thread."""
        for action in await self._core(event):
            await message.reply(render(action))

    async def on_command(self, interaction: discord.Interaction, name: str) -> None:
        answer = InteractionAnswer(interaction, name in convert.PRIVATE_COMMANDS)
        if name == "help":
            await answer.send(chat_text.help_text("discord"), True)
            return
        channel = self._channel_of(interaction)
        if channel is None:
            await answer.send(NOT_A_CHANNEL, True)
            return
        manager = interaction.permissions.manage_channels
        title = getattr(interaction.channel, "name", "") or ""
        event = command_event(name, channel, _author(interaction), manager, title)
        assert event is not None
        await self._respond(answer, self._core(event))

    async def on_style(
        self,
        interaction: discord.Interaction,
        name: str,
        picture: discord.Attachment | None = None,
        strength: float | None = None,
    ) -> None:
        """`/inkwell style ...`: any writer may change the look, as in the web room; the
        opt-in gate still refuses channels where Inkwell is off."""
        answer = InteractionAnswer(interaction, name == "show")
        channel = self._channel_of(interaction)
        if channel is None:
            await answer.send(NOT_A_CHANNEL, True)
            return
        author = _author(interaction)

        async def work() -> list[Action] | str:
            if name == "set" and picture is not None:
                data, problem = await self._attachment(picture)
                if problem:
                    return f"🚫 {problem}"
                event: Event = StyleReferenceSet(
                    channel, author, image=data, filename=picture.filename
                )
            else:
                event = style_event(name, channel, author, strength)
            return await self._core(event)

        await self._respond(answer, work())

    async def on_button(self, interaction: discord.Interaction, kind: str, paragraph: str) -> None:
        await interaction.response.defer()  # a silent acknowledgement; the message stays as is
        channel = self._channel_of(interaction)
        if channel is None:
            return
        reply_to = interaction.message.id if interaction.message is not None else None
        event = convert.button_event(
            kind, channel, _author(interaction), paragraph, str(reply_to or "")
        )
        replies = await self._core(event)
        for action in replies:
            await self._answer(interaction, action, reply_to)

    async def on_library(
        self,
        interaction: discord.Interaction,
        name: str,
        names: list[str],
        picture: discord.Attachment | None = None,
    ) -> None:
        """`/inkwell library ...`: a look is for the asker, a change for the channel (the core
        says which, and each answer is seen by whom it says: see InteractionAnswer)."""
        answer = InteractionAnswer(interaction, name == "show")
        channel = self._channel_of(interaction)
        if channel is None:
            await answer.send(NOT_A_CHANNEL, True)
            return
        author = _author(interaction)

        async def work() -> list[Action] | str:
            if name == "reference" and picture is not None:
                data, problem = await self._attachment(picture)
                if problem:
                    return f"🚫 {problem}"
                event: Event = ElementReferenceSet(
                    channel, author, names[0], image=data, filename=picture.filename
                )
            else:
                try:
                    event = library_event(name, names, channel, author)
                except ValueError as usage:
                    return str(usage)
            return await self._core(event)

        await self._respond(answer, work())

    async def _respond(
        self, answer: InteractionAnswer, work: Awaitable[list[Action] | str]
    ) -> None:
        """The core's answers to a command (or a line for its sender alone), each seen by
        whom its audience says; the interaction is deferred only if they are slow to come."""
        actions = await answer.within(work, self._answer_window_s)
        if isinstance(actions, str):
            await answer.send(actions, True)
            return
        for action in actions:
            if isinstance(action, Accepted):
                if not action.again:
                    await self._poster.accepted(action, None)
                continue
            picture, filename = await self._picture_for(action)
            await answer.send(render(action), action.audience is Audience.WRITER, picture, filename)
        await answer.finish()

    async def _attachment(self, picture: discord.Attachment) -> tuple[bytes, str]:
        """The attachment's bytes, or why Inkwell won't take it: checked from what Discord
        says of the file before a byte is fetched, and again once it is."""
        problem = chat_text.attachment_problem(
            picture.filename, picture.content_type, picture.size, self._max_attachment
        )
        data = b"" if problem else await picture.read()
        if len(data) > self._max_attachment:  # the file was not the size Discord declared
            problem = chat_text.attachment_problem(
                picture.filename, picture.content_type, len(data), self._max_attachment
            )
        return data, problem

    async def on_genre(self, interaction: discord.Interaction, name: str) -> None:
        """`/inkwell genre [NAME|none]`: a listing is for the asker, a pick for the channel."""
        await interaction.response.defer(thinking=True, ephemeral=not name.strip())
        channel = self._channel_of(interaction)
        if channel is None:
            await follow_up(interaction, "Inkwell works in server channels.", True)
            return
        for action in await self._core(genre_event(channel, _author(interaction), name)):
            await self._answer(interaction, action, reply_to=None)

    async def on_settings(self, interaction: discord.Interaction, mode: str) -> None:
        """`/inkwell settings [mode]`: the settings for the asker; a new drawing mode is told
        to the channel (the core names who changed it)."""
        if not mode.strip():
            await self.on_command(interaction, "settings")
            return
        await interaction.response.defer(thinking=True, ephemeral=False)
        channel = self._channel_of(interaction)
        if channel is None:
            await follow_up(interaction, "Inkwell works in server channels.", True)
            return
        event = DrawingModeRequested(channel, _author(interaction), mode=mode.strip())
        for action in await self._core(event):
            await self._answer(interaction, action, reply_to=None)

    def _channel_of(self, interaction: discord.Interaction) -> Any:
        channel = interaction.channel
        if interaction.guild_id is None or channel is None:
            return None
        parent = getattr(channel, "parent_id", None) if _is_thread(channel) else None
        return convert.channel_ref(channel.id, parent)

    async def _answer(self, interaction: discord.Interaction, action: Action, reply_to: int | None):
        """The core's answer to an interaction: ephemeral when it is for the asker alone."""
        if isinstance(action, Accepted):
            if not action.again:
                await self._poster.accepted(action, reply_to)
            return
        private = action.audience is Audience.WRITER
        picture, filename = await self._picture_for(action)
        await follow_up(interaction, render(action), private, picture, filename)

    async def _picture_for(self, action: Action) -> tuple[bytes | None, str]:
        """The picture an answer shows (the cast's sheet, the style reference), and its name."""
        if isinstance(action, LibraryShown):
            return await self._thumbnails(action), chat_text.CAST_PICTURE
        if isinstance(action, StyleReferenceShown):
            return await self._style_picture(action), chat_text.STYLE_PICTURE
        return None, chat_text.STYLE_PICTURE

    async def _thumbnails(self, action: LibraryShown) -> bytes | None:
        """The cast's pictures as one sheet, in the order the text lists them."""
        if self._load_image is None:
            return None
        found = [
            await self._load_image(e.thumbnail_image_id)
            for e in action.elements
            if e.thumbnail_image_id
        ]
        pictures = [picture for picture in found if picture]
        return chat_text.thumbnail_sheet(pictures) if pictures else None

    async def _style_picture(self, action: StyleReferenceShown) -> bytes | None:
        if action.image_id is None or self._load_image is None:
            return None
        return await self._load_image(action.image_id)


def _reply_to_me(message: discord.Message, bot_id: int) -> int | None:
    """The id of the Inkwell picture message this one replies to, if it replies to one.

    Only messages with pictures count: a reply to a status line or an answer is a paragraph.
    """
    reference = message.reference
    if reference is None or reference.message_id is None:
        return None
    replied = reference.resolved
    if isinstance(replied, discord.Message) and replied.author.id == bot_id and replied.attachments:
        return reference.message_id
    return None


def _author(interaction: discord.Interaction) -> Author:
    return Author(str(interaction.user.id), interaction.user.display_name)


def _is_thread(channel: Any) -> bool:
    return isinstance(channel, discord.Thread) or getattr(channel, "type", None) in (
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    )
