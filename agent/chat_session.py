"""One chat, whatever shows it: its conversation, its model and its tier, and what a chat
can do with them — send a message, start a new session or resume one, switch the model or
the tier, compact, and say where it stands. The terminal runs one in its own process; the
daemon runs one for each terminal that chats through it. The tools are the front end's to
give (`send(..., tools=…)`): started by the terminal, or the daemon's warm ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from rung.agent import tiers
from rung.agent.conversation import Conversation
from rung.agent.messages import LoopEvent, Notice, RecalledMemory, Usage
from rung.agent.ollama_model import OllamaChatModel, capped_notice
from rung.agent.runtime import build_conversation, open_memory, tier_of, use_tier
from rung.agent.sessions import SessionStore
from rung.agent.tiers import Tier
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.base import ToolRegistry


@dataclass
class ChatState:
    """Where a chat stands: what its banner, /usage, /memory and /context show."""

    session_id: str
    model: str
    tier: str
    turns: int  # the user's messages in the session so far
    last_answer: str  # the last assistant message (shown on /resume)
    num_ctx: int
    calibration: float
    budget: list[tuple[str, int]]
    recall: bool  # the tier recalls memories
    recalled: list[RecalledMemory] = field(default_factory=list)
    last_usage: Usage | None = None
    last_reply: str = ""  # the last turn's answer (which memories it cited)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatState:
        usage = data.get("last_usage")
        return cls(
            **{
                **data,
                "budget": [tuple(row) for row in data["budget"]],
                "recalled": [RecalledMemory(**m) for m in data.get("recalled") or []],
                "last_usage": Usage(**usage) if usage else None,
            }
        )


class ChatSession:
    def __init__(
        self,
        settings: Settings,
        store: SessionStore | None,  # None: its turns are not stored (`rung ask --no-save`)
        paths: Paths,
    ) -> None:
        self.settings = settings
        self.paths = paths
        self.model = OllamaChatModel.from_settings(settings)
        self.tier: Tier = tier_of(settings)
        self.conversation: Conversation = build_conversation(
            settings, store=store, model=self.model, paths=paths
        )
        self.ready = False  # the model was checked (present, tools if needed)
        self._memory: asyncio.Future[str | None] | None = None

    # -- the memory, the model ----------------------------------------------------------

    def open_memory_soon(self) -> None:
        """Open the tier's memory in the background (the embedding model: seconds)."""
        self._memory = asyncio.ensure_future(self._open_memory())

    async def _open_memory(self) -> str | None:
        line = await open_memory(self.conversation, self.settings, self.paths)
        if self.conversation.recall is not None:
            self.conversation.recall.start()  # catches up on past turns in the background
        return line

    async def memory_opened(self) -> str | None:
        """Once the memory is open (or could not be): the line that says it could not."""
        if self._memory is None:
            return None
        return await asyncio.shield(self._memory)

    async def ensure_ready(self) -> list[str]:
        """Check the model once (`ModelNotFound` when it is not pulled); the lines to show."""
        if self.ready:
            return []
        await self.model.check(tools=self.tier.tools)
        self.ready = True
        self.conversation.num_ctx = self.model.num_ctx
        return [capped_notice(self.model)] if self.model.capped_from is not None else []

    # -- a turn ---------------------------------------------------------------------------

    async def send(self, text: str, tools: ToolRegistry | None) -> AsyncIterator[LoopEvent]:
        """The model checked, the memory open, then the turn: its events."""
        for line in await self.ensure_ready():
            yield Notice(line)
        await self.memory_opened()  # the turn recalls from it, or goes without (said once)
        if self.tier.tools:
            self.conversation.tools = tools if tools is not None else ToolRegistry()
        async for event in self.conversation.send(text):
            yield event

    # -- what a chat's commands change -----------------------------------------------------

    async def new_session(self) -> None:
        self.conversation.new_session()

    async def resume(self, session_id: str) -> None:
        """Continue a stored session (`SessionError` for an unknown id)."""
        self.conversation.resume(session_id)

    async def use_model(self, name: str) -> None:
        """Switch to model `name` once it answers its check; the old one stays otherwise."""
        model = OllamaChatModel.from_settings(self.settings, model=name)
        old, old_ready = self.model, self.ready
        self.model, self.ready = model, False
        try:
            await self.ensure_ready()
        except RungError:
            self.model, self.ready = old, old_ready
            await model.aclose()
            raise
        await old.aclose()
        self.settings = self.settings.model_copy(update={"model": name})
        self.conversation.model = model

    async def use_tier(self, name: str) -> Tier:
        """Switch to tier `name` (an unknown one is a `RungError` listing the others), the
        conversation kept; returns the tier it was in."""
        tier = tiers.get(name)
        self.settings = self.settings.model_copy(update={"default_tier": tier.name})
        old, self.tier = self.tier, tier
        old_recall = use_tier(self.conversation, self.settings, self.paths)
        if old_recall is not None:
            await asyncio.to_thread(old_recall.close)  # its store's lock, before the new one
        self.open_memory_soon()
        self.ready = False
        return old

    async def compact(self) -> str:
        for _ in await self.ensure_ready():
            pass
        return await self.conversation.compact()

    async def state(self) -> ChatState:
        conversation = self.conversation
        last_answer = next(
            (m.content for m in reversed(conversation.history) if m.role == "assistant"), ""
        )
        last = conversation.last
        return ChatState(
            session_id=conversation.session_id,
            model=self.model.name,
            tier=self.tier.name,
            turns=sum(1 for m in conversation.history if m.role == "user"),
            last_answer=last_answer,
            num_ctx=conversation.num_ctx,
            calibration=conversation.calibration,
            budget=conversation.budget(),
            recall=conversation.recall is not None,
            recalled=list(conversation.recalled),
            last_usage=last.usage if last else None,
            last_reply=last.answer if last else "",
        )

    async def close(self) -> None:
        if self._memory is not None:
            await asyncio.gather(self._memory, return_exceptions=True)
        await self.model.aclose()
        await asyncio.to_thread(self.conversation.close)
