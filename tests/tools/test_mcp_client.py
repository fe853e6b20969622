"""Stdio servers live and die with Rung: a real `rung ask` killed with SIGKILL during a
blocking tool call takes its server and the server's child along (tools/mcp_client.py's
lifeline), and a connection that closes ends what its server left in its group.

Every wait is for a condition under a deadline; every process a test learns of is killed by
its pid in the fixture's teardown if it is still there, also when the test fails.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rung.config.errors import ToolError
from rung.config.mcp_file import ServerConfig
from rung.tools.mcp_client import connect
from tests.conftest import Processes, Rung
from tests.mcp_servers.http import ROOT
from tests.ollama_server import OllamaTestServer, Reply

DEADLINE = 20.0  # for a server to start and its tool to run (an `mcp` import: about a second)
GONE_WITHIN = 5.0  # for the processes to end once Rung is gone


def running(pid: int) -> bool:
    """The process exists and has not exited (a zombie, an exited process that its new
    parent has not reaped yet, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # reaped meanwhile, or no /proc (macOS): ask ps
        state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True)
        return bool(state.stdout.strip()) and not state.stdout.strip().startswith(b"Z")
    return fields[0] != "Z"


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Re-check `condition` until it holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.02)


def wait_gone(pid: int, timeout: float) -> bool:
    """Whether process `pid` ends within `timeout` seconds (woken by its exit where the
    system can say so: a pidfd becomes readable when the process exits)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except (AttributeError, OSError):  # no pidfd here: look again and again
        try:
            wait_until(lambda: not running(pid), timeout, f"process {pid} to end")
        except AssertionError:
            return False
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0]) or not running(pid)
    finally:
        os.close(fd)


@pytest.fixture
def strays() -> Iterator[list[int]]:
    """Pids of processes a test learned of (a server, its child): killed in the teardown."""
    pids: list[int] = []
    try:
        yield pids
    finally:
        for pid in pids:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


def holder_config(home: Path) -> None:
    path = home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {
        "command": sys.executable,
        "args": ["-m", "tests.mcp_servers.holder"],
        "cwd": str(ROOT),
        "approval": "allow",
    }
    path.write_text(json.dumps({"mcpServers": {"holder": holder}}))


def read_pids(record: Path) -> list[int]:
    return [int(word) for word in record.read_text().split()]


def test_kill_9_of_rung_during_a_blocking_call_ends_the_server_and_its_child(
    rung: Rung,
    ollama_server: OllamaTestServer,
    isolated_home: Path,
    processes: Processes,
    strays: list[int],
    tmp_path: Path,
) -> None:
    holder_config(isolated_home)
    record = tmp_path / "pids"
    ollama_server.script(
        Reply(tool_calls=[{"name": "hold", "arguments": {"record": str(record)}}]),
        Reply(text="never asked for: Rung is killed during the call"),
    )
    env = dict(rung.env, RUNG_MAX_TOOLS="64")  # offer every tool: no embedding model to load
    proc = processes.start(["ask", "--tier", "agent", "--no-save", "hold on"], env)

    def started() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        return record.exists()

    wait_until(started, DEADLINE, "the tool call to run")
    server, child = read_pids(record)
    strays.extend([server, child])
    assert running(server) and running(child)

    proc.kill()  # SIGKILL: Rung runs no code of its own from here on
    proc.wait()
    assert wait_gone(server, GONE_WITHIN), "the server outlived Rung"
    assert wait_gone(child, GONE_WITHIN), "the server's child outlived Rung"


async def test_the_server_runs_as_configured_and_its_lifeline_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strays: list[int]
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    log = tmp_path / "box.log"
    config = ServerConfig(
        "box",
        command=sys.executable,
        args=("-m", "tests.mcp_servers.toolbox"),
        cwd=str(ROOT),
        env={"BOX_NOTE": "given"},
    )
    environ = {**os.environ, "RUNG_TEST_SECRET": "not for servers"}
    with log.open("a") as errors:
        async with connect(config, environ=environ, log=errors, on_list_changed=print) as link:
            assert list((tmp_path / "tmp").iterdir()) == []  # the FIFO's name is gone
            pid = int((await link.call_tool("pid", {}))[0])
            strays.append(pid)
            assert await link.call_tool("env", {"variable": "BOX_NOTE"}) == ("given", False)
            secret = await link.call_tool("env", {"variable": "RUNG_TEST_SECRET"})
            assert secret == ("<unset>", False)
            assert os.getpgid(pid) == pid  # the leader of its own group, as the SDK makes it
    assert "toolbox starting" in log.read_text()  # its stderr went to the log
    assert wait_gone(pid, GONE_WITHIN)


async def test_a_closed_connection_ends_what_its_server_left_in_its_group(
    tmp_path: Path, strays: list[int]
) -> None:
    record = tmp_path / "pids"
    config = ServerConfig(
        "holder", command=sys.executable, args=("-m", "tests.mcp_servers.holder"), cwd=str(ROOT)
    )
    with (tmp_path / "holder.log").open("a") as errors:
        async with connect(config, environ=os.environ, log=errors, on_list_changed=print) as link:
            assert await link.call_tool("spawn", {"record": str(record)}) == ("started", False)
            server, child = read_pids(record)
            strays.extend([server, child])
    # The server exits when its stdin closes (the SDK's clean shutdown); its child would
    # live on under init, but the lifeline ends with the connection.
    assert wait_gone(server, GONE_WITHIN)
    assert wait_gone(child, GONE_WITHIN), "the server's child outlived the connection"


async def test_a_command_that_cannot_run_fails_with_the_reason(tmp_path: Path) -> None:
    """Said as the SDK's own spawn says it, though the launcher's shell is what starts."""
    not_executable = tmp_path / "server.py"
    not_executable.write_text("print('hello')\n")
    for command, why in (
        ("rung-test-no-such-command", "No such file or directory"),
        (str(tmp_path / "gone" / "server"), "No such file or directory"),
        (str(not_executable), "Permission denied"),
    ):
        with (tmp_path / "x.log").open("a") as errors, pytest.raises(ToolError) as failed:
            async with connect(
                ServerConfig("x", command=command),
                environ=os.environ,
                log=errors,
                on_list_changed=print,
            ):
                pass
        assert failed.value.message == f"cannot start {command}: {why}"
