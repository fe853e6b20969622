"""The shell server: run a command line with ``/bin/sh`` and return what it printed.

It is off by default and its one tool always needs the user's approval. Each command gets
the same short environment as a stdio server (``ENV_ALLOWLIST``: no API keys, no tokens)
and runs in a bubblewrap sandbox:

- the system folders (``/usr``, ``/etc``, ``/opt``, the ``/bin`` and ``/lib`` links) are
  there read-only, and so are the folders named in ``read_only_paths``; nothing else of the
  machine is: not your home (an empty, private one stands in), not ``/run`` or ``/var``
  (no sockets of other services), not ``/sys``;
- the working folder ``cwd`` is the one place it can write to, besides a private ``/tmp``
  and that empty home, which are thrown away with the sandbox;
- no network (its own namespace, only a loopback of its own) unless ``network`` is set;
- new user, PID, IPC, UTS and cgroup namespaces, a fresh ``/proc`` that shows only the
  sandbox, a minimal ``/dev``, no capabilities, no further user namespaces, a new terminal
  session; it dies with the server (``--die-with-parent``), and when the command exits,
  everything it started inside ends with it;
- limits: ``timeout`` seconds, then the sandbox is killed; ``max_memory_mb`` of address
  space, ``max_processes`` processes (threads count) and files of at most ``max_file_mb``
  (also the size of ``/tmp``) per process, and no core files, set with ``prlimit`` inside
  the sandbox; output past ``max_output_bytes`` stops the command; ``max_output_chars`` of
  it are returned (its start and its end, which is where errors usually are).

The limits are rlimits, set by ``prlimit`` (util-linux) as the first program inside the
sandbox rather than on bwrap from the server: no code runs between fork and exec in a
server with threads, bwrap's own set-up is not limited, and the process count is kept in
the sandbox's own user namespace, so the user's other processes do not count against it.
The kernel applies no process limit to root, so under root only the time limit and the
PID namespace bound a fork bomb.

Without bubblewrap, or where it cannot create its namespaces, the server does not start
and says why in one line, unless ``sandbox`` is false: then commands run as the user, with
the description and the first result saying so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.config.errors import ToolError as RungToolError
from rung.tools.builtin import Options, new_server, parse_options, serve
from rung.tools.mcp_client import ENV_ALLOWLIST

NAME = "shell"
READ_ONLY: frozenset[str] = frozenset()

DRAIN_SECONDS = 1.0
"""How long the output may stay open after the shell exits (a background job holding it)."""

PROBE_SECONDS = 10.0
"""How long the sandbox may take to run ``true`` when the server is built."""

SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
"""What the sandbox shows of the machine, read-only (where it exists; links stay links)."""

MB = 1024 * 1024


class ShellOptions(Options):
    cwd: str = Field(default_factory=os.getcwd)
    timeout: float = Field(default=60.0, gt=0)
    max_output_chars: int = Field(default=20_000, gt=0)
    max_output_bytes: int = Field(default=10_000_000, gt=0)
    sandbox: bool = True  # false: commands run as the user, with all the user's rights
    network: bool = False
    read_only_paths: list[str] = Field(default_factory=list)
    max_memory_mb: int = Field(default=4096, gt=0)
    max_processes: int = Field(default=256, gt=0)
    max_file_mb: int = Field(default=1024, gt=0)
    bwrap: str = "bwrap"  # the bubblewrap command: a name looked up on PATH, or a path


class SandboxUnavailable(RungToolError, ValueError):
    """The sandbox cannot run here: the server is not built (a ``ValueError`` like a bad option)."""


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a shell server running commands in ``cwd`` for at most ``timeout`` seconds."""
    settings = parse_options(ShellOptions, NAME, options)
    if not os.path.isdir(settings.cwd):
        raise ValueError(f"option 'cwd' of the shell server: {settings.cwd!r} is not a folder")
    for path in settings.read_only_paths:
        if not os.path.exists(os.path.expanduser(path)):
            raise ValueError(
                f"option 'read_only_paths' of the shell server: {path!r} does not exist"
            )
    shell = Shell(settings, os.environ)
    if settings.sandbox:
        shell.check_sandbox()
    server = new_server(NAME, f"Run shell commands in {settings.cwd}, {shell.confinement}.")
    annotations = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
    server.add_tool(
        shell.run_command,
        description=f"Run a shell command {shell.confinement} and return its exit code and output.",
        annotations=annotations,
        structured_output=False,
    )
    return server


