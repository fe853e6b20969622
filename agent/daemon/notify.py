"""sd_notify for systemd's `Type=notify`: one datagram to $NOTIFY_SOCKET, written directly
(the protocol is one line of `KEY=VALUE`s; no library needed)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def sd_notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (READY=1, STOPPING=1, …) to the service manager, if one listens.

    True when it was sent; False when no $NOTIFY_SOCKET is set, or it could not be reached
    (logged: a daemon must not fail because its supervisor went away)."""
    address = (os.environ if environ is None else environ).get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):  # Linux's abstract namespace
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET %r is not a unix socket path; not notifying", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError as exc:
        log.warning("cannot notify the service manager (%s): %s", state, exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """How often to send WATCHDOG=1: half of systemd's WatchdogSec ($WATCHDOG_USEC), for
    this process ($WATCHDOG_PID, when set, must be ours); None when no watchdog is asked
    for."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2 / 1_000_000
