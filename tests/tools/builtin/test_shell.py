"""The shell server, called through a real in-process MCP client, running real commands.

The sandbox is the real bubblewrap (Debian package ``bubblewrap``); where it is missing or
cannot make its namespaces, the tests that need it are skipped with a line saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from rung.config.errors import RungError
from rung.tools.builtin import shell
from tests.tools.builtin.helpers import ok, refused, sandbox_problem, skip_without_bubblewrap

NOBODY = 65534


@pytest.fixture
def sandboxed() -> None:
    """Skip, saying why, where bubblewrap cannot run."""
    skip_without_bubblewrap()


def server(tmp_path: Path, **options: object) -> MCPServer:
    return shell.create({"cwd": str(tmp_path), **options})


def running_in(folder: Path) -> list[int]:
    """The processes whose working folder is ``folder`` (seen from here, also in a sandbox)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd") == str(folder) and not gone(int(entry)):
                    found.append(int(entry))
            except OSError:
                pass  # ended meanwhile, or not ours to see
    return found


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


async def wait_until_empty(folder: Path, within: float = 5.0) -> list[int]:
    """The processes still running in ``folder`` after at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while (left := running_in(folder)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return left


async def wait_for_command(
    folder: Path, name: str, alive: subprocess.Popen[bytes] | None = None, within: float = 5.0
) -> None:
    """Wait until a process called ``name`` runs in ``folder`` (the sandbox is set up)."""
    deadline = time.monotonic() + within
    while not any(comm(pid) == name for pid in running_in(folder)):
        assert alive is None or alive.poll() is None, "the server ended"
        assert time.monotonic() < deadline, f"{name} did not start"
        await asyncio.sleep(0.01)


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def stop_all_in(folder: Path) -> None:
    """Teardown: kill, by pid, whatever a failed test left running in ``folder``."""
    for pid in running_in(folder):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(autouse=True)
def no_leftovers(tmp_path: Path) -> Iterator[None]:
    yield
    stop_all_in(tmp_path)


@pytest.fixture
def unprivileged(tmp_path: Path, sandboxed: None) -> Iterator[dict[str, str]]:
    """Options that run the sandbox as a user the kernel limits (not root), and its folder.

    The kernel applies no process limit to root; run as root, this test runs bwrap as
    nobody (through ``setpriv``) in a folder of nobody's, as a normal user's Rung would.
    """
    if os.geteuid() != 0:
        yield {"cwd": str(tmp_path)}
        return
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (the Debian package util-linux) to run bwrap as nobody")
    folder = Path(tempfile.mkdtemp(prefix="rung-shell-"))
    os.chown(folder, NOBODY, NOBODY)
    wrapper = tmp_path / "bwrap-as-nobody"
    bwrap = shutil.which("bwrap")
    as_nobody = f"{setpriv} --reuid={NOBODY} --regid={NOBODY} --clear-groups --"
    wrapper.write_text(f'#!/bin/sh\nexec {as_nobody} {bwrap} "$@"\n')
    wrapper.chmod(0o755)
    try:
        yield {"cwd": str(folder), "bwrap": str(wrapper)}
    finally:
        stop_all_in(folder)
        shutil.rmtree(folder)


# --- what every command gets -------------------------------------------------------------


async def test_exit_code_stdout_and_stderr(tmp_path: Path, sandboxed: None) -> None:
    text = await ok(server(tmp_path), "run_command", command="echo out; echo err >&2; exit 3")
    assert text == "exit code: 3\nstdout:\nout\nstderr:\nerr"


async def test_commands_run_in_the_cwd_with_no_input(tmp_path: Path, sandboxed: None) -> None:
    (tmp_path / "marker.txt").write_text("here")
    text = await ok(server(tmp_path), "run_command", command="pwd; cat marker.txt; cat")
    assert text == f"exit code: 0\nstdout:\n{tmp_path}\nhere"


async def test_a_command_without_output(tmp_path: Path, sandboxed: None) -> None:
    assert await ok(server(tmp_path), "run_command", command="true") == "exit code: 0\n(no output)"


async def test_a_command_killed_by_a_signal_says_so(tmp_path: Path, sandboxed: None) -> None:
    text = await ok(server(tmp_path), "run_command", command="kill -TERM $$")
    assert text == "exit code: 143 (likely killed by SIGTERM)\n(no output)"  # as bwrap says it
    text = await ok(server(tmp_path, sandbox=False), "run_command", command="kill -TERM $$")
    assert text.endswith("exit code: -15 (killed by SIGTERM)\n(no output)")


async def test_long_output_keeps_its_start_and_end(tmp_path: Path, sandboxed: None) -> None:
    text = await ok(
        server(tmp_path, max_output_chars=40), "run_command", command="seq 1 10000; echo done >&2"
    )
    lines = text.splitlines()
    assert lines[:4] == ["exit code: 0", "stdout:", "1", "2"]
    assert any(line.startswith("[... ") and "bytes of output cut" in line for line in lines)
    assert lines[-3:] == ["10000", "stderr:", "done"]
    assert len(text) < 200


async def test_output_past_its_byte_limit_stops_the_command(
    tmp_path: Path, sandboxed: None
) -> None:
    started = time.monotonic()
    message = await refused(
        server(tmp_path, max_output_bytes=100_000), "run_command", command="yes"
    )
    assert message.startswith(
        "stopped after more than 100000 bytes of output; the command and the processes it "
        "started were killed. What it printed:\nexit code: -9 (killed by SIGKILL)\nstdout:\ny\n"
    )
    assert time.monotonic() - started < 10  # not the 60 s timeout
    assert await wait_until_empty(tmp_path) == []


async def test_an_empty_command_is_refused(tmp_path: Path, sandboxed: None) -> None:
    assert await refused(server(tmp_path), "run_command", command=" ") == "the command is empty"


@pytest.mark.parametrize("sandbox", [True, False])
async def test_the_environment_holds_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: bool
) -> None:
    if sandbox and sandbox_problem():
        pytest.skip(f"needs bubblewrap (the Debian package bubblewrap): {sandbox_problem()}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    text = await ok(server(tmp_path, sandbox=sandbox), "run_command", command="env")
    assert "LANG=C.UTF-8" in text.splitlines()  # the allowlist, as stdio servers get it
    assert "OPENAI_API_KEY" not in text and "sk-test-secret" not in text


# --- the sandbox ------------------------------------------------------------------------


async def test_the_working_folder_is_writable_and_nothing_else_is(
    tmp_path: Path, sandboxed: None
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    elsewhere = Path("/var/tmp") / f"rung-shell-test-{uuid.uuid4().hex}"
    command = (
        f"echo inside > inside.txt; echo out > ../outside.txt; echo out > {elsewhere}; "
        "echo out > /etc/rung-shell-test; echo out > /usr/rung-shell-test; ls ~; echo done"
    )
    text = await ok(server(work), "run_command", command=command)
    assert (work / "inside.txt").read_text() == "inside\n"
    assert not (tmp_path / "outside.txt").exists()  # it went to the sandbox's own /tmp
    assert not elsewhere.exists()
    assert not Path("/etc/rung-shell-test").exists()
    assert not Path("/usr/rung-shell-test").exists()
    assert "cannot create /etc/rung-shell-test: Read-only file system" in text
    assert "cannot create /usr/rung-shell-test: Read-only file system" in text
    assert f"cannot create {elsewhere}: Directory nonexistent" in text
    assert "stdout:\ndone\n" in text  # an empty home: nothing listed before "done"


async def test_the_network_is_off_unless_allowed(tmp_path: Path, sandboxed: None) -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.put_nowait(await reader.readline())
        writer.close()

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        port = listener.sockets[0].getsockname()[1]
        command = f"bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}' && echo connected"
        text = await ok(server(tmp_path), "run_command", command=command)
        assert text.startswith("exit code: 1\nstderr:\n")
        assert "connected" not in text
        text = await ok(server(tmp_path, network=True), "run_command", command=command)
        assert text == "exit code: 0\nstdout:\nconnected"
        assert await asyncio.wait_for(received.get(), 5) == b"hello\n"
        assert received.empty()  # the first command never reached it
    finally:
        listener.close()
        await listener.wait_closed()


async def test_a_fork_bomb_is_contained(unprivileged: dict[str, str]) -> None:
    folder = Path(unprivileged["cwd"])
    bomb = server(folder, **unprivileged, max_processes=32, timeout=1)
    # The shell forks once, before the bomb, and then waits as sleep: no fork of its own can
    # fail, so the call always ends at the timeout, with the bomb still going.
    command = "(b() { b | b & }; b) & exec sleep 1000"
    message = await refused(bomb, "run_command", command=command)
    assert message.startswith("timed out after 1 s; the command and the processes it started")
    assert "Cannot fork" in message, message  # the process limit held
    assert await wait_until_empty(folder) == []


async def test_a_10_gb_write_fails_quickly(tmp_path: Path, sandboxed: None) -> None:
    started = time.monotonic()
    text = await ok(
        server(tmp_path, max_file_mb=8), "run_command", command="head -c 10G /dev/zero > big"
    )
    assert text.startswith(
        "exit code: 153 (likely killed by SIGXFSZ: a file reached the size limit of 8 MB)"
    )
    assert (tmp_path / "big").stat().st_size == 8 * 1024 * 1024
    assert time.monotonic() - started < 10


async def test_a_command_over_the_memory_limit_fails(tmp_path: Path, sandboxed: None) -> None:
    command = "bash -c 'x=$(head -c 64M /dev/zero | tr \"\\0\" a); echo ${#x}'"
    text = await ok(server(tmp_path, max_memory_mb=32), "run_command", command=command)
    assert "cannot allocate" in text
    assert "67108864" not in text


async def test_a_command_over_time_is_killed_with_its_children(
    tmp_path: Path, sandboxed: None
) -> None:
    command = "sleep 30 & echo started; wait"
    message = await refused(server(tmp_path, timeout=0.5), "run_command", command=command)
    assert message.startswith(
        "timed out after 0.5 s; the command and the processes it started were killed."
    )
    assert "exit code: -9 (killed by SIGKILL)\nstdout:\nstarted" in message
    assert await wait_until_empty(tmp_path) == []


async def test_background_jobs_end_with_the_command(tmp_path: Path, sandboxed: None) -> None:
    text = await ok(server(tmp_path), "run_command", command="sleep 30 & echo started")
    assert text == "exit code: 0\nstdout:\nstarted"  # not kept open until DRAIN_SECONDS
    assert await wait_until_empty(tmp_path) == []


async def test_a_cancelled_call_kills_the_command(tmp_path: Path, sandboxed: None) -> None:
    tool = shell.Shell(shell.ShellOptions(cwd=str(tmp_path)), os.environ)
    call = asyncio.create_task(tool.run_command("sleep 30"))
    await wait_for_command(tmp_path, "sleep")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await wait_until_empty(tmp_path) == []
    gc.collect()  # a bwrap left unreaped would warn here (warnings are errors)


async def test_the_sandbox_dies_with_the_server(tmp_path: Path, sandboxed: None) -> None:
    script = (
        "import asyncio, os, sys\n"
        "from rung.tools.builtin import shell\n"
        "tool = shell.Shell(shell.ShellOptions(cwd=sys.argv[1]), os.environ)\n"
        "asyncio.run(tool.run_command('sleep 30'))\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    rung = subprocess.Popen([sys.executable, "-c", script, str(work)])
    try:
        await wait_for_command(work, "sleep", alive=rung, within=20)
        rung.kill()  # SIGKILL: no clean-up code of the server runs
        rung.wait()
        assert await wait_until_empty(work) == []
    finally:
        if rung.poll() is None:
            rung.kill()
            rung.wait()
        stop_all_in(work)


async def test_the_descriptions_say_how_commands_are_confined(
    tmp_path: Path, sandboxed: None
) -> None:
    async def description(**options: object) -> str:
        async with Client(server(tmp_path, **options)) as client:
            (tool,) = (await client.list_tools()).tools
        assert tool.description
        return tool.description

    closed = await description()
    assert closed.startswith("Run a shell command in a sandbox (read-only system")
    assert "no network" in closed
    assert "network access" in await description(network=True)
    assert "WITHOUT a sandbox" in await description(sandbox=False)


async def test_read_only_paths_can_be_read_not_written(tmp_path: Path, sandboxed: None) -> None:
    work, tools = tmp_path / "work", tmp_path / "tools"
    work.mkdir()
    tools.mkdir()
    (tools / "hello.txt").write_text("hi\n")
    options = {"read_only_paths": [str(tools)]}
    command = f"cat {tools}/hello.txt; echo x > {tools}/new.txt"
    text = await ok(server(work, **options), "run_command", command=command)
    assert text.startswith("exit code: 2\nstdout:\nhi\nstderr:\n")
    assert "Read-only file system" in text
    assert not (tools / "new.txt").exists()


# --- without a sandbox ------------------------------------------------------------------


@pytest.mark.parametrize("how", ["a missing binary", "no bwrap on PATH"])
def test_without_bubblewrap_the_server_is_off_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    options: dict[str, object] = {"bwrap": str(tmp_path / "no-such-bwrap")}
    if how == "no bwrap on PATH":
        monkeypatch.setenv("PATH", str(tmp_path))
        options = {}
    with pytest.raises(ValueError) as raised:
        server(tmp_path, **options)
    message = str(raised.value)
    assert isinstance(raised.value, RungError)  # the hub shows its message as the reason
    assert message.startswith("the shell is off: it runs commands in a sandbox, but bubblewrap")
    assert "is not installed" in message and "install the package bubblewrap" in message
    assert message.endswith(
        "install the package bubblewrap; to run them without one, set the shell server's "
        "option sandbox to false"
    )
    assert "\n" not in message


def test_a_sandbox_that_cannot_start_says_why(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"  # fails as bwrap does where user namespaces are off
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(shell.SandboxUnavailable) as raised:
        server(tmp_path, bwrap=str(fake))
    assert "bubblewrap cannot make the sandbox here (bwrap: No permissions to create new " in str(
        raised.value
    )


def test_the_command_line_says_why_the_server_is_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        shell.main(["--cwd", str(tmp_path), "--bwrap", str(tmp_path / "no-such-bwrap")])
    assert exited.value.code == 2
    assert (
        "the shell is off: it runs commands in a sandbox, but bubblewrap" in capsys.readouterr().err
    )


async def test_unsandboxed_the_first_result_says_so(tmp_path: Path) -> None:
    tool = shell.Shell(shell.ShellOptions(cwd=str(tmp_path), sandbox=False), os.environ)
    first, second = await tool.run_command("echo hi"), await tool.run_command("echo hi")
    assert first == (
        "[this shell has no sandbox (the option sandbox is false): commands run with all the "
        "user's rights]\nexit code: 0\nstdout:\nhi"
    )
    assert second == "exit code: 0\nstdout:\nhi"


async def test_unsandboxed_a_command_over_time_is_killed_with_its_children(
    tmp_path: Path,
) -> None:
    command = "sleep 30 & echo $! > child.pid; echo started; wait"
    unsandboxed = server(tmp_path, timeout=0.5, sandbox=False)
    message = await refused(unsandboxed, "run_command", command=command)
    assert message.startswith(
        "timed out after 0.5 s; the command and the processes it started were killed."
    )
    assert "exit code: -9 (killed by SIGKILL)\nstdout:\nstarted" in message
    assert await wait_until_gone(int((tmp_path / "child.pid").read_text()))


async def test_unsandboxed_background_processes_holding_the_output_are_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shell, "DRAIN_SECONDS", 0.2)
    command = "sleep 30 & echo $! > child.pid; echo started"
    tool = shell.Shell(shell.ShellOptions(cwd=str(tmp_path), sandbox=False), os.environ)
    tool.unsandboxed_note = False
    assert await tool.run_command(command) == (
        "exit code: 0\nstdout:\nstarted\n"
        "[it left processes running that kept its output open; they were stopped]"
    )
    assert await wait_until_gone(int((tmp_path / "child.pid").read_text()))


async def test_unsandboxed_a_cancelled_call_kills_the_command(tmp_path: Path) -> None:
    tool = shell.Shell(shell.ShellOptions(cwd=str(tmp_path), sandbox=False), os.environ)
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
