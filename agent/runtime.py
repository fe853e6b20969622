"""Building the pieces a command needs from settings: the model, the tools, the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from rung.agent import tiers
from rung.agent.conversation import Conversation
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.prompt import read_markdown, system_parts
from rung.agent.sessions import SessionStore
from rung.agent.tiers import Tier
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.base import ToolRegistry

if TYPE_CHECKING:
    from rung.agent.recall import Recall
    from rung.agent.tool_choice import ToolChooser


def open_store(paths: Paths | None = None) -> SessionStore:
    return SessionStore((paths or Paths.default()).sessions_db)


def tier_of(settings: Settings) -> Tier:
    return tiers.get(settings.tier)


def build_tools(settings: Settings) -> ToolRegistry | None:
    """The tools a tier offers: none in a tier without tools (no `tools` in the request);
    the MCP servers' tools join once the hub is up."""
    return ToolRegistry() if tier_of(settings).tools else None


def build_chooser(settings: Settings) -> ToolChooser | None:
    """Picks the tools a turn offers when more than `max_tools` are enabled."""
    if not tier_of(settings).tools:
        return None
    from rung.agent.tool_choice import ToolChooser
    from rung.memory.embedder import Embedder

    return ToolChooser(
        Embedder.shared(settings.embedding_model),
        limit=settings.max_tools,
        pinned=settings.pinned_tools,
    )


def build_recall(settings: Settings, store: SessionStore | None) -> Recall | None:
    """The memory of a tier with recall (nothing loads until its `start()`); else None."""
    if not tier_of(settings).recall:
        return None
    from rung.agent.recall import Recall

    return Recall.open(settings, Paths.default().memory_dir, store)


def build_conversation(
    settings: Settings,
    *,
    store: SessionStore | None,
    session_id: str | None = None,
    model: OllamaChatModel | None = None,
    paths: Paths | None = None,
) -> Conversation:
    """A conversation in the settings' tier; its `close()` lets go of its memory."""
    conversation = Conversation(
        model or OllamaChatModel.from_settings(settings),
        num_ctx=model.num_ctx if model is not None else settings.num_ctx,
        tier=settings.tier,
        store=store,
        session_id=session_id,
        compact_at=settings.compact_at,
        turn_timeout=settings.turn_timeout,
        tool_result_share=settings.tool_result_share,
    )
    use_tier(conversation, settings, paths or Paths.default())
    return conversation


def use_tier(conversation: Conversation, settings: Settings, paths: Paths) -> Recall | None:
    """Put `conversation` in the settings' tier, its history kept: the tier's step limit,
    tools, memory, system message and clock. Returns the memory it had, for the caller to
    close (`Recall.close` waits for its recording thread)."""
    tier = tier_of(settings)
    old = conversation.recall
    recall = build_recall(settings, conversation.store)
    conversation.tier = tier.name
    conversation.max_steps = tier.max_steps or settings.max_steps
    conversation.tools = build_tools(settings)
    conversation.chooser = build_chooser(settings)
    conversation.recall = recall
    conversation.recalled = ()  # the last turn's memories were the old tier's
    conversation.system = system_builder(tier, paths, recall)
    conversation.clock = local_now if tier.recall else None
    return old


async def open_memory(conversation: Conversation, settings: Settings, paths: Paths) -> str | None:
    """Open the conversation's memory before its first use: the embedded store takes its
    one-process lock here (`StoreBusy` while another Rung process has it). A memory that
    cannot be opened is let go of and the conversation goes on without it (the model, the
    tools and the sessions still work): returns the one line that says so, else None."""
    recall = conversation.recall
    if recall is None:
        return None
    try:
        await asyncio.to_thread(_open_store, recall)
    except RungError as exc:
        conversation.recall = None
        conversation.system = system_builder(tier_of(settings), paths, None)
        await asyncio.to_thread(recall.close)
        hint = f"; {exc.hint}" if exc.hint else ""
        return f"Answering without memory: {exc.message}{hint}"
    return None


def _open_store(recall: Recall) -> None:
    with recall.memory.lock:
        _ = recall.memory.store  # opened (and locked) once, for this process


def system_builder(tier: Tier, paths: Paths, recall: Recall | None) -> Callable[[], dict[str, str]]:
    """The tier's system message in parts, read afresh each turn (an edited persona.md or
    profile.md counts from the next message; unchanged files give the same bytes)."""

    def system() -> dict[str, str]:
        return system_parts(
            tier,
            persona=read_markdown(paths.persona_file),
            profile=read_markdown(paths.profile_file) if tier.profile else "",
            facts=recall.known_facts() if tier.profile and recall is not None else (),
        )

    return system


def local_now() -> datetime:
    return datetime.now().astimezone()
