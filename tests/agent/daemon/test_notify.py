"""sd_notify against a datagram socket standing in for systemd's."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from rung.agent.daemon.notify import sd_notify, watchdog_interval


def test_sends_the_state_to_notify_socket() -> None:
    folder = Path(tempfile.mkdtemp(prefix="n-", dir="/tmp"))
    address = folder / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(str(address))
        listener.settimeout(5)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(address)}) is True
        assert listener.recv(100) == b"READY=1"
    address.unlink()
    folder.rmdir()


def test_abstract_namespace(tmp_path: Path) -> None:
    name = f"rung-test-{tmp_path.name}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert sd_notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name}) is True
        assert listener.recv(100) == b"STOPPING=1"


def test_without_a_service_manager_nothing_is_sent(tmp_path: Path) -> None:
    assert sd_notify("READY=1", {}) is False
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False  # logged
    assert sd_notify("READY=1", {"NOTIFY_SOCKET": "vsock:2:3"}) is False


def test_the_watchdog_interval_is_half_of_watchdog_sec_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    mine = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": mine}) == 2.0
    assert watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
