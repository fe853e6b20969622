"""The chats the daemon keeps for terminals: a `ChatSession` each (the same engine a local
`rung chat` runs), with the daemon's warm tools and memory. A terminal opens one, sends its
messages and commands to it, and closes it when it leaves; one left behind by a terminal
that died is closed after CHAT_IDLE_S without use."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from rung.agent.chat_session import ChatSession
from rung.agent.messages import Notice, TurnBegun, TurnEvent
from rung.agent.turn import tool_servers
from rung.config.errors import UserError
from rung.config.settings import Settings

if TYPE_CHECKING:
    from rung.agent.daemon.host import Host
    from rung.tools.hub import ToolHub

CHAT_IDLE_S = 12 * 3600


class NoSuchChat(UserError):
    """The daemon has no chat of that id (it was closed, or the daemon restarted)."""


class DaemonChat:
    def __init__(self, session: ChatSession) -> None:
        self.id = secrets.token_hex(8)
        self.session = session
        self.used = time.monotonic()
        self.busy = asyncio.Lock()  # one turn or command at a time
        self.told: set[str] = set()  # the tool problems this chat was told of
        self.turn: asyncio.Task[Any] | None = None  # the turn running now


class Chats:
    def __init__(self, host: Host) -> None:
        self.host = host
        self._chats: dict[str, DaemonChat] = {}

    async def open(self, settings: Settings) -> DaemonChat:
        await self._close_idle()
        chat = DaemonChat(ChatSession(settings, self.host.store, self.host.paths))
        chat.session.open_memory_soon()
        self._chats[chat.id] = chat
        return chat

    def get(self, chat_id: str) -> DaemonChat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise NoSuchChat(
                "the daemon has no such chat (it restarted, or the chat was closed)",
                hint="start `rung chat` again; `rung chat --resume ID` continues the session",
            )
        chat.used = time.monotonic()
        return chat

    async def close(self, chat_id: str) -> None:
        chat = self._chats.pop(chat_id, None)
        if chat is not None:
            async with chat.busy:
                await chat.session.close()

    async def close_all(self) -> None:
        for chat_id in list(self._chats):
            await self.close(chat_id)

    async def _close_idle(self) -> None:
        now = time.monotonic()
        for chat_id in [c.id for c in self._chats.values() if now - c.used > CHAT_IDLE_S]:
            await self.close(chat_id)

    # -- a message -----------------------------------------------------------------------

    async def events(self, chat: DaemonChat, text: str) -> AsyncIterator[TurnEvent]:
        """A message's turn: the tool problems this chat was not told of yet, `TurnBegun`
        (with which server each tool is from), then the turn's events."""
        session = chat.session
        async with chat.busy, self.tools(chat) as (hub, news):
            chat.turn = asyncio.current_task()
            try:
                for line in news:
                    yield Notice(line)
                yield TurnBegun(
                    session.conversation.session_id,
                    session.tier.name,
                    session.model.name,
                    tool_servers(hub),
                )
                async for event in session.send(text, hub):
                    yield event
            finally:
                chat.turn = None

    async def stop(self, chat: DaemonChat) -> None:
        """Stop the chat's turn (Ctrl-C at its terminal) and wait until what was said is
        kept: the terminal says so only then."""
        turn = chat.turn
        if turn is not None and not turn.done():
            turn.cancel()
            await asyncio.wait({turn})

    @contextlib.asynccontextmanager
    async def tools(self, chat: DaemonChat) -> AsyncIterator[tuple[ToolHub | None, list[str]]]:
        """The daemon's warm hub for the chat's tier (None in a tier without tools), and
        its problems this chat was not told of yet."""
        tier = chat.session.tier
        if not tier.tools:
            yield None, []
            return
        async with self.host.tools(tier) as (hub, problems):
            news = [line for line in problems if line not in chat.told]
            chat.told.update(news)
            yield hub, news

    # -- what a chat's commands read ------------------------------------------------------

    async def status(self, chat: DaemonChat) -> dict[str, Any]:
        """The chat's state, and its tier's tools for the toolbar (None: not started)."""
        state = (await chat.session.state()).to_dict()
        warm = self.host.warm_hub(chat.session.tier.name)
        if warm is None or not chat.session.tier.tools:
            return {**state, "tools": None}
        counts: dict[str, int] = {}
        for server in warm.servers.values():
            counts[server.state] = counts.get(server.state, 0) + 1
        return {**state, "tools": {"count": len(warm), "states": counts}}
