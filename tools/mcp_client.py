"""One live connection to one MCP server: the only module that speaks the `mcp` client SDK.

`connect()` starts a stdio server (a child process whose stderr goes to a log file, whose
environment is an allowlist plus what the config names), connects to a streamable HTTP
server, or runs a built-in server in-process, and yields a `ServerLink`: tools, prompts and
resources in Rung's own types, and `closed`, set the moment the server goes away.

A stdio server dies with the Rung process that started it, however Rung dies (`kill -9`
included), and so does everything it started that stayed in its process group. Rung holds
the only write end of a pipe, its *lifeline* (a FIFO in a private temporary folder, since
the SDK's spawn passes no extra descriptors); the kernel closes it when Rung exits by any
means. The server is started through `/bin/sh` (`LAUNCHER`): the SDK makes it the leader
of a new session and process group, it opens the lifeline's read end, leaves behind a
watcher in that group, and `exec`s the server, which keeps the pid, the pipes, the stderr
log file and the environment that the SDK gave the shell. The watcher (a forked `sh` of
under 1 MB, blocked in `read`; shell, forks and FIFO add a few milliseconds to a start, a
second Python would add ~50 ms and ~12 MB) reads until the pipe ends, then sends SIGKILL to
its own process group: the server, its children, itself. `kill 0` from inside the group
cannot hit another group, even after the server has exited (a group lives as long as any
member). The pipe also ends when the connection closes, so the clean shutdown is unchanged
(the SDK closes stdin, waits, terminates the group, kills it) and then ends whatever the
server left behind in its group. The FIFO's name is removed once the server is up (a Rung
killed while a server starts leaves an empty FIFO in its temporary folder, nothing running).

Why not a parent-death signal (Linux's PR_SET_PDEATHSIG): it reaches only the direct child,
not what the server forks; it fires when the *thread* that spawned the server ends; it does
not exist on macOS; and setting it needs a `preexec_fn` the SDK's spawn does not take. The
lifeline needs only POSIX (a FIFO, `sh`, `kill`), so it works the same on Linux and macOS.
What it cannot catch: a process that leaves the group on purpose (`setsid`, a daemon), and
a child Rung forks without exec (it would hold the write end; Rung's subprocesses close it).
On Windows the SDK puts the server in a Job Object and no launcher is used.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import mcp.types as types
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from rung.config.errors import ToolError
from rung.config.mcp_file import ServerConfig, expand

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

# What a stdio server inherits from Rung's environment; everything else it must be given.
ENV_ALLOWLIST = (
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "LC_ALL",
    "LC_CTYPE", "LC_MESSAGES", "TZ", "TMPDIR",
)  # fmt: skip

# How a stdio server is started on POSIX (see the module's docstring): $1 is the lifeline,
# the rest is the server's command line. The watcher lets go of the server's stdin and
# stdout, so a server that exits is still seen to go at once; it forks twice, so it is
# nobody's child but init's (a server never finds an unknown child of its own).
LAUNCHER = """\
exec 3<"$1" || exit 125
shift
( { read -r _ <&3; kill -s KILL 0; } </dev/null >/dev/null & )
exec "$@" 3<&-
"""
LAUNCHER_NAME = "rung-mcp-launcher"  # the shell's $0: what `ps` and its error lines say


class ServerGone(ToolError):
    """The connection ended (the process died, the pipe closed, the HTTP server went away)."""


@dataclass(frozen=True)
class RemoteTool:
    name: str
    description: str
    parameters: dict[str, Any]
    read_only: bool = False  # the server says it changes nothing (MCP's readOnlyHint)


@dataclass(frozen=True)
class RemotePrompt:
    name: str
    description: str
    arguments: tuple[tuple[str, bool], ...]  # (name, required)


@dataclass(frozen=True)
class RemoteResource:
    uri: str
    name: str
    description: str


def server_environment(config: ServerConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The allowlisted part of Rung's environment plus the server's own `env`, expanded."""
    env = {k: environ[k] for k in ENV_ALLOWLIST if k in environ}
    for key, value in config.env.items():
        env[key] = expand(value, environ, f"mcpServers.{config.name}.env.{key}")
    return env


