"""The daemon's TCP listener: none unless daemon_port is set; then on 127.0.0.1 only, with
the token, the Host header checked (against DNS rebinding) and no CORS headers."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import httpx

from rung.config.paths import Paths
from tests.agent.daemon.conftest import start_daemon
from tests.conftest import Processes, Rung


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(pid: int) -> list[tuple[str, int]]:
    """The TCP sockets process `pid` listens on: (address in /proc's hex, port)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.append((address, int(port, 16)))
    return found


def start(processes: Processes, paths: Paths, **env: str) -> int:
    return start_daemon(processes, paths, {**os.environ, **env}).pid


def test_no_tcp_listener_unless_configured(processes: Processes, paths: Paths) -> None:
    assert listening(start(processes, paths)) == []


def test_the_tcp_listener_is_loopback_only_with_token_and_host_checked(
    processes: Processes, paths: Paths
) -> None:
    port = free_port()
    pid = start(processes, paths, RUNG_DAEMON_PORT=str(port))
    assert listening(pid) == [("0100007F", port)]  # 127.0.0.1, nothing else
    token = {"Authorization": f"Bearer {paths.daemon_token.read_text().strip()}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as api:
        assert api.get("/v1/health").status_code == 401
        assert api.get("/v1/health", headers={"Authorization": "Bearer guess"}).status_code == 401
        ok = api.get("/v1/status", headers={**token, "Origin": "http://evil.example"})
        assert ok.status_code == 200 and ok.json()["tcp"] == f"127.0.0.1:{port}"
        assert not [h for h in ok.headers if h.lower().startswith("access-control-")]
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1:1"):
            rebound = api.get("/v1/status", headers={**token, "Host": host})
            assert rebound.status_code == 421, host
        assert api.get("/v1/status", headers={**token, "Host": f"localhost:{port}"}).is_success
    status = Rung(dict(os.environ))("daemon", "status")
    assert f"tcp      http://127.0.0.1:{port}" in status.out


def test_a_port_in_use_is_one_line(paths: Paths) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = Rung({**os.environ, "RUNG_DAEMON_PORT": str(port)}).as_process()("daemon", "run")
    assert result.code == 1 and "Traceback" not in result.err
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.err
