"""The shell server, called through a real in-process MCP client, running real commands."""

from __future__ import annotations

import asyncio
import gc
import time
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer

from rung.tools.builtin import shell
from tests.tools.builtin.helpers import ok, refused


def server(tmp_path: Path, **options: object) -> MCPServer:
    return shell.create({"cwd": str(tmp_path), **options})


def gone(pid: int) -> bool:
    """True once ``pid`` has ended (a zombie waiting for its parent counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


async def wait_until_gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_exit_code_stdout_and_stderr(tmp_path: Path) -> None:
    text = await ok(server(tmp_path), "run_command", command="echo out; echo err >&2; exit 3")
    assert text == "exit code: 3\nstdout:\nout\nstderr:\nerr"


async def test_commands_run_in_the_cwd_with_no_input(tmp_path: Path) -> None:
    (tmp_path / "marker.txt").write_text("here")
    text = await ok(server(tmp_path), "run_command", command="pwd; cat marker.txt; cat")
    assert text == f"exit code: 0\nstdout:\n{tmp_path}\nhere"


async def test_a_command_without_output(tmp_path: Path) -> None:
    assert await ok(server(tmp_path), "run_command", command="true") == "exit code: 0\n(no output)"


async def test_a_command_killed_by_a_signal_says_so(tmp_path: Path) -> None:
    text = await ok(server(tmp_path), "run_command", command="kill -TERM $$")
    assert text == "exit code: -15 (killed by SIGTERM)\n(no output)"


async def test_long_output_keeps_its_start_and_end(tmp_path: Path) -> None:
    text = await ok(
        server(tmp_path, max_output_chars=40), "run_command", command="seq 1 10000; echo done >&2"
    )
    lines = text.splitlines()
    assert lines[:4] == ["exit code: 0", "stdout:", "1", "2"]
    assert any(line.startswith("[... ") and "bytes of output cut" in line for line in lines)
    assert lines[-3:] == ["10000", "stderr:", "done"]
    assert len(text) < 200


async def test_a_command_over_time_is_killed_with_its_children(tmp_path: Path) -> None:
    command = "sleep 30 & echo $! > child.pid; echo started; wait"
    message = await refused(server(tmp_path, timeout=0.5), "run_command", command=command)
    assert message.startswith(
        "timed out after 0.5 s; the command and the processes it started were killed."
    )
    assert "exit code: -9 (killed by SIGKILL)\nstdout:\nstarted" in message
    assert await wait_until_gone(int((tmp_path / "child.pid").read_text()))


async def test_background_processes_holding_the_output_are_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shell, "DRAIN_SECONDS", 0.2)
    command = "sleep 30 & echo $! > child.pid; echo started"
    text = await ok(server(tmp_path), "run_command", command=command)
    assert text == (
        "exit code: 0\nstdout:\nstarted\n"
        "[it left processes running that kept its output open; they were stopped]"
    )
    assert await wait_until_gone(int((tmp_path / "child.pid").read_text()))


async def test_an_empty_command_is_refused(tmp_path: Path) -> None:
    assert await refused(server(tmp_path), "run_command", command=" ") == "the command is empty"


async def test_a_cancelled_call_kills_the_command(tmp_path: Path) -> None:
    tool = shell.Shell(shell.ShellOptions(cwd=str(tmp_path)))
    pid_file = tmp_path / "child.pid"
    call = asyncio.create_task(tool.run_command("sleep 30 & echo $! > child.pid; wait"))
    deadline = time.monotonic() + 5
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the command did not start"
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await wait_until_gone(int(pid_file.read_text()))
    gc.collect()  # a shell left unreaped would warn here (warnings are errors)
