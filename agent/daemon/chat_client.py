"""A chat that runs in the daemon, seen from the terminal: the same methods as the engine's
`ChatSession`, each a request to /v1/chats (see `chat_api`), so the terminal's `ChatApp`
drives either the same way. One connection pool for the chat's whole life."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

from rung.agent import tiers
from rung.agent.chat_session import ChatState
from rung.agent.daemon.client import DaemonClient
from rung.agent.messages import LoopEvent, TurnBegun
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.tiers import Tier
from rung.config.settings import Settings
from rung.tools.approvals import Approver, no_one_to_ask, someone_to_ask
from rung.tools.base import ToolRegistry
from rung.tools.views import ServerView, prompt_view, resource_view, server_view

if TYPE_CHECKING:
    from rung.tools.mcp_client import RemotePrompt, RemoteResource


class RemoteChat:
    def __init__(self, daemon: DaemonClient, settings: Settings) -> None:
        self.daemon = daemon
        self.settings = settings
        self.tier: Tier = tiers.get(settings.tier)
        self.model = OllamaChatModel.from_settings(settings)  # for /model's list of installed
        self.approver: Approver = no_one_to_ask  # the terminal's, once its tools are made
        self.servers: dict[str, str] = {}  # tool -> server, as of the last turn
        self.tools: dict[str, Any] | None = None  # the toolbar's counts, as of the last state
        self._client = daemon.async_client(read_timeout=None)
        self._path = ""

    async def open(self) -> None:
        data = await self._call("POST", "/v1/chats", {"settings": self._settings()})
        self._path = f"/v1/chats/{data['chat']}"
        self._took(data)

    def _settings(self) -> dict[str, Any]:
        return self.settings.model_dump(mode="json")

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise self.daemon.transport_error(exc, during="the chat") from None
        return self.daemon.check(response, path)

    def _took(self, data: dict[str, Any]) -> ChatState:
        """The chat's state from an answer that carries it."""
        self.tools = data.get("tools")
        fields = {k: v for k, v in data.items() if k in ChatState.__dataclass_fields__}
        state = ChatState.from_dict(fields)
        if state.tier != self.tier.name:
            self.tier = tiers.get(state.tier)
        self.settings = self.settings.model_copy(
            update={"model": state.model, "default_tier": state.tier}
        )
        return state

    # -- as ChatSession -------------------------------------------------------------------

    def open_memory_soon(self) -> None:
        """The daemon opened it with the chat."""

    async def memory_opened(self) -> str | None:
        data = await self._call("GET", f"{self._path}/memory")
        line = data.get("line")
        return line if isinstance(line, str) else None

    async def ensure_ready(self) -> list[str]:
        data = await self._call("POST", f"{self._path}/ready", {})
        return [str(line) for line in data.get("lines") or []]

    async def send(self, text: str, tools: ToolRegistry | None) -> AsyncIterator[LoopEvent]:
        """The message's turn in the daemon; `tools` are the daemon's own there."""
        body = {"text": text, "interactive": someone_to_ask(self.approver)}
        try:
            async for event in self.daemon.stream(
                self._client, f"{self._path}/messages", body, self.approver
            ):
                if isinstance(event, TurnBegun):
                    self.servers = event.servers
                else:
                    yield event
        except asyncio.CancelledError:
            # Ctrl-C: the daemon stops the turn, and keeps what was said, before we say so
            await asyncio.shield(self._call("POST", f"{self._path}/stop", {}))
            raise

    async def new_session(self) -> None:
        self._took(await self._call("POST", f"{self._path}/new", {}))

    async def resume(self, session_id: str) -> None:
        self._took(await self._call("POST", f"{self._path}/resume", {"session": session_id}))

    async def use_model(self, name: str) -> None:
        self._took(await self._call("POST", f"{self._path}/model", {"name": name}))

    async def use_tier(self, name: str) -> Tier:
        old = self.tier
        self._took(await self._call("POST", f"{self._path}/tier", {"name": name}))
        return old

    async def compact(self) -> str:
        data = await self._call("POST", f"{self._path}/compact", {})
        self._took(data)
        return str(data["said"])

    async def state(self) -> ChatState:
        return self._took(await self._call("GET", self._path))

    async def close(self) -> None:
        try:
            if self._path:
                await self._call("DELETE", self._path)
        finally:
            await self._client.aclose()
            await self.model.aclose()

    # -- the tier's tools, for /tools, /prompt and /attach ---------------------------------

    async def server_views(self) -> list[ServerView] | None:
        data = await self._call("GET", f"{self._path}/tools")
        servers = data.get("servers")
        return [server_view(s) for s in servers] if servers is not None else None

    async def prompts(self) -> list[tuple[str, RemotePrompt]] | None:
        found = (await self._call("GET", f"{self._path}/prompts")).get("prompts")
        return [(s, prompt_view(p)) for s, p in found] if found is not None else None

    async def rendered_prompt(self, typed: str) -> str:
        data = await self._call("POST", f"{self._path}/prompt", {"typed": typed})
        return str(data.get("text") or "")

    async def resources(self) -> list[tuple[str, RemoteResource]] | None:
        found = (await self._call("GET", f"{self._path}/resources")).get("resources")
        return [(s, resource_view(r)) for s, r in found] if found is not None else None

    async def read_resource(self, uri: str) -> str | None:
        text = (await self._call("POST", f"{self._path}/resource", {"uri": uri})).get("text")
        return text if isinstance(text, str) else None
