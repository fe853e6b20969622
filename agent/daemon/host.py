"""What the daemon keeps warm for every turn, and the turns in flight.

One owner, for the user's whole machine, of what cannot be shared between processes or is
slow to start: the session store, the memory (one `Memory` in this process, shared by the
turns, chats and /v1/memory requests that use it; its embedded store open while one does,
the embedding model loaded once), and one tool hub per tier (its MCP servers started once
and kept running). Each turn — a one-shot `one_turn`, or a chat's message (`chats.py`) —
runs in a task of its own, its events going to the client that asked for it through its
`Channel`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rung.agent.daemon.channel import CURRENT, Approvals, Channel
from rung.agent.daemon.chats import Chats
from rung.agent.daemon.wire import TurnFailed, WireEvent, encode
from rung.agent.messages import TurnEvent
from rung.agent.runtime import open_store, tier_of
from rung.agent.tiers import Tier, tier_rules
from rung.agent.turn import one_turn, start_tools, tool_problems
from rung.config.errors import RungError
from rung.config.mcp_file import ServerConfig
from rung.config.paths import PINS_FILE, Paths
from rung.config.settings import Settings
from rung.tools.catalog import load_catalog, policy_for

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
class WarmHub:
    """A tier's tool hub, what it was started from, and the turns using it now."""

    hub: ToolHub
    skipped: list[str]  # mcp.json's entries that were skipped, each with why
    servers: list[ServerConfig]
    pins: bytes
    users: int = 0
    retired: bool = False
    closing: asyncio.Future[None] | None = None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


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
        self._hubs: dict[str, WarmHub] = {}  # by tier
        self._closing: set[asyncio.Future[None]] = set()  # retired hubs stopping
        self._hub_lock = asyncio.Lock()
        self._turns: set[asyncio.Task[None]] = set()
        self.chats = Chats(self)  # the terminals' chats

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            self._store = open_store(self.paths)
        return self._store

    async def start(self) -> None:
        """Load the embedding model in the background when the default tier recalls, so
        its first turn does not wait for it (any other tier that needs it loads it at its
        first turn, once). The memory's store is opened by each request that uses it and
        let go of after, so a `--local` command can use it between them."""
        from rung.memory.embedder import Embedder

        if tier_of(self.settings).recall:
            Embedder.shared(self.settings.embedding_model).warm()

    async def close(self) -> None:
        """Cancel the turns in flight (each keeps what was said, marked as interrupted),
        stop the tool servers, and close the stores."""
        for task in self._turns:
            task.cancel()
        await asyncio.gather(*self._turns, return_exceptions=True)
        await self.chats.close_all()
        for warm in self._hubs.values():
            await warm.hub.aclose()
        self._hubs.clear()
        await asyncio.gather(*self._closing, return_exceptions=True)
        if self._store is not None:
            self._store.close()
            self._store = None

    def warm_hub(self, tier: str) -> ToolHub | None:
        """The tier's hub, if a turn has started it."""
        warm = self._hubs.get(tier)
        return warm.hub if warm is not None else None

    def servers(self) -> list[dict[str, object]]:
        """Each tier's tool servers and their state, for `status`."""
        return [
            {"tier": tier, "name": s.name, "state": s.state, "reason": s.reason or None}
            for tier, warm in self._hubs.items()
            for s in warm.hub.servers.values()
        ]

    @contextlib.asynccontextmanager
    async def tools(self, tier: Tier) -> AsyncIterator[tuple[ToolHub, list[str]]]:
        """The tier's hub, started at its first turn and kept for the next ones. Each turn
        reads mcp.json again: an edited rule (`rung tools allow|deny|trust …`) counts from
        that turn; changed servers or pins start a new hub (the old one stops once the turns
        that use it are over)."""
        async with self._hub_lock:
            catalog = load_catalog(self.paths.mcp_file, tier.uses_server)
            pins_file = self.paths.mcp_file.with_name(PINS_FILE)
            pins = _read(pins_file)
            warm = self._hubs.get(tier.name)
            if warm is not None and (warm.servers, warm.pins) != (catalog.servers, pins):
                log.info("the %s tier's tool servers changed: starting them again", tier.name)
                del self._hubs[tier.name]
                self._retire(warm)
                warm = None
            if warm is None:
                hub, problems = await start_tools(tier, self.approvals, self.paths)
                skipped = problems[: len(problems) - len(tool_problems(hub))]
                pins = _read(pins_file)  # with the pins of any tools seen for the first time
                warm = self._hubs[tier.name] = WarmHub(hub, skipped, catalog.servers, pins)
            else:
                warm.hub.policy = policy_for(catalog, tier_rules(tier))
            warm.users += 1
        try:
            yield warm.hub, [*warm.skipped, *tool_problems(warm.hub)]
        finally:
            warm.users -= 1
            if warm.retired:
                self._retire(warm)

    def _retire(self, warm: WarmHub) -> None:
        """Stop a hub no new turn gets, once no turn uses it."""
        warm.retired = True
        if warm.users == 0 and warm.closing is None:
            warm.closing = asyncio.ensure_future(warm.hub.aclose())
            self._closing.add(warm.closing)
            warm.closing.add_done_callback(self._closing.discard)

    def turn(self, request: TurnRequest) -> AsyncIterator[bytes]:
        """A one-shot turn (`rung ask`): its events as NDJSON lines."""
        store = self.store if request.save else None
        return self.stream(
            lambda: one_turn(
                request.settings,
                request.question,
                store=store,
                tools=self.tools,
                paths=self.paths,
            ),
            interactive=request.interactive,
        )

    async def stream(
        self, events: Callable[[], AsyncIterator[TurnEvent]], *, interactive: bool
    ) -> AsyncIterator[bytes]:
        """The events of a turn as NDJSON lines, the approvals its calls ask for among them.
        The turn runs in its own task: a client that goes away (Ctrl-C) cancels it, and
        what was said is kept as interrupted."""
        async for event in self.events(events, Channel(interactive=interactive)):
            yield encode(event)

    async def events(
        self, events: Callable[[], AsyncIterator[TurnEvent]], channel: Channel
    ) -> AsyncIterator[WireEvent]:
        """The events of a turn run in its own task, its approvals going to `channel`;
        closing this iterator (a client gone, a job cancelled) cancels the turn."""
        task = asyncio.create_task(self._run(events, channel))
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)
        try:
            while (event := await channel.get()) is not None:
                yield event
        finally:
            task.cancel()  # a no-op once it is done; the caller has what it wanted

    async def _run(self, events: Callable[[], AsyncIterator[TurnEvent]], channel: Channel) -> None:
        CURRENT.set(channel)  # this task's context: the approvals of its calls go to it
        try:
            async for event in events():
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
