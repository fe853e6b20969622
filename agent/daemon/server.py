"""`rung daemon run`: the daemon process itself, in the foreground.

In order: the private runtime folder, the lock (one daemon per user), a fresh token, the
socket (0600) bound by us, then uvicorn serving the API on it until SIGTERM, SIGINT or
POST /v1/shutdown; then the socket and the token are removed and the lock let go."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import uvicorn

from rung.agent.daemon.api import DaemonInfo, create_app
from rung.agent.daemon.files import check_socket_path, private_dir, write_token
from rung.agent.daemon.host import Host
from rung.agent.daemon.lock import DaemonLock
from rung.agent.daemon.notify import sd_notify, watchdog_interval
from rung.agent.daemon.peer import PeerCheckedProtocol
from rung.agent.daemon.web import LOOPBACK, bind
from rung.config.errors import DaemonError
from rung.config.paths import Paths
from rung.config.settings import Settings

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACEFUL_S = 5  # in-flight requests get this long after a stop is asked for; then the
# turns still running are cancelled and the tool servers stopped, within 10 s in all


class DaemonServer(uvicorn.Server):
    """uvicorn's server, plus: sd_notify READY=1 once it listens and STOPPING=1 when it
    stops; and its signal handlers are ours for the daemon's whole life (`run_daemon`
    installs them before the server starts), not only while it serves, so a SIGTERM that
    comes early is not lost and one that comes late does not kill the clean-up."""

    watchdog: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            sd_notify("READY=1")
            log.info("the daemon is ready (pid %d)", os.getpid())
            interval = watchdog_interval()
            if interval is not None:
                self.watchdog = asyncio.create_task(_keep_alive(interval))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        sd_notify("STOPPING=1")
        log.info("stopping")
        if self.watchdog is not None:
            self.watchdog.cancel()
        await super().shutdown(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # see the class's docstring

    def stop(self) -> None:
        self.should_exit = True

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        log.info("%s received", signal.Signals(signum).name)
        self.should_exit = True


async def _keep_alive(interval: float) -> None:
    """WATCHDOG=1 every `interval` seconds from the event loop that serves the API: when
    that loop hangs, the pings stop and systemd restarts the daemon."""
    while True:
        sd_notify("WATCHDOG=1")
        await asyncio.sleep(interval)


def run_daemon(settings: Settings, paths: Paths, *, version: str) -> int:
    """Serve until asked to stop; 0 after a clean stop. Raises `DaemonRunning` when another
    daemon holds the lock, `DaemonError` when the runtime folder or socket cannot be had."""
    private_dir(paths.runtime_dir)
    socket_path = paths.daemon_socket
    check_socket_path(socket_path)
    lock = DaemonLock(paths.daemon_lock)
    lock.acquire()
    try:
        # what a daemon killed with -9 left: nothing answers there now
        with contextlib.suppress(FileNotFoundError):
            socket_path.unlink()
        return _serve(settings, paths, socket_path, version)
    finally:
        lock.release()


def _serve(settings: Settings, paths: Paths, socket_path: Path, version: str) -> int:
    tcp = f"{LOOPBACK}:{settings.daemon_port}" if settings.daemon_port else None
    info = DaemonInfo(model=settings.model, version=version, socket=str(socket_path), tcp=tcp)
    token = write_token(paths.daemon_token)
    server: DaemonServer | None = None

    def stop() -> None:
        if server is not None:
            server.stop()

    app = create_app(info, token, stop, Host(settings, paths))
    config = uvicorn.Config(
        app,
        http=PeerCheckedProtocol,
        lifespan="on",  # the host: started before the first request, closed after the last
        log_config=None,  # the daemon's logging is configured by its front end
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    server = DaemonServer(config)
    previous = {sig: signal.signal(sig, server.on_signal) for sig in STOP_SIGNALS}
    listeners: list[socket.socket] = []
    try:
        listeners.append(_bind(socket_path))
        log.info("serving the API on %s (pid %d)", socket_path, os.getpid())
        if settings.daemon_port:
            hint = "set daemon_port to a free port, or to 0 for none"
            listeners.append(bind(settings.daemon_port, hint))
            log.info("and on http://%s:%d (daemon_port)", LOOPBACK, settings.daemon_port)
        asyncio.run(server.serve(sockets=listeners))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for listener in listeners:
            listener.close()
        for path in (socket_path, paths.daemon_token):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        log.info("stopped")
    return 0


def _bind(path: Path) -> socket.socket:
    """A listening unix socket at `path`: bound under a temporary name, made 0600, listening,
    then renamed into place, so the path never shows a socket that is not ready or not
    private. (A socket left there by a daemon that died is replaced: we hold the lock, so no
    live daemon owns it.)"""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(os.fspath(temporary))
        os.chmod(temporary, 0o600)
        sock.listen(128)
        os.replace(temporary, path)
    except OSError as exc:
        sock.close()
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise DaemonError(
            f"cannot listen on {path}: {exc.strerror or exc}",
            hint="check that folder and its permissions",
        ) from None
    sock.setblocking(False)
    return sock
