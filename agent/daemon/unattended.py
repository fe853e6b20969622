"""A turn no one watches (a job's run, a heartbeat's look): the engine's `one_turn` on the
daemon's warm tools and memory, in a channel that grants only the given tools — they run
without asking, every other call is refused and the model is told why — and a record of
what it did, kept up to date as the events come (so a run that is stopped part-way still
has what it said)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rung.agent.daemon.channel import Channel
from rung.agent.daemon.ledger import ToolUse
from rung.agent.daemon.wire import TurnFailed, WireEvent
from rung.agent.messages import FinalAnswer, ToolResult, TurnBegun, TurnEvent
from rung.agent.turn import one_turn
from rung.config.settings import Settings

if TYPE_CHECKING:
    from rung.agent.daemon.host import Host
    from rung.agent.sessions import SessionStore


@dataclass
class TurnRecord:
    answer: str = ""
    calls: list[ToolUse] = field(default_factory=list)
    error: str = ""  # the error the turn ended with, and its hint
    session: str | None = None
    tokens: int = 0  # the last prompt and every reply (the turn's usage)

    @property
    def refused(self) -> bool:
        return any(c.outcome == "denied" for c in self.calls)

    def take(self, event: WireEvent) -> None:
        if isinstance(event, TurnBegun):
            self.session = event.session_id
        elif isinstance(event, ToolResult):
            self.calls.append(tool_use(event))
        elif isinstance(event, FinalAnswer):
            self.answer = event.message.content
            self.tokens = event.usage.prompt_tokens + event.usage.completion_tokens
        elif isinstance(event, TurnFailed):
            self.error = event.message + (f" ({event.hint})" if event.hint else "")


async def run_unattended(
    host: Host,
    settings: Settings,
    question: str,
    record: TurnRecord,
    *,
    grants: tuple[str, ...],
    owner: str,
    store: SessionStore | None,
) -> AsyncIterator[TurnBegun]:
    """Run the turn, filling `record`; yields its `TurnBegun` (when the session is known)."""
    channel = Channel(interactive=False, grants=grants, owner=owner)

    def turn() -> AsyncIterator[TurnEvent]:
        return one_turn(settings, question, store=store, tools=host.tools, paths=host.paths)

    async for event in host.events(turn, channel):
        record.take(event)
        if isinstance(event, TurnBegun):
            yield event


def tool_use(result: ToolResult) -> ToolUse:
    call = result.call
    if result.refused:
        return ToolUse(call.name, call.arguments, "denied", result.refused)
    if result.is_error:
        return ToolUse(call.name, call.arguments, "error", result.content[:500])
    return ToolUse(call.name, call.arguments, "ok")
