"""Talking to the daemon: HTTP over its unix socket (httpx's own unix-socket transport),
with its token on every request. The terminal's commands reach the daemon only through here.

Light on purpose (httpx and the standard library): `rung daemon status` starts at once."""

from __future__ import annotations

import time
from typing import Any

import httpx

from rung.agent.daemon.files import read_token
from rung.agent.daemon.lock import lock_holder
from rung.config.errors import DaemonError, DaemonNotRunning
from rung.config.paths import Paths

RESTART = "`rung daemon stop` then `rung daemon start`"


class DaemonClient:
    """One daemon's API. Each call raises `DaemonNotRunning` when nothing answers on the
    socket, `DaemonError` for any other failure, each with a one-line message."""

    def __init__(self, paths: Paths, *, timeout: float = 5.0) -> None:
        self.paths = paths
        self.timeout = timeout

    def health(self) -> dict[str, Any]:
        return self._call("GET", "/v1/health")

    def status(self) -> dict[str, Any]:
        return self._call("GET", "/v1/status")

    def shutdown(self) -> dict[str, Any]:
        return self._call("POST", "/v1/shutdown")

    def running_pid(self) -> int | None:
        """The pid of the daemon that holds the lock (it may not answer yet, or any more)."""
        return lock_holder(self.paths.daemon_lock)

    def wait_gone(self, timeout: float) -> bool:
        """Wait until no daemon holds the lock (its process has ended); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.running_pid() is not None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def _call(self, method: str, path: str) -> dict[str, Any]:
        socket = self.paths.daemon_socket
        # No daemon holds the lock: whatever socket is left is dead, and is not tried (a
        # refused connect would also leave httpcore's socket unclosed until collected).
        if self.running_pid() is None or not socket.exists():
            raise DaemonNotRunning("the daemon is not running", hint="`rung daemon start`")
        token = read_token(self.paths.daemon_token)
        transport = httpx.HTTPTransport(uds=str(socket))
        try:
            with httpx.Client(
                transport=transport,
                base_url="http://rung",
                headers={"Authorization": f"Bearer {token}"},
                timeout=self.timeout,
            ) as client:
                response = client.request(method, path)
        except httpx.ConnectError:
            raise DaemonNotRunning(
                "the daemon is not running (nothing answers on its socket)",
                hint="`rung daemon start`",
            ) from None
        except httpx.TimeoutException:
            raise DaemonError(
                f"the daemon did not answer within {self.timeout:g} s",
                hint=f"`rung daemon logs` shows what it did; {RESTART}",
            ) from None
        except httpx.HTTPError as exc:
            raise DaemonError(f"the daemon's API failed: {exc}", hint=RESTART) from None
        if response.status_code == 401:
            raise DaemonError("the daemon refused our token", hint=RESTART)
        if response.status_code != 200:
            raise DaemonError(
                f"the daemon answered {path} with HTTP {response.status_code}",
                hint="`rung daemon logs` shows why",
            )
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise DaemonError(f"the daemon's answer to {path} is not a JSON object", hint=RESTART)
        return data
