"""Building the pieces a command needs from settings: the model, the tools, the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rung.agent.conversation import Conversation
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.sessions import SessionStore
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.base import ToolRegistry

if TYPE_CHECKING:
    from rung.agent.recall import Recall
    from rung.agent.tool_choice import ToolChooser


def open_store(paths: Paths | None = None) -> SessionStore:
    return SessionStore((paths or Paths.default()).sessions_db)


def build_tools(settings: Settings) -> ToolRegistry | None:
    """The tools a tier offers. The chatbot tier has none; MCP servers join from the agent
    tier up."""
    return None if settings.tier == "chatbot" else ToolRegistry()


def build_chooser(settings: Settings) -> ToolChooser | None:
    """Picks the tools a turn offers when more than `max_tools` are enabled."""
    if settings.tier == "chatbot":
        return None
    from rung.agent.tool_choice import ToolChooser
    from rung.memory.embedder import Embedder

    return ToolChooser(
        Embedder.shared(settings.embedding_model),
        limit=settings.max_tools,
        pinned=settings.pinned_tools,
    )


def build_recall(settings: Settings, store: SessionStore | None) -> Recall | None:
    """The assistant tier's memory (its embedding model starts loading now); else None."""
    if settings.tier != "assistant":
        return None
    from rung.agent.recall import Recall

    return Recall.open(settings, Paths.default().memory_dir, store)


def build_conversation(
    settings: Settings,
    *,
    store: SessionStore | None,
    session_id: str | None = None,
    model: OllamaChatModel | None = None,
) -> Conversation:
    """A conversation in the settings' tier; its `close()` lets go of its memory."""
    return Conversation(
        model or OllamaChatModel.from_settings(settings),
        num_ctx=settings.num_ctx,
        tier=settings.tier,
        max_steps=settings.max_steps,
        tools=build_tools(settings),
        store=store,
        session_id=session_id,
        recall=build_recall(settings, store),
        chooser=build_chooser(settings),
    )
