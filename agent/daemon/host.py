"""What the daemon keeps warm for every turn, and the turns in flight.

One owner, for the user's whole machine, of what cannot be shared between processes or is
slow to start: the session store, the memory (its embedded store takes a one-process lock;
the embedding model loads once), and one tool hub per tier (its MCP servers started once
and kept running). Each turn runs the engine's `one_turn` in a task of its own, its events
going to the client that asked for it through its `Channel`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rung.agent.daemon.channel import CURRENT, Approvals, Channel
from rung.agent.daemon.wire import TurnFailed, encode
from rung.agent.runtime import open_store
from rung.agent.tiers import Tier
from rung.agent.turn import one_turn, start_tools, tool_problems
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import Settings

if TYPE_CHECKING:
    from rung.agent.sessions import SessionStore
    from rung.tools.hub import ToolHub

log = logging.getLogger(__name__)

APPROVAL_TIMEOUT_S = 300.0  # as at the terminal; then the call is denied


@dataclass
class TurnRequest:
    question: str
    settings: Settings
    save: bool = True  # stored as a session (`rung ask --no-save`: not)
    interactive: bool = False  # its client can answer approvals


@dataclass
class Counters:
    """What `rung daemon status` tells about the turns."""

    served: int = 0
    failed: int = 0
    last_errors: list[str] = field(default_factory=list)

    def failure(self, line: str) -> None:
        self.failed += 1
        self.last_errors = [*self.last_errors, line][-5:]


class Host:
    def __init__(self, settings: Settings, paths: Paths) -> None:
        self.settings = settings
        self.paths = paths
        self.approvals = Approvals(APPROVAL_TIMEOUT_S)
        self.counters = Counters()
        self._store: SessionStore | None = None
        self._hubs: dict[str, tuple[ToolHub, list[str]]] = {}  # tier -> hub, mcp.json's problems
        self._hub_lock = asyncio.Lock()
        self._turns: set[asyncio.Task[None]] = set()

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            self._store = open_store(self.paths)
        return self._store

    async def start(self) -> None:
        """Load the embedding model in the background: the first turn that recalls would
        wait for it. (The memory's store is opened by each turn that uses it and let go
        of after: `rung chat` and `rung memory`, which do not go through the daemon yet,
        can open it between the daemon's turns.)"""
        from rung.memory.embedder import Embedder

        Embedder.shared(self.settings.embedding_model).warm()

    async def close(self) -> None:
        """Cancel the turns in flight (each keeps what was said, marked as interrupted),
        stop the tool servers, and close the stores."""
        for task in self._turns:
            task.cancel()
        await asyncio.gather(*self._turns, return_exceptions=True)
        for hub, _ in self._hubs.values():
            await hub.aclose()
        self._hubs.clear()
        if self._store is not None:
            self._store.close()
            self._store = None

    def servers(self) -> list[dict[str, object]]:
        """Each tier's tool servers and their state, for `status`."""
        return [
            {"tier": tier, "name": s.name, "state": s.state, "reason": s.reason or None}
            for tier, (hub, _) in self._hubs.items()
            for s in hub.servers.values()
        ]

    @contextlib.asynccontextmanager
    async def tools(self, tier: Tier) -> AsyncIterator[tuple[ToolHub, list[str]]]:
        """The tier's hub, started at its first turn and kept for the next ones."""
        async with self._hub_lock:
            if tier.name not in self._hubs:
                hub, problems = await start_tools(tier, self.approvals, self.paths)
                skipped = problems[: len(problems) - len(tool_problems(hub))]
                self._hubs[tier.name] = hub, skipped
            hub, skipped = self._hubs[tier.name]
        yield hub, [*skipped, *tool_problems(hub)]

    async def turn(self, request: TurnRequest) -> AsyncIterator[bytes]:
        """The turn's events as NDJSON lines. The turn runs in its own task: a client that
        goes away (Ctrl-C) cancels it, and what was said is kept as interrupted."""
        channel = Channel(interactive=request.interactive)
        task = asyncio.create_task(self._run(request, channel))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
        try:
            while (event := await channel.get()) is not None:
                yield encode(event)
        finally:
            task.cancel()  # a no-op once it is done; the client has what it wanted

    async def _run(self, request: TurnRequest, channel: Channel) -> None:
        CURRENT.set(channel)  # this task's context: the approvals of its calls go to it
        store = self.store if request.save else None
        try:
            async for event in one_turn(
                request.settings,
                request.question,
                store=store,
                tools=self.tools,
                paths=self.paths,
            ):
                channel.put(event)
            self.counters.served += 1
        except RungError as exc:
            self.counters.failure(exc.message)
            channel.put(TurnFailed.of(exc))
        except asyncio.CancelledError:
            log.info("a turn was stopped (its client went away, or the daemon stops)")
            raise
        except Exception as exc:  # the daemon stays up; the log has the traceback
            log.exception("a turn failed")
            self.counters.failure(f"{type(exc).__name__}: {exc}")
            channel.put(
                TurnFailed(
                    f"the daemon failed this turn ({type(exc).__name__}: {exc})",
                    hint="`rung daemon logs` shows the traceback",
                )
            )
        finally:
            channel.close()
