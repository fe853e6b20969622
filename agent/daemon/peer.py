"""Who is on the other end of the socket: the peer's uid from the kernel (SO_PEERCRED on
the unix socket; Linux's table of TCP sockets on the 127.0.0.1 listeners, which any local
user could otherwise reach), checked on every connection before a byte of it is read.

The check sits in uvicorn's HTTP protocol (`Config(http=…)` takes a protocol class):
`connection_made` is the one place that holds the accepted socket, and it runs before any
request is parsed. uvicorn passes no socket to the ASGI app (its scope's `client` is empty
for a unix socket), so a middleware could not do it."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from typing import ClassVar, Protocol

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class Connected(Protocol):
    """A connected socket: socket.socket, or asyncio's TransportSocket that wraps one."""

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...


def tcp_peer_uid(ours: tuple[str, int], theirs: tuple[str, int]) -> int | None:
    """The uid owning the other end of a loopback TCP connection, from Linux's
    /proc/net/tcp (the row whose local address is theirs and remote address ours); None
    where that cannot be read (another platform: the cookie or token and the Host check
    remain)."""

    def hexed(address: tuple[str, int]) -> str:
        packed = socket.inet_aton(address[0])
        return f"{int.from_bytes(packed, 'little'):08X}:{address[1]:04X}"

    local, remote = hexed(theirs), hexed(ours)
    try:
        with open("/proc/net/tcp", encoding="ascii") as table:
            next(table, None)
            for line in table:
                fields = line.split()
                if len(fields) > 7 and fields[1] == local and fields[2] == remote:
                    return int(fields[7])
    except (OSError, ValueError):
        return None
    return None


def peer_credentials(sock: Connected) -> tuple[int, int, int] | None:
    """(pid, uid, gid) of the process that connected `sock`, as the kernel recorded them at
    connect(); None where the platform has no SO_PEERCRED."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    pid, uid, gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, option, _UCRED.size))
    return pid, uid, gid


class PeerCheckedProtocol(H11Protocol):
    """uvicorn's h11 protocol that drops a connection from any other uid than `owner_uid`
    (None: the uid the daemon runs as). h11 rather than httptools: one known protocol class
    to extend, and the API's requests are small."""

    owner_uid: ClassVar[int | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is None:
            return
        owner = os.getuid() if self.owner_uid is None else self.owner_uid
        if sock.family == socket.AF_UNIX:
            credentials = peer_credentials(sock)
            # macOS and others: the 0600 socket in a 0700 folder and the token remain
            uid, who = (credentials[1], f"pid {credentials[0]}") if credentials else (None, "")
        else:  # 127.0.0.1: the kernel's table of TCP sockets names the peer's owner
            uid, who = tcp_peer_uid(sock.getsockname(), sock.getpeername()), "tcp"
        if uid is not None and uid != owner:
            log.warning("refused a connection from uid %d (%s): not the daemon's user", uid, who)
            transport.close()
