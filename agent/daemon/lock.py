"""One daemon per user: an advisory lock (flock) on a file in the runtime dir, with the
holder's pid written inside.

The kernel lets go of a flock when its process dies, however it dies, so a daemon killed
with -9 leaves a file whose lock is free: the next daemon takes it over, and no pid is ever
trusted unless its lock is held. Standard library only (the client reads it too)."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
from pathlib import Path

from rung.config.errors import DaemonRunning

log = logging.getLogger(__name__)

# A daemon that has just taken the lock writes its pid a moment later; a reader (or a second
# daemon) that finds the lock held but no pid yet looks again for this long.
PID_GRACE_S = 1.0


class DaemonLock:
    """Held from `acquire()` until `release()` or the process's end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid, or raise `DaemonRunning` with the holder's."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + PID_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # held: by a daemon (its pid is written, or about to be), or for an instant
                # by a reader's shared lock (`lock_holder`); only a pid is an answer
                pid = _read_pid(fd)
                if pid is not None or time.monotonic() > deadline:
                    os.close(fd)
                    raise DaemonRunning(pid) from None
                time.sleep(0.02)
        previous = _read_pid(fd)
        if previous is not None and previous != os.getpid():
            log.info("took over the lock of pid %d, which is no longer running", previous)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the last descriptor lets go of the lock
        self._fd = None


def lock_holder(path: Path) -> int | None:
    """The pid of the daemon that holds the lock, or None when none does (a pid left in
    the file by a dead daemon is not an answer)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        deadline = time.monotonic() + PID_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = _read_pid(fd)
                if pid is not None or time.monotonic() > deadline:
                    return pid
                time.sleep(0.02)
                continue
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
    finally:
        os.close(fd)


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None
