"""One question, one answer, from settings: what `rung ask` runs in its own process and
what the daemon runs for each turn it is sent. The front end says where the tools come from
(started for this turn, or the daemon's warm ones) and shows the events; everything in
between — the model's check, the memory, the notices, the turn itself — is here, once."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

from rung.agent.chat_session import ChatSession
from rung.agent.messages import Notice, TurnBegun, TurnEvent
from rung.agent.tiers import Tier, tier_rules
from rung.config.paths import Paths
from rung.config.settings import Settings

if TYPE_CHECKING:
    from rung.agent.sessions import SessionStore
    from rung.tools.approvals import Approver
    from rung.tools.hub import ToolHub

# The tools of a tier, and a line for each problem with them; the hub is the front end's
# to keep or close when the turn is over.
ToolSource = Callable[[Tier], AbstractAsyncContextManager[tuple["ToolHub", list[str]]]]


async def one_turn(
    settings: Settings,
    question: str,
    *,
    store: SessionStore | None,
    tools: ToolSource,
    paths: Paths | None = None,
) -> AsyncIterator[TurnEvent]:
    """Answer `question` in a new session of the settings' tier (stored in `store` unless it
    is None): `TurnBegun`, then the turn's own events up to its `FinalAnswer`. The setup's
    notices (a capped context, tools that failed, a memory that could not be opened) come
    as `Notice`s before `TurnBegun`. Raises `RungError` when the model cannot be used."""
    paths = paths or Paths.default()
    chat = ChatSession(settings, store, paths)
    try:
        for line in await chat.ensure_ready():  # a capped context
            yield Notice(line)
        # The memory opens while the tool servers start; one that cannot (another Rung
        # process holds it) is said once, and the answer comes without it.
        chat.open_memory_soon()
        async with AsyncExitStack() as stack:
            try:
                hub, problems = await stack.enter_async_context(_tools_of(chat.tier, tools))
            finally:
                without_memory = await chat.memory_opened()
            for line in problems:
                yield Notice(line)
            if without_memory:
                yield Notice(without_memory)
            if chat.tier.recall:
                from rung.agent.tool_check import weak_model_warning

                warning = weak_model_warning(paths.state_dir, settings.model)
                if warning:
                    yield Notice(warning)
            session = chat.conversation.session_id if store is not None else None
            yield TurnBegun(session, settings.tier, settings.model, tool_servers(hub))
            async for event in chat.send(question, hub):
                yield event
    finally:
        await chat.close()  # waits for the turn to be recorded into memory


def tool_servers(hub: ToolHub | None) -> dict[str, str]:
    """Which server each of the hub's tools comes from."""
    if hub is None:
        return {}
    return {spec.name: server for spec in hub.specs() if (server := hub.tool_server(spec.name))}


@asynccontextmanager
async def _tools_of(
    tier: Tier, tools: ToolSource
) -> AsyncIterator[tuple[ToolHub | None, list[str]]]:
    if not tier.tools:
        yield None, []
        return
    async with tools(tier) as (hub, problems):
        yield hub, problems


def started_tools(approver: Approver, paths: Paths | None = None) -> ToolSource:
    """Tools started for one turn and stopped after it (`rung ask` in its own process)."""

    @asynccontextmanager
    async def source(tier: Tier) -> AsyncIterator[tuple[ToolHub, list[str]]]:
        hub, problems = await start_tools(tier, approver, paths or Paths.default())
        try:
            yield hub, problems
        finally:
            await hub.aclose()

    return source


async def start_tools(tier: Tier, approver: Approver, paths: Paths) -> tuple[ToolHub, list[str]]:
    """Every tool server the tier uses, started and settled (ready or failed); and a line
    for each entry of mcp.json that was skipped, with why, and for each `tool_problems`."""
    from rung.tools.catalog import open_hub

    hub, problems = open_hub(
        paths.mcp_file,
        paths.server_logs,
        approver,
        use=tier.uses_server,
        rules=tier_rules(tier),
        audit=paths.audit_log,
    )
    await hub.start_and_wait()
    return hub, [*problems, *tool_problems(hub)]


def tool_problems(hub: ToolHub) -> list[str]:
    """A line for each server that is not ready, with why, and each with tools its pins
    block."""
    failures = [
        f"tool server {s.name} failed: {s.reason} (log: {s.log_path})"
        for s in hub.servers.values()
        if s.state != "ready"
    ]
    blocked = [line for s in hub.servers.values() if (line := s.pin_notice())]
    return [*failures, *blocked]
