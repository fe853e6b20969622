"""The tool hub: every configured MCP server, kept running, its tools offered to the loop.

Each server has a supervisor task: start (bounded by `startup_timeout`), list tools, then
wait; when the server dies its calls in flight fail at once, it is restarted with backoff
and its tools come back. `start()` returns at once: a chat never waits for a slow server,
whose tools join when it is ready. A call goes through the approval policy first, then
runs under the server's `call_timeout`. The hub is a `ToolRegistry`, so the loop needs
nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import importlib
import os
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO, TypeVar

from rung.config.errors import (
    ApprovalDenied,
    ConfigError,
    RungError,
    ToolError,
    ToolFailed,
    ToolTimeout,
)
from rung.config.mcp_file import ServerConfig
from rung.tools.approvals import (
    ApprovalPolicy,
    ApprovalRequest,
    Approver,
    Taint,
    denied_message,
    exact_pattern,
    gated_message,
    no_one_to_ask,
)
from rung.tools.base import ToolRegistry, ToolSpec
from rung.tools.mcp_client import (
    RemotePrompt,
    RemoteResource,
    RemoteTool,
    ServerGone,
    ServerLink,
    connect,
    describe_error,
    quiet_sdk_logs,
)

T = TypeVar("T")
State = Literal["starting", "ready", "restarting", "failed", "stopped"]
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before restart n
MAX_RESTARTS = len(BACKOFF)  # crashes in a row (each within STABLE_S of its start) before giving up
STABLE_S = 60.0  # up this long and the crash count starts again
_SETTLED = ("ready", "failed", "stopped")
_CALLABLE = ("ready", "restarting")  # a restarting server's calls wait for it


@dataclass
class Server:
    """One configured server and what is known of it now."""

    config: ServerConfig
    log_path: Path
    state: State = "starting"
    reason: str = ""  # why it failed or is restarting
    tools: list[RemoteTool] = field(default_factory=list)
    link: ServerLink | None = None
    restarts: int = 0
    started_s: float = 0.0  # how long the last start took
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # ready, failed or stopped
    relist: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        return self.config.name

    def offered(self) -> list[RemoteTool]:
        """The tools the config lets through (include, then exclude)."""
        cfg = self.config
        return [
            t
            for t in self.tools
            if (not cfg.include or any(fnmatch.fnmatchcase(t.name, p) for p in cfg.include))
            and not any(fnmatch.fnmatchcase(t.name, p) for p in cfg.exclude)
        ]


class HubTool:
    """A server's tool as the loop sees it: a `Tool` whose call goes through the hub."""

    def __init__(self, hub: ToolHub, server: Server, remote: RemoteTool, name: str) -> None:
        self.hub, self.server, self.remote = hub, server, remote
        self.spec = ToolSpec(name, remote.description, remote.parameters)

    async def call(self, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        return await self.hub.call_remote(self.server, self.remote, arguments, taint)


class ToolHub(ToolRegistry):
    def __init__(
        self,
        configs: Sequence[ServerConfig],
        *,
        policy: ApprovalPolicy,
        approver: Approver,
        log_dir: Path,
        environ: Mapping[str, str] | None = None,
        on_allow_always: Callable[[str, str], None] | None = None,
    ) -> None:
        super().__init__()
        self.policy, self.approver = policy, approver
        self.on_allow_always = on_allow_always
        self.on_change: Callable[[Server], None] = lambda server: None  # for the UI
        self.environ = dict(os.environ if environ is None else environ)
        self.log_dir = log_dir
        self.servers = {
            c.name: Server(c, log_dir / f"{_file_name(c.name)}.log") for c in configs if c.enabled
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._unquiet: Callable[[], None] = lambda: None
        self._asking = asyncio.Lock()  # one approval prompt at a time

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        """Start every server in the background; returns at once."""
        if self._tasks or not self.servers:
            return
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._unquiet = quiet_sdk_logs(self.log_dir / "sdk.log")
        except OSError as exc:
            raise ConfigError(
                f"cannot write the tool servers' logs in {self.log_dir}: {exc.strerror or exc}",
                hint="check that folder (XDG_STATE_HOME) and its permissions",
            ) from None
        for server in self.servers.values():
            self._tasks.append(asyncio.create_task(self._supervise(server), name=server.name))

    async def wait_started(self, timeout: float | None = None) -> None:
        """Until every server is ready or has failed (for `rung ask`, tests, `rung tools test`)."""
        async with asyncio.timeout(timeout):
            await asyncio.gather(*(s.settled.wait() for s in self.servers.values()))

    async def start_and_wait(self) -> None:
        """Start, then wait until each server is ready or has failed (its own time limits)."""
        self.start()
        longest = max((s.config.startup_timeout for s in self.servers.values()), default=0.0)
        with contextlib.suppress(TimeoutError):  # a server stuck even after that shows as such
            await self.wait_started(timeout=longest + 10)

    def name_for(self, server: str, tool: str) -> str | None:
        """The name the model sees for `server`'s `tool` (qualified only on a clash)."""
        return next(
            (n for n, t in self._tools.items() if isinstance(t, HubTool)
             and t.server.name == server and t.remote.name == tool),
            None,
        )  # fmt: skip

    async def aclose(self) -> None:
        """Stop every server cleanly: stdin closed, then terminate, then kill."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for server in self.servers.values():
            self._set(server, "stopped")
        self._unquiet()
        self._unquiet = lambda: None

    async def __aenter__(self) -> ToolHub:
        self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- calls ----------------------------------------------------------------------

    async def call_remote(
        self,
        server: Server,
        remote: RemoteTool,
        arguments: dict[str, Any],
        taint: Taint | None = None,
    ) -> str:
        """Call a server's tool: denied, gated or asked as the policy says, then run under
        the server's call timeout."""
        tool, read_only = remote.name, remote.read_only
        policy = self.policy.decide(server.name, tool)
        rule = exact_pattern(server.name, tool)
        if policy == "deny":
            raise ApprovalDenied(
                denied_message(server.name, tool, by_policy=True),
                hint=f"the policy denies it (`rung tools ask {rule}` would ask you instead)",
            )
        why = self.policy.gate(server.name, tool, arguments, read_only=read_only, taint=taint)
        # A gated call asks even where the policy allows; elsewhere the policy decides.
        if why:
            if not await self._approved(server, tool, arguments, gated=why):
                asked = self.approver is not no_one_to_ask
                outcome = "you did not approve it" if asked else "no one could approve it here"
                raise ApprovalDenied(
                    gated_message(server.name, tool, why, asked=asked),
                    hint=f"{why}, and {outcome} "
                    f"(`rung tools trust {rule}` lets it run after untrusted content)",
                )
        elif policy == "ask" and not await self._approved(server, tool, arguments):
            raise ApprovalDenied(
                denied_message(server.name, tool, by_policy=False),
                hint=f"not approved (`rung tools allow {rule}` lets it run without asking)",
            )
        timeout = server.config.call_timeout
        if server.state not in _CALLABLE:
            raise ToolError(f"the {server.name} server is {server.state}: {server.reason}")
        try:
            async with asyncio.timeout(timeout):
                await server.settled.wait()  # a restarting server gets the rest of the time
                if server.state != "ready":
                    raise ToolError(f"the {server.name} server is {server.state}: {server.reason}")
                text, is_error = await _link(server).call_tool(tool, arguments)
        except TimeoutError:
            raise ToolTimeout(
                f"{tool} (server {server.name}) timed out after {timeout:g} s and was cancelled"
            ) from None
        except ServerGone as exc:
            raise ToolError(
                f"the {server.name} server stopped during the call ({exc.message}); "
                "it is being restarted, so the call can be tried again"
            ) from None
        if is_error:
            raise ToolFailed(text or f"{tool} failed without saying why")
        return text

    async def _approved(
        self, server: Server, tool: str, arguments: dict[str, Any], *, gated: str = ""
    ) -> bool:
        """Whoever answers approvals says yes (a gated call: for this call only)."""
        always = server.name not in self.policy.always_ask and not gated
        async with self._asking:
            if always and self.policy.decide(server.name, tool) == "allow":
                return True  # "always" was answered for it while this call waited its turn
            request = ApprovalRequest(server.name, tool, arguments, always, gated)
            answer = await self.approver(request)
        if answer == "always" and always:
            self.policy.allow(server.name, tool)
            if self.on_allow_always:
                self.on_allow_always(server.name, tool)
        return answer in ("once", "always")

    # -- prompts and resources ----------------------------------------------------

    async def prompts(self) -> list[tuple[str, RemotePrompt]]:
        found: list[tuple[str, RemotePrompt]] = []
        for server in self._ready():
            with contextlib.suppress(ToolError):
                found += [
                    (server.name, p)
                    for p in await _bounded(server, lambda link: link.list_prompts())
                ]
        return found

    async def find_prompt(self, name: str) -> tuple[str, RemotePrompt]:
        """`name` or `server:name`: the server that offers it, and its definition."""
        server, _, prompt = name.rpartition(":")
        for candidate, found in await self.prompts():
            if found.name == prompt and server in ("", candidate):
                return candidate, found
        raise ToolError(f"no MCP prompt named {name!r}", hint="/prompt lists the prompts on offer")

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> list[tuple[str, str]]:
        server, prompt = await self.find_prompt(name)
        return await _bounded(
            self.servers[server], lambda link: link.get_prompt(prompt.name, arguments)
        )

    async def resources(self) -> list[tuple[str, RemoteResource]]:
        found: list[tuple[str, RemoteResource]] = []
        for server in self._ready():
            with contextlib.suppress(ToolError):
                found += [
                    (server.name, r)
                    for r in await _bounded(server, lambda link: link.list_resources())
                ]
        return found

    async def read_resource(self, uri: str) -> str:
        for name, resource in await self.resources():
            if resource.uri == uri:
                return await _bounded(self.servers[name], lambda link: link.read_resource(uri))
        errors = []
        for server in self._ready():  # templated URIs are not listed: ask each server
            try:
                return await _bounded(server, lambda link: link.read_resource(uri))
            except ToolError as exc:
                errors.append(f"{server.name}: {exc.message}")
        raise ToolError(f"no server has the resource {uri}", hint="; ".join(errors[:3]))

    def _ready(self) -> list[Server]:
        return [s for s in self.servers.values() if s.state == "ready"]

    # -- supervision ------------------------------------------------------------------

    async def _supervise(self, server: Server) -> None:
        crashes = 0
        while True:
            up_since = await self._run_once(server)
            if up_since is None and server.restarts == 0:
                self._set(server, "failed", server.reason)
                return  # never came up: shown with its reason, not retried
            # It was up once: a restart that fails to start is retried like a crash.
            crashes = 1 if up_since and time.monotonic() - up_since > STABLE_S else crashes + 1
            if crashes > MAX_RESTARTS:
                self._set(
                    server, "failed", f"{server.reason}; stopped after {MAX_RESTARTS} restarts"
                )
                return
            self._set(server, "restarting", server.reason)
            await asyncio.sleep(BACKOFF[crashes - 1])
            server.restarts += 1

    async def _run_once(self, server: Server) -> float | None:
        """Start, serve until the server goes away; the time it came up, or None if it never did."""
        cfg, started = server.config, time.monotonic()
        up_since = None
        try:
            log = open(server.log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            server.reason = f"cannot write its log {server.log_path}: {exc.strerror or exc}"
            self._set(server, "failed", server.reason)
            return None
        with log:
            _log_line(log, f"starting: {cfg.launch_line()}")
            try:
                async with contextlib.AsyncExitStack() as stack:
                    async with asyncio.timeout(cfg.startup_timeout):
                        link = await stack.enter_async_context(self._connect(server, log))
                        server.tools = await link.list_tools()
                    up_since = time.monotonic()
                    server.started_s, server.link = up_since - started, link
                    self._set(server, "ready")
                    await self._serve(server, link)
                server.reason = "the server exited"
            except TimeoutError:
                server.reason = f"it did not finish starting within {cfg.startup_timeout:g} s"
            except RungError as exc:
                server.reason = exc.message
            except Exception as exc:  # anything a broken server can make the SDK raise
                server.reason = describe_error(exc)
            finally:
                server.link = None
                server.ready.clear()
            _log_line(log, f"stopped: {server.reason}")
        return up_since

    async def _serve(self, server: Server, link: ServerLink) -> None:
        """Until the server goes away; re-reads its tools when it says they changed."""
        while not link.closed.is_set():
            gone = asyncio.ensure_future(link.closed.wait())
            relist = asyncio.ensure_future(server.relist.wait())
            try:
                await asyncio.wait([gone, relist], return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                relist.cancel()
            if server.relist.is_set() and not link.closed.is_set():
                server.relist.clear()
                with contextlib.suppress(ToolError):
                    server.tools = await link.list_tools()
                    self._set(server, "ready")

    def _connect(
        self, server: Server, log: TextIO
    ) -> contextlib.AbstractAsyncContextManager[ServerLink]:
        builtin = None
        if server.config.builtin:
            from rung.tools.builtin import BUILTINS

            builtin = importlib.import_module(BUILTINS[server.name]).create(server.config.options)

        def changed(kind: str) -> None:
            if kind == "tools":
                server.relist.set()

        def closed() -> None:  # calls wait for the restart from this moment on
            if server.state == "ready":  # not a start that failed: that has its own reason
                self._set(server, "restarting", "the server exited")

        return connect(
            server.config,
            environ=self.environ,
            log=log,
            on_list_changed=changed,
            on_closed=closed,
            builtin=builtin,
        )

    def _set(self, server: Server, state: State, reason: str = "") -> None:
        server.state, server.reason = state, reason
        for event, states in ((server.ready, ("ready",)), (server.settled, _SETTLED)):
            if state in states:
                event.set()
            else:
                event.clear()
        self._rebuild()
        self.on_change(server)

    def _rebuild(self) -> None:
        """The model's tool names: short where unique, `server_tool` on a clash."""
        offered = [
            (s, t) for s in self.servers.values() if s.state in _CALLABLE for t in s.offered()
        ]
        counts: dict[str, int] = {}
        for _, tool in offered:
            counts[tool.name] = counts.get(tool.name, 0) + 1
        self._tools = {}
        for server, tool in offered:
            name = tool.name if counts[tool.name] == 1 else f"{_file_name(server.name)}_{tool.name}"
            self._tools[name] = HubTool(self, server, tool, name)

    def tool_server(self, name: str) -> str | None:
        """Which server a tool the model named comes from (for the UI)."""
        tool = self._tools.get(name)
        return tool.server.name if isinstance(tool, HubTool) else None


async def _bounded(server: Server, request: Callable[[ServerLink], Awaitable[T]]) -> T:
    """A prompt or resource request, under the server's call timeout like a tool call."""
    timeout = server.config.call_timeout
    try:
        async with asyncio.timeout(timeout):
            return await request(_link(server))
    except TimeoutError:
        raise ToolTimeout(f"the {server.name} server did not answer within {timeout:g} s") from None


def _link(server: Server) -> ServerLink:
    if server.link is None:
        raise ToolError(f"the {server.name} server is not running")
    return server.link


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def _log_line(log: TextIO, text: str) -> None:
    log.write(f"--- rung {time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    log.flush()
