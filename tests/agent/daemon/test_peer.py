"""The peer's uid, checked per connection by the server's HTTP protocol: a connection from
another uid is closed before a request is read. The tests run as one user, so "another
uid" is a daemon that takes its owner to be someone else (`owner_uid`)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import httpx
import pytest
import uvicorn

from rung.agent.daemon.api import DaemonInfo, create_app
from rung.agent.daemon.peer import PeerCheckedProtocol, peer_credentials
from rung.agent.daemon.server import DaemonServer
from rung.config.paths import Paths
from tests.agent.daemon.conftest import idle_host


def test_peer_credentials_are_the_connecting_process() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_credentials(left) == (os.getpid(), os.getuid(), os.getgid())


class SomeoneElses(PeerCheckedProtocol):
    owner_uid = os.getuid() + 1


async def serve_and_get(protocol: type[PeerCheckedProtocol], path: Path) -> httpx.Response:
    app = create_app(DaemonInfo("m", "v", str(path)), "t", lambda: None, idle_host())
    server = DaemonServer(uvicorn.Config(app, http=protocol, lifespan="off", log_config=None))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    listener.setblocking(False)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(10):
            while not server.started:
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(path)),
            base_url="http://rung",
            headers={"Authorization": "Bearer t"},
            timeout=5,
        ) as api:
            return await api.get("/v1/health")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        listener.close()


async def test_the_owner_is_served(paths: Paths) -> None:
    paths.runtime_dir.mkdir(parents=True)
    response = await serve_and_get(PeerCheckedProtocol, paths.runtime_dir / "s")
    assert response.status_code == 200


async def test_another_uid_is_dropped_before_any_answer(
    paths: Paths, caplog: pytest.LogCaptureFixture
) -> None:
    paths.runtime_dir.mkdir(parents=True)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await serve_and_get(SomeoneElses, paths.runtime_dir / "s")
    assert f"refused a connection from uid {os.getuid()} (pid {os.getpid()})" in caplog.text
