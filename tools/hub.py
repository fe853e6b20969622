"""The tool hub: every configured MCP server, kept running, its tools offered to the loop.

Each server has a supervisor task: start (bounded by `startup_timeout`), list tools, then
wait; when the server dies its calls in flight fail at once, it is restarted with backoff
and its tools come back. `start()` returns at once: a chat never waits for a slow server,
whose tools join when it is ready. A call goes through the approval policy first, then
runs under the server's `call_timeout`. The hub is a `ToolRegistry`, so the loop needs
nothing else.

Each listing of a server's tools is checked against their pins (`pins`): a tool whose
definition changed, or that is new on a pinned server, is blocked. It keeps its name but is
not offered to the model (its new description may carry the very instruction the pin
guards against), and a call to it (the model may still hold the old list) is refused with
a reason. Every call, refused or run, leaves one line in the audit log (`audit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import importlib
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
from rung.config.mcp_file import Policy, ServerConfig
from rung.tools.approvals import (
    Answer,
    ApprovalPolicy,
    ApprovalRequest,
    Approver,
    Taint,
    denied_message,
    exact_pattern,
    gated_message,
    scope_of,
    scoped_message,
    someone_to_ask,
)
from rung.tools.audit import AuditLog, Decision
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
from rung.tools.pins import PinStore, blocked_line, blocked_message

T = TypeVar("T")
State = Literal["starting", "ready", "restarting", "failed", "stopped"]
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before restart n
MAX_RESTARTS = len(BACKOFF)  # crashes in a row (each within STABLE_S of its start) before giving up
STABLE_S = 60.0  # up this long and the crash count starts again
BLOCKED = {  # why a tool is blocked, for the user
    "changed": "its definition changed since it was pinned",
    "new": "it is new since its server's tools were pinned",
}
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
    blocked: dict[str, str] = field(default_factory=dict)  # tool -> changed, new, unverified
    pin_problem: str = ""  # why its pins could not be read
    told: set[str] = field(default_factory=set)  # the blocked tools the user was told of

    @property
    def name(self) -> str:
        return self.config.name

    def listed(self) -> list[RemoteTool]:
        """The tools the config lets through (include, then exclude), blocked ones too."""
        cfg = self.config
        return [
            t
            for t in self.tools
            if (not cfg.include or any(fnmatch.fnmatchcase(t.name, p) for p in cfg.include))
            and not any(fnmatch.fnmatchcase(t.name, p) for p in cfg.exclude)
        ]

    def offered(self) -> list[RemoteTool]:
        """The tools the model is offered: those the config lets through, less the blocked."""
        return [t for t in self.listed() if t.name not in self.blocked]

    def pin_notice(self) -> str | None:
        """One line for the user on the tools blocked since the last one (None: no news)."""
        untold = {t: why for t, why in self.blocked.items() if t not in self.told}
        if not untold:
            return None
        self.told |= set(untold)
        return blocked_line(self.name, untold, self.pin_problem)


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
        pins: PinStore | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        super().__init__()
        self.policy, self.approver = policy, approver
        self.pins = pins  # None: nothing is pinned or blocked
        self.audit = audit if audit is not None else AuditLog(None)
        self._blocked: dict[str, HubTool] = {}  # by the model's name for them
        self._pins_seen: tuple[int, int, int] | None = None
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
            (n for n, t in [*self._tools.items(), *self._blocked.items()] if isinstance(t, HubTool)
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

    def specs(self) -> list[ToolSpec]:
        self._recheck_pins()
        return super().specs()

    async def call(self, name: str, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        blocked = self._blocked.get(name)
        if blocked is not None:  # refused with its reason, before its new schema is read
            return await blocked.call(arguments, taint)
        return await super().call(name, arguments, taint)

    async def call_remote(
        self,
        server: Server,
        remote: RemoteTool,
        arguments: dict[str, Any],
        taint: Taint | None = None,
    ) -> str:
        """Call a server's tool: blocked, denied, gated or asked as its pin and the policy
        say, then run under the server's call timeout; the audit log gets a line either way."""
        with self.audit.call(server.name, remote.name, arguments) as entry:
            entry.decision = await self._decide(server, remote, arguments, taint)
            if entry.decision.refusal is not None:
                raise entry.decision.refusal
            return await entry.run(self._run(server, remote.name, arguments))

    async def _decide(
        self, server: Server, remote: RemoteTool, arguments: dict[str, Any], taint: Taint | None
    ) -> Decision:
        """Whether the call may run, and who said so: its pin, the policy, the gate on calls
        after untrusted content, or whoever answers approvals."""
        name, tool = server.name, remote.name
        rule = exact_pattern(name, tool)
        if tool in server.blocked:
            why = BLOCKED.get(server.blocked[tool])
            review = (
                f"`rung tools diff {name}` shows it, `rung tools approve {name} {tool}` lets it run"
            )
            hint = f"{why} ({review})" if why else server.pin_problem
            refusal = ApprovalDenied(blocked_message(name, tool), hint=hint)
            return Decision("blocked", "pin", refusal=refusal)
        policy = self.policy.decide(name, tool)
        if policy == "deny":
            refusal = ApprovalDenied(
                denied_message(name, tool, by_policy=True),
                hint=f"the policy denies it (`rung tools ask {rule}` would ask you instead)",
            )
            return Decision("denied", "policy", policy, refusal=refusal)
        scope = scope_of(self.approver, name, tool)
        if scope is not None and scope[0] == "deny":
            refusal = ApprovalDenied(scoped_message(name, tool), hint=scope[1])
            return Decision("denied", "scope", policy, refusal=refusal)
        why = self.policy.gate(name, tool, arguments, read_only=remote.read_only, taint=taint)
        # A gated call asks even where the policy allows; elsewhere the policy decides.
        if why:
            answer = await self._ask(server, tool, arguments, gated=why)
            if answer in ("once", "always"):
                return Decision("allowed", "user", policy, answer, why)
            asked = someone_to_ask(self.approver)
            outcome = "you did not approve it" if asked else "no one could approve it here"
            refusal = ApprovalDenied(
                gated_message(name, tool, why, asked=asked),
                hint=f"{why}, and {outcome} "
                f"(`rung tools trust {rule}` lets it run after untrusted content)",
            )
            return self._unapproved(answer, policy, refusal, gate=why)
        if policy == "ask" and scope is not None:  # one of the job's own tools
            return Decision("allowed", "scope", policy)
        if policy == "ask":
            answer = await self._ask(server, tool, arguments)
            if answer is None:  # "always" was answered for it while this call waited its turn
                return Decision("allowed", "policy", "allow")
            if answer != "deny":
                return Decision("allowed", "user", policy, answer)
            refusal = ApprovalDenied(
                denied_message(name, tool, by_policy=False),
                hint=f"not approved (`rung tools allow {rule}` lets it run without asking)",
            )
            return self._unapproved(answer, policy, refusal)
        trusted = taint is not None and self._gated_but_for_trust(server, remote, arguments, taint)
        return Decision("allowed", "trust" if trusted else "policy", policy)

    def _unapproved(
        self, answer: Answer | None, policy: Policy, refusal: ApprovalDenied, *, gate: str = ""
    ) -> Decision:
        if not someone_to_ask(self.approver):
            return Decision("refused", "no one", policy, None, gate, refusal)
        return Decision("denied", "user", policy, answer, gate, refusal)

    def _gated_but_for_trust(
        self, server: Server, remote: RemoteTool, arguments: dict[str, Any], taint: Taint
    ) -> bool:
        """The gate would have asked for this call if the user did not trust the tool or host."""
        untrusting = replace(self.policy, trusted_tools=(), trusted_hosts=())
        return bool(
            untrusting.gate(
                server.name, remote.name, arguments, read_only=remote.read_only, taint=taint
            )
        )

    async def _run(self, server: Server, tool: str, arguments: dict[str, Any]) -> str:
        """The call itself, under the server's call timeout."""
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

    async def _ask(
        self, server: Server, tool: str, arguments: dict[str, Any], *, gated: str = ""
    ) -> Answer | None:
        """Whoever answers approvals: their answer (a gated call's yes is for this call only);
        None when an "always" for the tool came while this call waited its turn."""
        always = server.name not in self.policy.always_ask and not gated
        async with self._asking:
            if always and self.policy.decide(server.name, tool) == "allow":
                return None
            request = ApprovalRequest(server.name, tool, arguments, always, gated)
            answer = await self.approver(request)
        if answer == "always" and always:
            self.policy.allow(server.name, tool)
            if self.on_allow_always:
                self.on_allow_always(server.name, tool)
        return answer

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
                    self._pin(server)
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
                    self._pin(server)
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

    def _pin(self, server: Server) -> None:
        """Block the tools that differ from their pins; a server's first listing pins them.
        Pins that cannot be read block every tool of the server: nothing can be checked."""
        if self.pins is None or server.config.builtin:  # built-ins change only with Rung
            return
        listed = {t.name for t in server.listed()}  # the config keeps the rest off anyway
        try:
            changes: Mapping[str, str] = self.pins.check(server.name, server.tools)
            server.pin_problem = ""
        except ConfigError as exc:
            changes = dict.fromkeys(listed, "unverified")
            server.pin_problem = f"{exc.message}; {exc.hint}" if exc.hint else exc.message
        server.blocked = {tool: why for tool, why in changes.items() if tool in listed}
        server.told &= set(server.blocked)

    def _recheck_pins(self) -> None:
        """Check again when the pins file changed (an approval in another terminal)."""
        stamp = self.pins.stamp() if self.pins is not None else None
        if stamp == self._pins_seen:
            return
        self._pins_seen = stamp
        changed = []
        for server in self._ready():
            before = dict(server.blocked)
            self._pin(server)
            if server.blocked != before:
                changed.append(server)
        if changed:
            self._rebuild()
            for server in changed:
                self.on_change(server)

    def _rebuild(self) -> None:
        """The model's tool names: short where unique, `server_tool` on a clash. A blocked
        tool is named too (so that blocking it renames no other), but not offered."""
        listed = [(s, t) for s in self.servers.values() if s.state in _CALLABLE for t in s.listed()]
        counts = Counter(tool.name for _, tool in listed)
        self._tools, self._blocked = {}, {}
        for server, tool in listed:
            name = tool.name if counts[tool.name] == 1 else f"{_file_name(server.name)}_{tool.name}"
            into = self._blocked if tool.name in server.blocked else self._tools
            into[name] = HubTool(self, server, tool, name)

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
