"""The way back from a turn to the client that started it: the turn's events, and the
approvals its tool calls wait for.

The daemon's tool hubs are shared by every turn, so their approver cannot be one client's
terminal: it is `Approvals`, which finds the turn a call belongs to through a context
variable (each turn runs in its own task, and the tasks it starts inherit it), sends the
question to that turn's client as an event, and waits for its answer — a no when it does
not come in time, when the client cannot answer (no terminal), or when it has gone."""

from __future__ import annotations

import asyncio
import contextvars
import fnmatch
import secrets

from rung.agent.daemon.wire import ApprovalAsked, WireEvent
from rung.tools.approvals import Answer, ApprovalRequest, Scope


class Channel:
    """One turn's events, in order, for its client; None after the last.

    An unattended turn (a job) has `grants`: the "server:tool" globs it may call without
    asking; every other tool is refused it, whatever the policy says."""

    def __init__(
        self, *, interactive: bool, grants: tuple[str, ...] | None = None, owner: str = ""
    ) -> None:
        self.interactive = interactive  # the client can answer approvals
        self.grants = grants
        self.owner = owner  # "the job NAME": whose grants, in what the user is told
        self._events: asyncio.Queue[WireEvent | None] = asyncio.Queue()

    def put(self, event: WireEvent) -> None:
        self._events.put_nowait(event)

    def close(self) -> None:
        self._events.put_nowait(None)

    async def get(self) -> WireEvent | None:
        return await self._events.get()


CURRENT: contextvars.ContextVar[Channel | None] = contextvars.ContextVar(
    "rung_turn_channel", default=None
)


class Approvals:
    """The daemon's approver: asks the client of the turn the call belongs to."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._waiting: dict[str, asyncio.Future[Answer]] = {}

    def present(self) -> bool:
        """Someone can answer for the turn in this context (its client has a terminal)."""
        channel = CURRENT.get()
        return channel is not None and channel.interactive

    def scope(self, server: str, tool: str) -> Scope | None:
        """An unattended turn calls its own tools without asking, and nothing else."""
        channel = CURRENT.get()
        if channel is None or channel.grants is None:
            return None
        if any(fnmatch.fnmatchcase(f"{server}:{tool}", glob) for glob in channel.grants):
            return ("allow", "")
        granted = ", ".join(channel.grants) or "none"
        return ("deny", f"{channel.owner} may use only its own tools unattended ({granted})")

    async def __call__(self, request: ApprovalRequest) -> Answer:
        channel = CURRENT.get()
        if channel is None or not channel.interactive:
            return "deny"
        key = secrets.token_hex(8)
        answer: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting[key] = answer
        try:
            channel.put(ApprovalAsked(key, request, self.timeout))
            async with asyncio.timeout(self.timeout):
                return await answer
        except TimeoutError:
            return "deny"
        finally:
            del self._waiting[key]

    def answer(self, key: str, answer: Answer) -> bool:
        """The client's answer to approval `key`; False when nothing waits for it (it timed
        out, was answered already, or never was)."""
        waiting = self._waiting.get(key)
        if waiting is None or waiting.done():
            return False
        waiting.set_result(answer)
        return True
