"""The lock in this process: flock conflicts between two open files even in one process,
so a second `DaemonLock` stands for a second daemon. (A real second daemon, and a holder
killed with -9, are in test_process.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rung.agent.daemon.lock import DaemonLock, lock_holder
from rung.config.errors import DaemonRunning
from rung.config.paths import Paths


def test_a_second_lock_names_the_holder(paths: Paths) -> None:
    paths.runtime_dir.mkdir(parents=True)
    assert lock_holder(paths.daemon_lock) is None  # no file yet
    first = DaemonLock(paths.daemon_lock)
    first.acquire()
    try:
        assert lock_holder(paths.daemon_lock) == os.getpid()
        with pytest.raises(DaemonRunning) as raised:
            DaemonLock(paths.daemon_lock).acquire()
        assert raised.value.pid == os.getpid()
        assert f"already runs (pid {os.getpid()})" in raised.value.message
        assert oct(paths.daemon_lock.stat().st_mode & 0o777) == oct(0o600)
    finally:
        first.release()
    assert lock_holder(paths.daemon_lock) is None
    again = DaemonLock(paths.daemon_lock)
    again.acquire()  # free once released
    again.release()


def test_a_pid_left_by_a_dead_holder_is_not_an_answer(paths: Paths) -> None:
    paths.runtime_dir.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    paths.daemon_lock.write_text(dead.stdout)
    assert lock_holder(paths.daemon_lock) is None
    lock = DaemonLock(paths.daemon_lock)
    lock.acquire()
    try:
        assert paths.daemon_lock.read_text() == f"{os.getpid()}\n"
    finally:
        lock.release()