class Closed(asyncio.Event):
    """Set once the connection has ended; `on_set` runs at that moment (the hub stops routing)."""

    def __init__(self, on_set: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self._on_set = on_set

    def set(self) -> None:
        if not self.is_set():
            super().set()
            self._on_set()


class ServerLink:
    """A connected server, in Rung's types. Every method raises `ServerGone` once it is gone."""

    def __init__(self, client: Client, closed: Closed) -> None:
        self._client = client
        self.closed = closed

    async def list_tools(self) -> list[RemoteTool]:
        async with self._calling():
            result = await self._client.list_tools()
        return [
            RemoteTool(
                t.name,
                t.description or "",
                dict(t.input_schema or {"type": "object"}),
                bool(t.annotations and t.annotations.read_only_hint),
            )
            for t in result.tools
        ]

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """The tool's result as text, and whether the server marked it an error."""
        async with self._calling():
            result = await self._client.call_tool(name, arguments)
        text = content_text(result.content)
        if not text and result.structured_content is not None:
            text = json.dumps(result.structured_content, ensure_ascii=False)
        return text, bool(result.is_error)

    async def list_prompts(self) -> list[RemotePrompt]:
        if self._client.server_capabilities.prompts is None:
            return []
        async with self._calling():
            result = await self._client.list_prompts()
        return [
            RemotePrompt(
                p.name,
                p.description or "",
                tuple((a.name, bool(a.required)) for a in p.arguments or ()),
            )
            for p in result.prompts
        ]

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> list[tuple[str, str]]:
        """The prompt's messages as (role, text)."""
        async with self._calling():
            result = await self._client.get_prompt(name, arguments)
        return [(m.role, content_text([m.content])) for m in result.messages]

    async def list_resources(self) -> list[RemoteResource]:
        if self._client.server_capabilities.resources is None:
            return []
        async with self._calling():
            result = await self._client.list_resources()
        return [RemoteResource(str(r.uri), r.name, r.description or "") for r in result.resources]

    async def read_resource(self, uri: str) -> str:
        async with self._calling():
            result = await self._client.read_resource(uri)
        return content_text(
            [types.EmbeddedResource(type="resource", resource=c) for c in result.contents]
        )

    @asynccontextmanager
    async def _calling(self) -> AsyncIterator[None]:
        if self.closed.is_set():
            raise ServerGone("the server is not running")
        try:
            yield
        except MCPError as exc:
            if exc.code == types.CONNECTION_CLOSED or self.closed.is_set():
                self.closed.set()
                raise ServerGone(f"the server went away ({exc.message})") from None
            raise ToolError(exc.message) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError) as exc:
            self.closed.set()
            raise ServerGone(f"the connection to the server broke ({exc!r})") from None


def content_text(content: list[Any]) -> str:
    """MCP content blocks as text a model can read; binary parts are named, not inlined."""
    parts: list[str] = []
    for block in content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.ImageContent | types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, not shown]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource: {block.uri}]")
        elif isinstance(block, types.EmbeddedResource):
            inner = block.resource
            if isinstance(inner, types.TextResourceContents):
                parts.append(inner.text)
            else:
                parts.append(f"[binary resource {inner.uri}: {inner.mime_type}, not shown]")
    return "\n".join(parts)


@asynccontextmanager
async def connect(
    config: ServerConfig,
    *,
    environ: Mapping[str, str],
    log: TextIO,
    on_list_changed: Callable[[str], None],
    on_closed: Callable[[], None] = lambda: None,
    builtin: MCPServer | None = None,
) -> AsyncIterator[ServerLink]:
    """Start or reach the server and complete the MCP handshake; leaving closes it cleanly.

    `on_list_changed("tools" | "prompts" | "resources")` is called from the connection when
    the server says a list changed; `on_closed()` the moment the connection ends. Startup
    time limits are the caller's.
    """
    closed = Closed(on_closed)

    async def notified(message: Any) -> None:
        for kind, cls in _LIST_CHANGED.items():
            if isinstance(message, cls):
                on_list_changed(kind)

    server: Any
    mode = "legacy"  # the initialize handshake: every server in the wild speaks it
    lifeline: Lifeline | None = None
    if builtin is not None:
        server = builtin  # in-process, over the SDK's in-memory transport
    elif config.url:
        server = _Watched(_http_transport(config, environ, closed), closed)
    else:
        parameters = _stdio_parameters(config, environ)
        if sys.platform != "win32":
            _find_program(config, parameters)
            lifeline = Lifeline(config.name)
            parameters = lifeline.launch(parameters)
        server = _Watched(stdio_client(parameters, errlog=log), closed)
    started = False
    try:
        client = Client(server, mode=mode, message_handler=notified, cache=None)
        async with client:
            started = True
            if lifeline is not None:
                lifeline.unlink()  # the launcher opened it before it became the server
            yield ServerLink(client, closed)
    except Exception as exc:
        if started:
            raise
        raise ToolError(_start_failure(config, exc)) from None
    finally:
        closed.set()
        if lifeline is not None:
            lifeline.close()  # after the SDK's shutdown: the watcher ends what is left


