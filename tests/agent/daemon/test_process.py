"""The daemon as a real process over its real unix socket: one per user, a stale lock taken
over after kill -9, the token, the permissions, its status, SIGTERM and sd_notify, and the
`rung daemon` commands a user types."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import tempfile
import threading
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from rung.agent.daemon.lock import lock_holder
from rung.config.paths import Paths
from tests.agent.daemon.conftest import answering, start_daemon, wait_for
from tests.conftest import Processes, Rung


def start(processes: Processes, paths: Paths, **env: str) -> subprocess.Popen[bytes]:
    """`rung daemon run` in the foreground, once its API answers."""
    return start_daemon(processes, paths, dict(os.environ, **env))


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.lstat(path).st_mode))


def test_one_daemon_per_user(processes: Processes, paths: Paths) -> None:
    first = start(processes, paths)
    second = Rung(dict(os.environ)).as_process()("daemon", "run")
    assert second.code == 1
    assert f"a rung daemon already runs (pid {first.pid})" in second.err
    assert "Traceback" not in second.err
    assert answering(paths) == first.pid  # the first is untouched


def test_a_stale_lock_is_taken_over_after_kill_9(processes: Processes, paths: Paths) -> None:
    first = start(processes, paths)
    first.kill()
    first.wait()
    assert paths.daemon_socket.exists()  # left behind, with the token and the lock file
    assert lock_holder(paths.daemon_lock) is None
    second = start(processes, paths)
    assert lock_holder(paths.daemon_lock) == second.pid
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=15) == 0
    assert second.stderr is not None
    assert f"took over the lock of pid {first.pid}" in second.stderr.read().decode()


def test_requests_without_the_token_get_401(processes: Processes, paths: Paths) -> None:
    start(processes, paths)
    token = paths.daemon_token.read_text()
    with httpx.Client(
        transport=httpx.HTTPTransport(uds=str(paths.daemon_socket)), base_url="http://rung"
    ) as api:
        assert api.get("/v1/status").status_code == 401
        wrong = {"Authorization": f"Bearer {token[:-1]}x"}
        assert api.get("/v1/status", headers=wrong).status_code == 401
        assert api.post("/v1/shutdown", headers=wrong).status_code == 401
        right = {"Authorization": f"Bearer {token}"}
        assert api.get("/v1/status", headers=right).status_code == 200
    assert answering(paths) is not None  # the refused shutdown stopped nothing


def test_folder_socket_and_token_are_private(processes: Processes, paths: Paths) -> None:
    paths.runtime_dir.mkdir(mode=0o755)
    os.chmod(paths.runtime_dir, 0o755)  # as another program might have left it
    start(processes, paths)
    assert mode(paths.runtime_dir) == oct(0o700)
    assert stat.S_ISSOCK(os.lstat(paths.daemon_socket).st_mode)
    assert mode(paths.daemon_socket) == oct(0o600)
    assert mode(paths.daemon_token) == oct(0o600)
    assert mode(paths.daemon_lock) == oct(0o600)
    assert len(paths.daemon_token.read_text()) >= 40  # 32 random bytes, base64


def test_status_over_the_socket(processes: Processes, paths: Paths) -> None:
    proc = start(processes, paths, RUNG_MODEL="tiny-model:1b")
    result = Rung(dict(os.environ))("daemon", "status", "--json")
    assert result.code == 0, result.err
    status = json.loads(result.out)
    assert status["running"] is True
    assert status["pid"] == proc.pid
    assert status["model"] == "tiny-model:1b"
    assert status["version"] == version("rung")
    assert status["api"] == "v1"
    assert status["socket"] == str(paths.daemon_socket)
    assert 10 * 2**20 < status["rss_bytes"] < 2**30
    assert status["uptime_s"] >= 0
    text = Rung(dict(os.environ))("daemon", "status")
    assert text.code == 0
    assert f"The daemon runs: pid {proc.pid}, up " in text.out
    assert "tiny-model:1b" in text.out and " MB" in text.out


def test_sigterm_stops_cleanly_and_tells_systemd(processes: Processes, paths: Paths) -> None:
    folder = Path(tempfile.mkdtemp(prefix="n-", dir="/tmp"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(folder / "notify"))
        manager.settimeout(15)
        proc = start(processes, paths, NOTIFY_SOCKET=str(folder / "notify"))
        assert manager.recv(100) == b"READY=1"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert manager.recv(100) == b"STOPPING=1"
    (folder / "notify").unlink()
    folder.rmdir()
    assert not paths.daemon_socket.exists()
    assert not paths.daemon_token.exists()
    assert lock_holder(paths.daemon_lock) is None
    assert proc.stderr is not None
    log = proc.stderr.read().decode()
    assert "SIGTERM received" in log and "stopped" in log and "Traceback" not in log


def test_the_watchdog_is_fed_while_the_daemon_serves(processes: Processes, paths: Paths) -> None:
    folder = Path(tempfile.mkdtemp(prefix="n-", dir="/tmp"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind(str(folder / "notify"))
        manager.settimeout(15)
        start(processes, paths, NOTIFY_SOCKET=str(folder / "notify"), WATCHDOG_USEC="200000")
        assert manager.recv(100) == b"READY=1"
        assert [manager.recv(100) for _ in range(3)] == [b"WATCHDOG=1"] * 3
    (folder / "notify").unlink()
    folder.rmdir()


@pytest.mark.usefixtures("lock_holders")
def test_start_status_stop_logs_through_the_cli(paths: Paths) -> None:
    rung = Rung(dict(os.environ))
    assert rung("daemon", "status").code == 3
    assert json.loads(rung("daemon", "status", "--json").out) == {"running": False}

    started = rung.as_process()("daemon", "start")  # detaches; the real exit status
    assert started.code == 0, started.err
    pid = lock_holder(paths.daemon_lock)
    assert pid is not None and f"The daemon runs (pid {pid})" in started.out
    assert answering(paths) == pid
    assert os.getsid(pid) == pid  # a session of its own: no terminal to lose

    again = rung("daemon", "start")
    assert again.code == 0 and f"already runs (pid {pid})" in again.out
    assert json.loads(rung("daemon", "status", "--json").out)["pid"] == pid

    stopped = rung("daemon", "stop")
    assert stopped.code == 0, stopped.err
    assert f"The daemon stopped (pid {pid})" in stopped.out
    assert lock_holder(paths.daemon_lock) is None and not paths.daemon_socket.exists()
    assert rung("daemon", "status").code == 3
    assert "The daemon is not running." in rung("daemon", "stop").out

    logs = rung("daemon", "logs", "-n", "3")
    assert logs.code == 0
    lines = logs.out.splitlines()
    assert len(lines) == 3 and lines[-1].endswith("stopped")
    assert "the daemon is ready" in rung("daemon", "logs").out
    assert oct(stat.S_IMODE(paths.daemon_log.stat().st_mode)) == oct(0o600)


def test_a_daemon_that_cannot_start_is_one_line(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(paths.runtime_dir.parent / ("x" * 120)))
    result = Rung(dict(os.environ)).as_process()("daemon", "start")
    assert result.code == 1
    assert "rung: the daemon exited as it started (exit code 1): the socket path" in result.err
    assert "is too long for a unix socket" in result.err
    assert "Traceback" not in result.err and len(result.err.splitlines()) == 2  # and a hint


def test_bad_input_is_one_line(paths: Paths) -> None:
    rung = Rung(dict(os.environ))
    for args in (["daemon", "logs", "-n", "zero"], ["daemon", "start", "--timeout", "-1"]):
        result = rung(*args)
        assert result.code == 2 and "Traceback" not in result.err
        assert result.err.strip().splitlines()[-1].startswith("rung daemon")
    assert "No daemon log yet" in rung("daemon", "logs").out


@pytest.mark.usefixtures("lock_holders")
def test_restart_runs_a_new_daemon_and_logs_follow_it(processes: Processes, paths: Paths) -> None:
    rung = Rung(dict(os.environ))
    assert rung.as_process()("daemon", "start").code == 0
    first = lock_holder(paths.daemon_lock)
    follower = processes.start(
        ["daemon", "logs", "-f", "-n", "1"], dict(os.environ), stdout=subprocess.PIPE
    )
    assert follower.stdout is not None
    seen: list[str] = []
    reader = threading.Thread(
        target=lambda: seen.extend(line.decode() for line in follower.stdout),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    # following once it shows the log's last line: the first daemon's
    wait_for(
        lambda: any(f"the daemon is ready (pid {first})" in line for line in seen),
        "logs -f to show the end of the log",
    )
    restarted = rung.as_process()("daemon", "restart")
    assert restarted.code == 0, restarted.err
    second = lock_holder(paths.daemon_lock)
    assert second not in (None, first) and answering(paths) == second
    assert f"The daemon stopped (pid {first})" in restarted.out
    assert f"The daemon runs (pid {second})" in restarted.out
    # and then what was written: the first daemon stopping, the second one starting
    wait_for(
        lambda: any(f"the daemon is ready (pid {second})" in line for line in seen),
        "logs -f to show the new daemon start",
    )
    assert any("SIGTERM" in line or "stopping" in line for line in seen)
    follower.send_signal(signal.SIGINT)
    assert follower.wait(timeout=30) == 0
    rung("daemon", "stop")


def test_a_big_log_is_moved_aside_at_start(paths: Paths) -> None:
    rung = Rung(dict(os.environ))
    paths.daemon_log.parent.mkdir(parents=True)
    paths.daemon_log.write_bytes(b"old line\n" * (11 * 2**20 // 9))
    try:
        assert rung.as_process()("daemon", "start").code == 0
    finally:
        rung("daemon", "stop")
    assert paths.daemon_log.with_name("daemon.log.1").read_bytes().startswith(b"old line\n")
    assert b"old line" not in paths.daemon_log.read_bytes()


def test_doctor_checks_the_running_daemon_and_its_permissions(
    processes: Processes, paths: Paths
) -> None:
    from rung.agent.cli.doctor import TerminalDoctor
    from rung.config.settings import load_settings

    proc = start(processes, paths)
    doctor = TerminalDoctor(load_settings(paths.config_file), paths, lambda finding: None)
    found = doctor.daemon()
    assert found.status == "ok" and found.detail.startswith(f"runs (pid {proc.pid}, 0 turns")
    assert "not installed as a service" in found.detail
    assert Rung(dict(os.environ))("daemon", "install").code == 0
    assert "installed as a service (" in doctor.daemon().detail
    os.chmod(paths.daemon_socket, 0o666)
    loose = doctor.daemon()
    assert loose.status == "fail" and "daemon.sock is 0o666 (should be 0o600)" in loose.detail
    assert "rung daemon restart" in loose.hint