class Shell:
    def __init__(self, settings: ShellOptions, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environment = {k: environ[k] for k in ENV_ALLOWLIST if k in environ}
        self.prefix: list[str] = []  # bwrap and prlimit, before /bin/sh -c; empty: no sandbox
        self.unsandboxed_note = not settings.sandbox  # said once, with the first result
        if settings.sandbox:
            self.environment["TMPDIR"] = "/tmp"  # the sandbox's own
            self.prefix = _sandbox_prefix(settings, self.environment)

    @property
    def confinement(self) -> str:
        """How commands are confined, for the descriptions the model reads."""
        if not self.settings.sandbox:
            return "WITHOUT a sandbox (it can do anything the user can)"
        network = "network access" if self.settings.network else "no network"
        return (
            f"in a sandbox (read-only system, only the working folder {self.settings.cwd} and "
            f"/tmp writable, {network}, limits on time, memory, processes and file size)"
        )

    def check_sandbox(self) -> None:
        """Run ``true`` in the sandbox; raise ``SandboxUnavailable`` in one line if it fails
        (no user namespaces, a bwrap too old for an option, a folder it cannot mount)."""
        try:
            probe = subprocess.run(
                [*self.prefix, "/bin/sh", "-c", "true"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                env=self.environment,
                timeout=PROBE_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _unavailable(f"bubblewrap ({self.prefix[0]}) did not run: {exc}") from None
        if probe.returncode != 0:
            said = probe.stderr.decode(errors="replace").strip().splitlines()
            why = said[0] if said else f"exit code {probe.returncode}"
            raise _unavailable(f"bubblewrap cannot make the sandbox here ({why})")

    async def run_command(
        self,
        command: Annotated[
            str, Field(description="The command line, run by /bin/sh in the working folder")
        ],
    ) -> str:
        """Run a shell command and return its exit code and output."""
        if not command.strip():
            raise ToolError("the command is empty")
        limit = self.settings.max_output_chars
        stdout, stderr = _Capture(limit), _Capture(limit)
        process, pipes = await self._start(command)
        budget = _Budget(self.settings.max_output_bytes, lambda: _kill_group(process))
        readers = {
            asyncio.create_task(_drain(fd, capture, budget))
            for fd, capture in zip(pipes, (stdout, stderr), strict=True)
        }
        try:
            timed_out = await self._wait(process)
            _, still_open = await asyncio.wait(readers, timeout=DRAIN_SECONDS)
            if still_open:
                _kill_group(process)
        finally:
            for reader in readers:
                reader.cancel()
            if process.returncode is None:  # the call was cancelled
                _kill_group(process)
                await _reap(process)
        exit_line = _exit_line(process.returncode, self.settings, sandboxed=bool(self.prefix))
        report = _report(exit_line, stdout, stderr, limit, bool(still_open))
        if self.unsandboxed_note:
            self.unsandboxed_note = False
            report = (
                "[this shell has no sandbox (the option sandbox is false): commands run with "
                f"all the user's rights]\n{report}"
            )
        if timed_out:
            raise ToolError(
                f"timed out after {self.settings.timeout:g} s; the command and the processes "
                f"it started were killed. What it printed until then:\n{report}"
            )
        if budget.spent:
            raise ToolError(
                f"stopped after more than {self.settings.max_output_bytes} bytes of output; "
                "the command and the processes it started were killed. What it printed:\n"
                f"{report}"
            )
        return report

    async def _start(self, command: str) -> tuple[asyncio.subprocess.Process, list[int]]:
        """Start ``sh -c command`` (in the sandbox) in a new process group; the read ends of
        its output pipes.

        The pipes are ours, not asyncio's: on Python 3.11 ``Process.wait()`` would otherwise
        wait for the pipes to close too, which a background job can put off for ever.
        """
        pipes = [os.pipe(), os.pipe()]
        try:
            process = await asyncio.create_subprocess_exec(
                *self.prefix,
                "/bin/sh",
                "-c",
                command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=pipes[0][1],
                stderr=pipes[1][1],
                cwd=self.settings.cwd,
                env=self.environment,
                start_new_session=True,
            )
        except BaseException:
            for read_end, _ in pipes:
                os.close(read_end)
            raise
        finally:
            for _, write_end in pipes:
                os.close(write_end)
        return process, [read_end for read_end, _ in pipes]

    async def _wait(self, process: asyncio.subprocess.Process) -> bool:
        """Wait for the shell to exit; on timeout kill its process group and say so."""
        try:
            async with asyncio.timeout(self.settings.timeout):
                await process.wait()
        except TimeoutError:
            _kill_group(process)
            await process.wait()
            return True
        return False


def _unavailable(why: str) -> SandboxUnavailable:
    return SandboxUnavailable(
        f"the shell is off: it runs commands in a sandbox, but {why}; to run them without "
        "one, set the shell server's option sandbox to false"
    )


def _sandbox_prefix(settings: ShellOptions, environment: Mapping[str, str]) -> list[str]:
    """``bwrap ARGS -- prlimit LIMITS --``: what goes before ``/bin/sh -c COMMAND``.

    The mounts are made in order, so a later one covers an earlier one: the system, then a
    private /tmp and home, then the working folder (writable even inside them), then the
    extra read-only paths (read-only even inside it). Raises ``SandboxUnavailable`` when
    bwrap or prlimit is not found.
    """
    search = environment.get("PATH")
    bwrap = shutil.which(settings.bwrap, path=search)
    if bwrap is None:
        raise _unavailable(
            f"bubblewrap is not installed (no {settings.bwrap!r} found); install the package "
            "bubblewrap"
        )
    prlimit = shutil.which("prlimit", path=search)
    if prlimit is None:
        raise _unavailable("prlimit is not installed; install the package util-linux")
    knows = _bwrap_options(bwrap)
    args = [bwrap]
    for path in SYSTEM_PATHS:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    if "--size" in knows:  # bubblewrap 0.7 and later
        args += ["--size", str(settings.max_file_mb * MB)]
    args += ["--tmpfs", "/tmp"]
    cwd = os.path.abspath(settings.cwd)
    home = environment.get("HOME", "")
    if os.path.isabs(home) and not _inside(cwd, home) and not _inside(home, *SYSTEM_PATHS):
        args += ["--tmpfs", home]
    args += ["--bind", cwd, cwd]
    for path in settings.read_only_paths:
        real = os.path.abspath(os.path.expanduser(path))
        args += ["--ro-bind", real, real]
    if settings.network:
        resolv = os.path.realpath("/etc/resolv.conf")  # often a link into /run
        if not _inside(resolv, "/etc"):
            args += ["--ro-bind-try", resolv, resolv]
    args += ["--dev", "/dev", "--proc", "/proc", "--chdir", cwd]
    args += ["--unshare-all", "--unshare-user"]
    if "--disable-userns" in knows:  # bubblewrap 0.8 and later
        args.append("--disable-userns")
    if settings.network:
        args.append("--share-net")
    args += ["--cap-drop", "ALL", "--new-session", "--die-with-parent", "--"]
    limits = [
        f"--as={settings.max_memory_mb * MB}",
        f"--nproc={settings.max_processes}",
        f"--fsize={settings.max_file_mb * MB}",
        "--core=0",
    ]
    return [*args, prlimit, *limits, "--"]


def _bwrap_options(bwrap: str) -> set[str]:
    """The options that this bwrap lists in its ``--help`` (older ones lack a few)."""
    try:
        said = subprocess.run(
            [bwrap, "--help"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()  # the probe in check_sandbox says what is wrong
    return {word for word in said.stdout.decode(errors="replace").split() if word[:2] == "--"}


def _inside(path: str, *folders: str) -> bool:
    """Whether ``path`` is one of ``folders`` or lies inside one."""
    return any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in folders)


class _Budget:
    """The bytes of output a command may print; ``on_spent`` is called once when it is over."""

    def __init__(self, total: int, on_spent: Callable[[], None]) -> None:
        self.left = total
        self.spent = False
        self.on_spent = on_spent

    def take(self, size: int) -> bool:
        """Count ``size`` more bytes; False once the budget is spent."""
        self.left -= size
        if self.left < 0 and not self.spent:
            self.spent = True
            self.on_spent()
        return not self.spent


class _Capture:
    """The first and the last ``keep`` bytes of a stream, and how many there were."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.keep - len(self.head)
        self.head += chunk[:room]
        self.tail += chunk[room:]
        del self.tail[: -self.keep]

    def text(self, budget: int) -> str:
        """The output within ``budget`` characters: its start and end, with the cut marked."""
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        lost = self.total > len(self.head) + len(self.tail)
        whole = head + tail
        if not lost and len(whole) <= budget:
            return whole
        end_size = budget // 2
        start = (head if lost else whole)[: budget - end_size]
        end = (tail if lost else whole)[-end_size:] if end_size else ""
        cut = self.total - len(start.encode()) - len(end.encode())
        return f"{start}\n[... {max(cut, 0)} bytes of output cut ...]\n{end}"


async def _drain(fd: int, capture: _Capture, budget: _Budget) -> None:
    """Read the pipe ``fd`` into ``capture`` to its end or until ``budget`` is spent; the
    pipe is closed in the end."""
    pipe = os.fdopen(fd, "rb", buffering=0)
    reader = asyncio.StreamReader()
    try:
        transport, _ = await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), pipe
        )
    except BaseException:
        pipe.close()
        raise
    try:
        while chunk := await reader.read(65536):
            capture.add(chunk)
            if not budget.take(len(chunk)):
                break
    finally:
        transport.close()


_REAPERS: set[asyncio.Future[int]] = set()


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Wait for a killed shell to be reaped; if cancelled again, it is reaped in the background."""
    reaper = asyncio.ensure_future(process.wait())
    _REAPERS.add(reaper)
    reaper.add_done_callback(_REAPERS.discard)
    await asyncio.shield(reaper)


def _kill_group(process: asyncio.subprocess.Process) -> None:
    """Kill the shell and its process group; in the sandbox, bwrap and its PID namespace."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _report(
    exit_line: str, stdout: _Capture, stderr: _Capture, limit: int, still_open: bool
) -> str:
    """``exit_line``, then stdout and stderr, sharing ``limit`` characters."""
    err_budget = min(stderr.total, limit // 2)
    out_budget = limit - err_budget
    if stdout.total < out_budget:
        err_budget = limit - stdout.total
    lines = [exit_line]
    if stdout.total:
        lines += ["stdout:", stdout.text(out_budget).rstrip("\n")]
    if stderr.total:
        lines += ["stderr:", stderr.text(err_budget).rstrip("\n")]
    if not stdout.total and not stderr.total:
        lines.append("(no output)")
    if still_open:
        lines.append("[it left processes running that kept its output open; they were stopped]")
    return "\n".join(lines)


def _exit_line(code: int | None, settings: ShellOptions, sandboxed: bool) -> str:
    """'exit code: N', with the signal that ended the command and the limit that sent it.

    bwrap reports a command killed by signal N as exit code 128 + N, as shells do; such a
    code is read as a signal, "likely", since a command may also exit with it.
    """
    line = f"exit code: {code}"
    if code is None or 0 <= code <= 128 or (code > 0 and not sandboxed):
        return line
    number = -code if code < 0 else code - 128
    try:
        name = signal.Signals(number).name
    except ValueError:
        return line if code > 0 else f"{line} (killed by signal {number})"
    likely = "likely " if code > 0 else ""
    limit = ""
    if sandboxed and number == signal.SIGXFSZ:
        limit = f": a file reached the size limit of {settings.max_file_mb} MB"
    return f"{line} ({likely}killed by {name}{limit})"


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the shell server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.shell",
        description="Rung's shell tool as an MCP server over stdio: run_command runs a "
        "command line with /bin/sh in a bubblewrap sandbox. Give it only to clients that ask "
        "before each command.",
    )
    parser.add_argument(
        "--cwd", metavar="DIR", help="the writable folder commands run in (default: here)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds a command may run (default: 60)"
    )
    numbers = {
        "max_output_chars": "most characters of output returned (default: 20000)",
        "max_output_bytes": "output that stops the command (default: 10000000)",
        "max_memory_mb": "address space of each process, in MiB (default: 4096)",
        "max_processes": "processes and threads in the sandbox (default: 256)",
        "max_file_mb": "size of each file written and of /tmp, in MiB (default: 1024)",
    }
    for name, text in numbers.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, metavar="N", help=text)
    parser.add_argument(
        "--read-only",
        action="append",
        dest="read_only_paths",
        metavar="PATH",
        help="a folder or file to show read-only in the sandbox (repeatable)",
    )
    parser.add_argument("--network", action="store_true", default=None, help="allow network")
    parser.add_argument(
        "--no-sandbox",
        dest="sandbox",
        action="store_false",
        default=None,
        help="run commands without a sandbox, with all your rights",
    )
    parser.add_argument("--bwrap", metavar="PATH", help="the bubblewrap command (default: bwrap)")
    args = parser.parse_args(argv)
    options = {name: value for name, value in vars(args).items() if value is not None}
    serve(parser, create, options)


if __name__ == "__main__":
    main()