class Lifeline:
    """The pipe that ties a stdio server's process group to this process (see the module's
    docstring): this process holds its only write end, and never writes to it."""

    def __init__(self, name: str) -> None:
        self._fd: int | None = None
        self._folder = self.path = ""
        try:
            self._folder = tempfile.mkdtemp(prefix="rung-mcp-")
            self.path = os.path.join(self._folder, "lifeline")
            os.mkfifo(self.path, 0o600)
            # A FIFO's write end opens without waiting only while a reader exists.
            reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            finally:
                os.close(reader)
        except OSError as exc:
            self.close()
            where = self._folder or tempfile.gettempdir()
            raise ToolError(
                f"cannot make the pipe that ties {name} to Rung's life in {where}: "
                f"{exc.strerror or exc}"
            ) from None

    def launch(self, parameters: StdioServerParameters) -> StdioServerParameters:
        """The same server, started through `LAUNCHER` with this lifeline."""
        args = ["-c", LAUNCHER, LAUNCHER_NAME, self.path, parameters.command, *parameters.args]
        return parameters.model_copy(update={"command": "/bin/sh", "args": args})

    def unlink(self) -> None:
        """Remove the FIFO's name (the launcher has its end open by now)."""
        if self._folder:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            with contextlib.suppress(OSError):
                os.rmdir(self._folder)

    def close(self) -> None:
        """Let go of the write end: the watcher kills whatever is left of the group."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.unlink()


def _find_program(config: ServerConfig, parameters: StdioServerParameters) -> None:
    """Fail as the SDK's spawn fails for a command that cannot run: behind the launcher, the
    shell would start and fail later, its reason only in the server's log."""
    command = parameters.command
    error = 0
    if os.sep in command:  # a path: relative to the server's folder, as exec reads it
        path = Path(parameters.cwd or ".", command)
        if not path.is_file():
            error = errno.ENOENT
        elif not os.access(path, os.X_OK):
            error = errno.EACCES
    elif shutil.which(command, path=(parameters.env or {}).get("PATH", os.defpath)) is None:
        error = errno.ENOENT
    if error:
        raise ToolError(f"cannot start {config.launch_line()}: {os.strerror(error)}")


def _start_failure(config: ServerConfig, exc: Exception) -> str:
    """Why a server did not come up, in words (the SDK's exceptions say it obliquely)."""
    if isinstance(exc, ToolError):
        return exc.message
    if isinstance(exc, OSError) and not config.url:
        return f"cannot start {config.launch_line()}: {exc.strerror or exc}"
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return _start_failure(config, exc.exceptions[0])  # type: ignore[arg-type]
    if config.url:
        return f"cannot reach {config.url}: {describe_error(exc)}"
    if isinstance(exc, MCPError) and exc.code == types.CONNECTION_CLOSED:
        return "the server exited before it finished starting (its log says why)"
    return f"the server failed while starting: {describe_error(exc)}"


def describe_error(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe_error(e) for e in exc.exceptions)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


_LIST_CHANGED: dict[str, type[Any]] = {
    "tools": types.ToolListChangedNotification,
    "prompts": types.PromptListChangedNotification,
    "resources": types.ResourceListChangedNotification,
}


def _stdio_parameters(config: ServerConfig, environ: Mapping[str, str]) -> StdioServerParameters:
    where = f"mcpServers.{config.name}"
    cwd = None
    if config.cwd:
        cwd = Path(os.path.expanduser(expand(config.cwd, environ, f"{where}.cwd")))
        if not cwd.is_dir():
            raise ToolError(f"{where}.cwd: {cwd} is not a directory")
    return StdioServerParameters(
        command=expand(config.command or "", environ, f"{where}.command"),
        args=[expand(a, environ, f"{where}.args") for a in config.args],
        env=server_environment(config, environ),
        cwd=cwd,
        encoding_error_handler="replace",
    )


def _http_transport(config: ServerConfig, environ: Mapping[str, str], closed: Closed) -> Any:
    import httpx2

    where = f"mcpServers.{config.name}"
    url = expand(config.url or "", environ, f"{where}.url")
    headers = {k: expand(v, environ, f"{where}.headers.{k}") for k, v in config.headers.items()}
    timeout = httpx2.Timeout(config.call_timeout + 5, connect=config.startup_timeout)

    async def session_gone(response: httpx2.Response) -> None:
        # A 404 to a request in a session: the server lost it (it restarted). The session is
        # over, and the spec says start a new one: `closed` makes the hub reconnect.
        if response.status_code == 404 and "mcp-session-id" in response.request.headers:
            closed.set()

    http = httpx2.AsyncClient(
        headers=headers, timeout=timeout, event_hooks={"response": [session_gone]}
    )

    @asynccontextmanager
    async def transport() -> AsyncIterator[Any]:
        async with http, streamable_http_client(url, http_client=http) as streams:
            yield streams

    return transport()


class _Watched:
    """A transport whose read side sets `closed` when it ends: how a dead server is noticed."""

    def __init__(self, inner: AbstractAsyncContextManager[Any], closed: Closed) -> None:
        self._inner = inner
        self._closed = closed

    async def __aenter__(self) -> Any:
        read, write = await self._inner.__aenter__()
        return _WatchedRead(read, self._closed), write

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self._closed.set()
        return await self._inner.__aexit__(kind, exc, tb)


class _WatchedRead:
    def __init__(self, inner: Any, closed: Closed) -> None:
        self._inner = inner
        self._closed = closed

    async def receive(self) -> Any:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._closed.set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedRead:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedRead:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def quiet_sdk_logs(log_file: Path) -> Callable[[], None]:
    """The SDK logs stray server output and teardown noise; it goes to a file, not the chat.

    Returns the function that undoes it (the hub calls it when it closes), so each hub's
    SDK log lands in its own log directory and none outlives its hub.
    """
    logger = logging.getLogger("mcp")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False

    def undo() -> None:
        logger.removeHandler(handler)
        handler.close()
        if not logger.handlers:
            logger.propagate = True

    return undo
