"""The shell server: run a command line with ``/bin/sh`` and return what it printed.

It is off by default and its one tool always needs the user's approval: a command can do
anything the user can. Each command runs in its own process group in the ``cwd`` folder,
with no input; after ``timeout`` seconds the whole group is killed. Output is kept to
``max_output_chars`` (its start and its end, which is where errors usually are).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.tools.builtin import Options, new_server, parse_options, serve

NAME = "shell"
READ_ONLY: frozenset[str] = frozenset()

DRAIN_SECONDS = 1.0
"""How long the output may stay open after the shell exits (a background job holding it)."""


class ShellOptions(Options):
    cwd: str = Field(default_factory=os.getcwd)
    timeout: float = Field(default=60.0, gt=0)
    max_output_chars: int = Field(default=20_000, gt=0)


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a shell server running commands in ``cwd`` for at most ``timeout`` seconds."""
    settings = parse_options(ShellOptions, NAME, options)
    if not os.path.isdir(settings.cwd):
        raise ValueError(f"option 'cwd' of the shell server: {settings.cwd!r} is not a folder")
    shell = Shell(settings)
    server = new_server(NAME, f"Run shell commands in {settings.cwd}.")
    annotations = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=True)
    server.add_tool(shell.run_command, annotations=annotations, structured_output=False)
    return server


class Shell:
    def __init__(self, settings: ShellOptions) -> None:
        self.settings = settings

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
        readers = {
            asyncio.create_task(_drain(fd, capture))
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
        report = _report(process.returncode, stdout, stderr, limit, bool(still_open))
        if timed_out:
            raise ToolError(
                f"timed out after {self.settings.timeout:g} s; the command and the processes "
                f"it started were killed. What it printed until then:\n{report}"
            )
        return report

    async def _start(self, command: str) -> tuple[asyncio.subprocess.Process, list[int]]:
        """Start ``sh -c command`` in a new process group; the read ends of its output pipes.

        The pipes are ours, not asyncio's: on Python 3.11 ``Process.wait()`` would otherwise
        wait for the pipes to close too, which a background job can put off for ever.
        """
        pipes = [os.pipe(), os.pipe()]
        try:
            process = await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=pipes[0][1],
                stderr=pipes[1][1],
                cwd=self.settings.cwd,
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


async def _drain(fd: int, capture: _Capture) -> None:
    """Read the pipe ``fd`` to its end into ``capture``; the pipe is closed in the end."""
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
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _report(
    code: int | None, stdout: _Capture, stderr: _Capture, limit: int, still_open: bool
) -> str:
    """'exit code: N', then stdout and stderr, sharing ``limit`` characters."""
    err_budget = min(stderr.total, limit // 2)
    out_budget = limit - err_budget
    if stdout.total < out_budget:
        err_budget = limit - stdout.total
    lines = [f"exit code: {code}{_signal_note(code)}"]
    if stdout.total:
        lines += ["stdout:", stdout.text(out_budget).rstrip("\n")]
    if stderr.total:
        lines += ["stderr:", stderr.text(err_budget).rstrip("\n")]
    if not stdout.total and not stderr.total:
        lines.append("(no output)")
    if still_open:
        lines.append("[it left processes running that kept its output open; they were stopped]")
    return "\n".join(lines)


def _signal_note(code: int | None) -> str:
    if code is None or code >= 0:
        return ""
    try:
        return f" (killed by {signal.Signals(-code).name})"
    except ValueError:
        return f" (killed by signal {-code})"


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the shell server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.shell",
        description="Rung's shell tool as an MCP server over stdio: run_command runs a "
        "command line with /bin/sh. Give it only to clients that ask before each command.",
    )
    parser.add_argument("--cwd", metavar="DIR", help="folder commands run in (default: here)")
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds a command may run (default: 60)"
    )
    parser.add_argument(
        "--max-output-chars",
        type=int,
        metavar="N",
        help="most characters of output returned (default: 20000)",
    )
    args = parser.parse_args(argv)
    flags = {"cwd": args.cwd, "timeout": args.timeout, "max_output_chars": args.max_output_chars}
    options = {name: value for name, value in flags.items() if value is not None}
    serve(parser, create, options)


if __name__ == "__main__":
    main()
