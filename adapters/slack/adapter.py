"""Slack I/O: a slack-bolt AsyncApp over HTTP (beside the web room) or Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters import chat_text
from adapters.commands import (
    command_event,
    genre_event,
    library_event,
    parse_strength,
    settings_event,
    style_event,
)
from adapters.slack import convert, markup
from adapters.slack.edits import PictureThreads
from adapters.slack.files import FileRefused, fetch_picture
from adapters.slack.outbound import SlackPoster
from core.adapter import Capabilities, Dispatch, ImageLoader
from core.connections import CONNECTED, Connection
from core.events import (
    Accepted,
    Action,
    Audience,
    Author,
    ChannelRef,
    ElementReferenceSet,
    Event,
    LibraryShown,
    MessageRef,
    StyleReferenceSet,
    StyleReferenceShown,
)

log = logging.getLogger("inkwell.slack")

EVENTS_PATH = "/slack/events"
NAME_CACHE = 4096
MAX_MENTIONS = 10  # names looked up per message; further mentions become nothing
FOREIGN_BUTTON = "That button isn't one Inkwell knows, so it does nothing."
NO_TEXT = "Inkwell illustrates words: write your paragraph in the message."
NO_PICTURE = "Attach the picture to draw like to the message that says `style`."
CAST_UPLOAD = (
    "To give an element a reference picture, attach the picture to a message that says "
    "`@Inkwell cast NAME` (the element's name as `/inkwell cast` lists it)."
)
Respond = Callable[..., Awaitable[Any]]
Tell = Callable[[str], Awaitable[Any]]  # a message only the asker sees


class SlackAdapter:
    name = convert.PLATFORM
    capabilities = Capabilities(
        edits=True, threads=True, buttons=True, max_upload_bytes=50 * 1024 * 1024, opt_in=True
    )

    def __init__(
        self,
        bot_token: str,
        signing_secret: str,
        *,
        app_token: str = "",
        api_base: str = "",
        max_attachment_bytes: int = 8 * 1024 * 1024,
        status_interval_s: float = 2.0,
        load_image: ImageLoader | None = None,
        watch_interval_s: float = 5.0,
    ) -> None:
        """With `app_token` Inkwell connects by Socket Mode; without, it answers HTTP requests
        on the route `mount` adds (signed with `signing_secret`). slack_sdk reconnects a
        dropped socket and skips frames it can't read (logged at ERROR); every
        `watch_interval_s` the socket's state is read into `connection` for /health."""
        options = {"base_url": api_base.rstrip("/") + "/"} if api_base else {}
        self.client = AsyncWebClient(token=bot_token, **options)
        self._app_token = app_token
        self._max_attachment = max_attachment_bytes
        self._api_base = api_base
        self._load_image = load_image  # shows the style reference; without it, words only
        self._poster = SlackPoster(self.client, status_interval_s)
        self._dispatch: Dispatch | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._names: dict[str, str] = {}  # user id -> display name; every paragraph needs one
        self._threads = PictureThreads(self.client)
        # Bolt verifies every HTTP request's signature and age before any listener runs.
        self.bolt = AsyncApp(client=self.client, signing_secret=signing_secret)
        self._signing_secret = signing_secret
        self.bolt.event("message")(self._on_message)
        self.bolt.event("app_mention")(self._on_mention)
        self.bolt.command("/inkwell")(self._on_command)
        self.bolt.action(convert.ACTION_IDS)(self._on_button)
        # Registered last, so it only gets clicks no listener above took: every click is
        # acknowledged, a foreign or retired button's with a short private answer.
        self.bolt.action(re.compile(".*"))(self._on_foreign_button)
        self.connection = Connection(convert.PLATFORM) if app_token else None
        self._watch_interval_s = watch_interval_s
        self._watcher: asyncio.Task[None] | None = None

    async def handle_http(self, request: web.Request) -> web.Response:
        """Events API, slash commands and button clicks, POSTed by Slack to EVENTS_PATH.

        The signature is checked first (401), then that the body is one Slack sends (400),
        both before slack-bolt parses anything; a Slack retry is dispatched like the first
        delivery, and storage keeps its paragraph from being stored twice.
        """
        body = await request.read()
        headers = request.headers
        signed = convert.signed(
            self._signing_secret,
            body,
            headers.get("X-Slack-Request-Timestamp", ""),
            headers.get("X-Slack-Signature", ""),
            time.time(),
        )
        if not signed:
            return web.json_response({"error": "invalid request"}, status=401)
        problem = convert.body_problem(body, request.content_type)
        if problem:
            log.warning("refused a signed Slack request: %s", problem)
            return web.json_response({"error": problem}, status=400)
        retry = headers.get("X-Slack-Retry-Num")
        if retry:
            log.info("Slack retry %s (%s)", retry, headers.get("X-Slack-Retry-Reason", "?"))
        response = await self.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def start(self, dispatch: Dispatch) -> None:
        self._dispatch = dispatch
        if self._app_token:
            self._socket = AsyncSocketModeHandler(self.bolt, self._app_token, logger=log)
            await self._socket.connect_async()
            log.info("connected to Slack by Socket Mode")
            self._watcher = asyncio.create_task(self._watch_socket())
        else:
            log.info("answering Slack on %s", EVENTS_PATH)

    async def stop(self) -> None:
        await self._poster.close()
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self.connection is not None:
            self.connection.stopped()
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        self._dispatch = None

    async def send(self, action: Action) -> MessageRef | None:
        return await self._poster.send(action)

    async def _watch_socket(self) -> None:
        """Report the Socket Mode connection's state; a loss is an ERROR with its cause."""
        assert self._socket is not None and self.connection is not None
        client = self._socket.client
        while True:
            try:
                up = await client.is_connected()
            except Exception as error:  # the check itself failing is a lost connection
                up, cause = False, f"{type(error).__name__}: {error}"
            else:
                cause = "the socket closed; slack_sdk is reconnecting"
            if up and self.connection.state != CONNECTED:
                self.connection.connected()
            elif not up and self.connection.state == CONNECTED:
                log.error("lost the Slack Socket Mode connection: %s", cause)
                self.connection.failed(cause)
            await asyncio.sleep(self._watch_interval_s)

    # ------------------------------------------------------------------ Slack -> core
    # Bolt acknowledges events itself and runs these listeners after the ack has gone.

    async def _core(self, event: Event) -> list[Action]:
        if self._dispatch is None:
            raise RuntimeError("the Slack adapter is not started")
        return await self._dispatch(event)

    async def _on_mention(self, event: dict[str, Any]) -> None:
        """Mentions arrive as message events too, where they are handled once."""

    async def _on_message(self, event: dict[str, Any], context: dict[str, Any]) -> None:
        if not convert.is_written(event):
            return
        bot_user = context.get("bot_user_id") or ""
        thread = event.get("thread_ts")
        if thread and thread != event.get("ts"):
            picture = await self._threads.picture_of(
                event["channel"], thread, bot_user, context.get("bot_id") or ""
            )
            if picture is not None:
                await self._edit_request(event, bot_user, picture)
                return
        names = await self._names_in(event.get("text") or "", bot_user)
        author = await self._name_of(event["user"])
        paragraph = convert.paragraph_event(event, bot_user, author, names)
        channel = paragraph.channel
        if paragraph.addressed and convert.asks_for_style(event.get("text") or "", bot_user):
            await self._style_upload(event, paragraph.author)
            return
        element = convert.cast_reference_name(event.get("text") or "", bot_user)
        if paragraph.addressed and element is not None:
            await self._cast_upload(event, paragraph.author, element)
            return
        if paragraph.addressed:
            problems = [
                chat_text.attachment_problem(name, kind, size, self._max_attachment)
                for name, kind, size in convert.files_of(event)
            ]
            if any(problems):
                await self._whisper(channel, event["user"], "\n".join(p for p in problems if p))
                return
        if not paragraph.text:
            if paragraph.addressed:
                await self._whisper(channel, event["user"], NO_TEXT)
            return
        for action in await self._core(paragraph):
            await self._answer(action, channel, event["user"])

    async def _edit_request(self, event: dict[str, Any], bot_user: str, picture: str) -> None:
        """A reply in the thread under one of Inkwell's pictures: answered in that thread."""
        author = await self._name_of(event["user"])
        names = await self._names_in(event.get("text") or "", bot_user)
        request = convert.edit_event(event, bot_user, author, picture, names)
        thread = ChannelRef(convert.PLATFORM, event["channel"], event["thread_ts"])
        for action in await self._core(request):
            await self._answer(action, thread, event["user"])

    async def _on_command(
        self, ack: Callable[..., Awaitable[None]], command: dict[str, Any], respond: Respond
    ) -> None:
        await ack()  # within Slack's 3 seconds; the work happens after
        respond = _escaping(respond)
        name = convert.subcommand(command.get("text") or "")
        if name == "help" or name not in convert.COMMANDS:
            await respond(text=chat_text.help_text("slack"), response_type="ephemeral")
            return
        channel = convert.channel_ref(command["channel_id"], None)
        user = command["user_id"]
        author = Author(user, command.get("user_name") or user)
        if name in ("library", "cast"):
            await self._library_command(command.get("text") or "", channel, author, respond)
            return
        if name == "genre":
            writer = Author(user, await self._name_of(user))
            request = genre_event(
                channel, writer, " ".join((command.get("text") or "").split()[1:])
            )
            for action in await self._core(request):
                await respond(text=render(action), response_type=_response_type(action))
            return
        if name == "settings" and len((command.get("text") or "").split()) > 1:
            writer = Author(user, await self._name_of(user))
            try:
                request = settings_event(channel, writer, (command.get("text") or "").split()[1:])
            except ValueError as error:
                await respond(text=str(error), response_type="ephemeral")
                return
            for action in await self._core(request):
                await respond(text=render(action), response_type=_response_type(action))
            return
        if name == "style":
            # The core names who changed the look, so use the name writers see on paragraphs.
            writer = Author(user, await self._name_of(user))
            await self._style_command(command.get("text") or "", channel, writer, respond)
            return
        manager = name in {"enable", "disable"} and await self._is_manager(user, channel.channel_id)
        title = command.get("channel_name") or ""
        event = command_event(name, channel, author, manager, title)
        assert event is not None
        for action in await self._core(event):
            if isinstance(action, Accepted):
                if not action.again:
                    await self._poster.send(action)
                continue
            await respond(text=render(action), response_type=_response_type(action))

    async def _library_command(
        self, text: str, channel: Any, author: Author, respond: Respond
    ) -> None:
        """`/inkwell library [rename|merge|forget|pin|unpin|describe|pronoun|looks ...]`: a
        change is told to all. `/inkwell cast` also posts the cast's thumbnails to the channel
        (Slack can't show a file to one person)."""
        name, names = convert.library_request(text)
        try:
            event = library_event(name, names, channel, author)
        except ValueError as error:
            await respond(text=str(error), response_type="ephemeral")
            return
        pictures = convert.subcommand(text) == "cast" and name == "show"
        for action in await self._core(event):
            if pictures and isinstance(action, LibraryShown):
                sheet = await self._thumbnails(action)
                if sheet is not None:
                    await self._poster.post_picture(
                        action.channel, render(action), sheet, chat_text.CAST_PICTURE, "The cast"
                    )
                    continue
            await respond(text=render(action), response_type=_response_type(action))

    async def _thumbnails(self, action: LibraryShown) -> bytes | None:
        if self._load_image is None:
            return None
        found = [
            await self._load_image(e.thumbnail_image_id)
            for e in action.elements
            if e.thumbnail_image_id
        ]
        pictures = [picture for picture in found if picture]
        return chat_text.thumbnail_sheet(pictures) if pictures else None

    async def _cast_upload(self, event: dict[str, Any], author: Author, element: str) -> None:
        """A mention saying `cast NAME` with a picture: the element's reference picture."""
        channel = convert.channel_ref(event["channel"], event.get("thread_ts"))

        async def tell(message: str) -> None:
            await self._whisper(channel, author.user_id, message)

        files = event.get("files") or []
        if not element or not files:
            await tell(CAST_UPLOAD)
            return
        try:
            name, data = await fetch_picture(
                self.client, files[0]["id"], self._max_attachment, self._api_base
            )
        except FileRefused as refused:
            await tell(f"🚫 {refused}")
            return
        for action in await self._core(ElementReferenceSet(channel, author, element, data, name)):
            if action.audience is Audience.CHANNEL:
                await self._poster.post_text(action.channel, render(action))
            else:
                await tell(render(action))

    async def _style_command(
        self, text: str, channel: Any, author: Author, respond: Respond
    ) -> None:
        """`/inkwell style show|clear|strength N`; as in the web room, any writer may change the
        look, and the opt-in gate refuses channels where Inkwell is off."""

        async def tell(message: str) -> None:
            await respond(text=message, response_type="ephemeral")

        name, argument = convert.style_request(text)
        if name == "set":
            await tell(convert.SET_BY_MESSAGE)
            return
        if name not in {"show", "clear", "strength"}:
            await tell(chat_text.help_text("slack"))
            return
        try:
            strength = parse_strength(argument) if name == "strength" else None
        except ValueError as error:
            await tell(str(error))
            return
        request = style_event(name, channel, author, strength)
        await self._style_replies(await self._core(request), tell)

    async def _style_upload(self, event: dict[str, Any], author: Author) -> None:
        """A mention saying `style` with a picture: the picture becomes the style reference."""
        channel = convert.channel_ref(event["channel"], event.get("thread_ts"))

        async def tell(message: str) -> None:
            await self._whisper(channel, author.user_id, message)

        files = event.get("files") or []
        if not files:
            await tell(NO_PICTURE)
            return
        try:
            name, data = await fetch_picture(
                self.client, files[0]["id"], self._max_attachment, self._api_base
            )
        except FileRefused as refused:
            await tell(f"🚫 {refused}")
            return
        reference = StyleReferenceSet(channel, author, image=data, filename=name)
        await self._style_replies(await self._core(reference), tell)

    async def _style_replies(self, actions: list[Action], tell: Tell) -> None:
        for action in actions:
            # Slack can't show a file to one person, so a shown picture goes to the channel.
            shared = action.audience is Audience.CHANNEL
            if isinstance(action, StyleReferenceShown) and (shared or action.image_id):
                picture = None
                if action.image_id is not None and self._load_image is not None:
                    picture = await self._load_image(action.image_id)
                text = chat_text.style_text(action)
                await self._poster.post_style(action.channel, text, picture)
            else:
                await tell(render(action))

    async def _on_button(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        event = convert.button_event(body, action)
        for reply in await self._core(event):
            await self._answer(reply, event.channel, event.author.user_id)

    async def _on_foreign_button(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        await ack()
        log.info("a click on a button Inkwell doesn't know: %r", str(action.get("action_id"))[:100])
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        if channel and user:
            where = convert.channel_ref(channel, (body.get("message") or {}).get("thread_ts"))
            await self._whisper(where, user, FOREIGN_BUTTON)

    async def _answer(self, action: Action, where: ChannelRef, user: str) -> None:
        """The core's answer to `user` in `where` (a channel or a thread): ephemeral when it
        is for that writer alone, a message in `where` when it is for everyone there."""
        if isinstance(action, Accepted):
            if not action.again:  # a retried or resent message was answered the first time
                await self._poster.send(action)
        elif action.audience is Audience.WRITER:
            await self._whisper(where, user, render(action))
        else:
            await self._poster.post_text(where, render(action))

    async def _whisper(self, channel: Any, user: str, text: str) -> None:
        """A message only `user` sees, in the story's channel or thread."""
        await self.client.chat_postEphemeral(
            channel=channel.channel_id,
            thread_ts=channel.thread_id,
            user=user,
            text=markup.escaped(text),
        )

    async def _names_in(self, text: str, bot_user: str) -> dict[str, str]:
        """Display names of the people a message mentions, so the story says who."""
        ids = [user for user in markup.mentioned_users(text) if user != bot_user]
        return {user: await self._name_of(user) for user in ids[:MAX_MENTIONS]}

    async def _name_of(self, user_id: str) -> str:
        if user_id in self._names:
            return self._names[user_id]
        try:
            user = (await self.client.users_info(user=user_id))["user"]
        except Exception:
            log.warning("couldn't look up Slack user %s", user_id, exc_info=True)
            return user_id
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        if len(self._names) >= NAME_CACHE:
            self._names.clear()
        self._names[user_id] = name
        return name

    async def _is_manager(self, user_id: str, channel_id: str) -> bool:
        user, channel = await asyncio.gather(
            self.client.users_info(user=user_id), self.client.conversations_info(channel=channel_id)
        )
        return convert.is_manager(user["user"], channel["channel"])


def render(action: Action) -> str:
    return chat_text.answer_text(action, convert.TEXT_LIMIT, "Slack")


def _escaping(respond: Respond) -> Respond:
    """`respond`, with its text escaped: a command's answer in the channel echoes names."""

    async def escaped_respond(*, text: str, **options: Any) -> Any:
        return await respond(text=markup.escaped(text), **options)

    return escaped_respond


def _response_type(action: Action) -> str:
    """How a slash command's answer is shown: to the asker alone, or in the channel."""
    return "ephemeral" if action.audience is Audience.WRITER else "in_channel"
