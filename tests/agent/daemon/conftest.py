"""Fixtures for the daemon's tests: a short runtime dir (a unix socket's path holds about
100 bytes; pytest's tmp_path can be longer), real daemon processes stopped by pid in the
teardown even when a test fails, and a way to wait on a condition without a fixed sleep."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from rung.agent.daemon.client import DaemonClient
from rung.agent.daemon.host import Host
from rung.agent.daemon.lock import lock_holder
from rung.config.errors import DaemonError
from rung.config.paths import Paths
from rung.config.settings import Settings
from tests.conftest import Processes, Rung

T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll `condition` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def answering(paths: Paths) -> int | None:
    """The pid the daemon's /v1/health gives, or None while nothing answers."""
    # httpcore leaves the socket of a refused connect to the garbage collector (a
    # ResourceWarning, an error here): poll with a socket of our own until one is accepted
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(paths.daemon_socket))
        except OSError:
            return None
    try:
        pid = DaemonClient(paths, timeout=2).health()["pid"]
    except DaemonError:
        return None
    assert isinstance(pid, int)
    return pid


@pytest.fixture
def paths(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Paths]:
    """The isolated home's paths, with a runtime dir short enough for a socket."""
    runtime = tempfile.mkdtemp(prefix="rung-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    try:
        yield Paths.default()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


@pytest.fixture
def lock_holders(paths: Paths) -> Iterator[None]:
    """Kills (by pid) whichever daemon holds the lock when the test ends: one started
    detached by `rung daemon start` is no child of ours."""
    try:
        yield
    finally:
        pid = lock_holder(paths.daemon_lock)
        if pid is not None and pid != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def idle_host() -> Host:
    """A host for an app whose turns a test does not run (nothing starts until a turn)."""
    return Host(Settings(), Paths.default())


@pytest.fixture
def through_daemon(
    request: pytest.FixtureRequest, rung: Rung, processes: Processes, paths: Paths
) -> Rung:
    """`rung` as the user types it while `rung daemon run` runs (killed by pid after)."""
    env = {**rung.env, "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"]}
    start_daemon(processes, paths, env, warm=True)
    return Rung(env)


def start_daemon(
    processes: Processes, paths: Paths, env: dict[str, str] | None = None, *, warm: bool = False
) -> Any:
    """`rung daemon run` in the foreground (stopped by pid in `processes`' teardown), once
    its API answers. `warm`: forked from the worker's warm parent (`tests/forked.py`), for
    the tests of what the daemon does rather than of how its process starts and stops."""
    environ = dict(os.environ) if env is None else env
    proc = processes.start(["daemon", "run"], environ, warm=warm)

    def up() -> bool:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise AssertionError(f"the daemon exited: {proc.stderr.read().decode()}")
        return answering(paths) == proc.pid

    wait_for(up, "the daemon to answer", timeout=30)
    return proc


class Receiver:
    """A test double for a webhook receiver or an ntfy server: records each POST, and
    answers `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append((self.path, dict(self.headers), body))
                self.send_response(owner.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
