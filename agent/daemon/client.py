"""Talking to the daemon: HTTP over its unix socket (httpx's own unix-socket transport),
with its token on every request. The terminal's commands reach the daemon only through here.

Light on purpose: `rung daemon status` starts at once, and httpx is imported where it is
used, so `rung chat` and `rung ask` start without it when no daemon runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from rung.agent.daemon.files import read_token
from rung.agent.daemon.lock import lock_holder
from rung.agent.daemon.wire import ApprovalAsked, TurnFailed, decode
from rung.agent.messages import TurnEvent
from rung.config.errors import DaemonError, DaemonNotRunning
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.approvals import Answer, Approver, someone_to_ask

if TYPE_CHECKING:
    import httpx

    from rung.tools.views import ServerListing

RESTART = "`rung daemon stop` then `rung daemon start`"
# Plain HTTP over a unix socket: no TLS, so no certificates to load (httpx's default SSL
# context would cost each client about 20 ms).
NO_TLS = False
STARTING_S = 120.0  # the tool servers may have to start first


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

    def beat(self) -> dict[str, Any]:
        """A heartbeat now; what it did."""
        return self._call("POST", "/v1/heartbeat", wait=True)

    def web(self) -> dict[str, Any]:
        """The web page served (started if need be): its `url` and a one-time `login`."""
        return self._call("POST", "/v1/web")

    def wake_jobs(self) -> None:
        """The job ledger changed: the scheduler looks at it now."""
        self._call("POST", "/v1/jobs/wake")

    async def turn(
        self,
        question: str,
        settings: Settings,
        *,
        save: bool,
        approver: Approver,
    ) -> AsyncIterator[TurnEvent]:
        """Run one turn in the daemon: its events as they come, decoded into the engine's own
        (`TurnBegun`, `TextDelta`, …, `FinalAnswer`). The daemon's questions for approval
        are put to `approver` and answered. Raises `RemoteError` for the error the turn
        ended with, `DaemonError` when the daemon cannot be reached or goes away."""
        body = {
            "question": question,
            "settings": settings.model_dump(mode="json"),
            "save": save,
            "interactive": someone_to_ask(approver),
        }
        async with self.async_client(read_timeout=None) as client:
            async for event in self.stream(client, "/v1/turns", body, approver):
                yield event

    async def stream(
        self, client: httpx.AsyncClient, path: str, body: dict[str, Any], approver: Approver
    ) -> AsyncIterator[TurnEvent]:
        """POST `body` to a route that answers with a turn's events (NDJSON): the events,
        the approvals among them put to `approver` and answered."""
        import httpx

        try:
            async with client.stream("POST", path, json=body) as response:
                if response.status_code != 200:
                    await response.aread()
                    self.check(response, path)
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    event = self._event(line)
                    if isinstance(event, ApprovalAsked):
                        answer = await approver(event.request)
                        await self._answer(client, event.id, answer)
                    elif isinstance(event, TurnFailed):
                        raise event.error()
                    else:
                        yield event
        except httpx.TransportError as exc:
            raise self.transport_error(exc, during="the turn") from None

    @staticmethod
    def _event(line: str) -> TurnEvent | ApprovalAsked | TurnFailed:
        try:
            return decode(line)
        except ValueError as exc:
            raise DaemonError(
                f"the daemon sent something that is not an event of a turn ({exc})",
                hint=f"is it an older or newer Rung? {RESTART}",
            ) from None

    @staticmethod
    async def _answer(client: httpx.AsyncClient, key: str, answer: Answer) -> None:
        response = await client.post(f"/v1/approvals/{key}", json={"answer": answer})
        if response.status_code == 404:  # it timed out meanwhile: the turn says what happened
            return
        DaemonClient.check(response, "/v1/approvals")

    async def tools_listing(self) -> list[ServerListing]:
        """Every configured server as the daemon has it: its state and tools."""
        import httpx

        from rung.tools.views import server_listing

        async with self.async_client(read_timeout=STARTING_S) as client:
            try:
                response = await client.get("/v1/tools")
            except httpx.TransportError as exc:
                raise self.transport_error(exc, during="`rung tools list`") from None
        return [server_listing(s) for s in self.check(response, "/v1/tools")["servers"]]

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

    def _call(self, method: str, path: str, *, wait: bool = False) -> dict[str, Any]:
        """`wait`: for as long as the answer takes (a model's turn), not `timeout`."""
        import httpx

        try:
            with self.sync_client(read_timeout=None if wait else self.timeout) as client:
                response = client.request(method, path)
        except httpx.TransportError as exc:
            raise self.transport_error(exc) from None
        return self.check(response, path)

    def sync_client(self, *, read_timeout: float | None) -> httpx.Client:
        import httpx

        socket = str(self.paths.daemon_socket)
        return httpx.Client(
            transport=httpx.HTTPTransport(uds=socket, verify=NO_TLS),
            **self._options(read_timeout),
        )

    def async_client(self, *, read_timeout: float | None) -> httpx.AsyncClient:
        import httpx

        socket = str(self.paths.daemon_socket)
        return httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=socket, verify=NO_TLS),
            **self._options(read_timeout),
        )

    def _options(self, read_timeout: float | None) -> dict[str, Any]:
        """A client's base URL, token and timeouts (`read_timeout` None: wait for ever)."""
        import httpx

        token = self._ready()
        return {
            "base_url": "http://rung",
            "headers": {"Authorization": f"Bearer {token}"},
            "timeout": httpx.Timeout(self.timeout, read=read_timeout),
        }

    def _ready(self) -> str:
        """The token, once there is a daemon to send it to."""
        # No daemon holds the lock: whatever socket is left is dead, and is not tried (a
        # refused connect would also leave httpcore's socket unclosed until collected).
        if self.running_pid() is None or not self.paths.daemon_socket.exists():
            raise DaemonNotRunning("the daemon is not running", hint="`rung daemon start`")
        return read_token(self.paths.daemon_token)

    def transport_error(self, exc: httpx.TransportError, *, during: str = "") -> DaemonError:
        import httpx

        if during and not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return DaemonError(
                f"the daemon went away during {during} ({type(exc).__name__})",
                hint="`rung daemon logs` shows why; `rung daemon start` starts it again",
            )
        if isinstance(exc, httpx.ConnectError):
            return DaemonNotRunning(
                "the daemon is not running (nothing answers on its socket)",
                hint="`rung daemon start`",
            )
        if isinstance(exc, httpx.TimeoutException):
            return DaemonError(
                f"the daemon did not answer within {self.timeout:g} s",
                hint=f"`rung daemon logs` shows what it did; {RESTART}",
            )
        return DaemonError(f"the daemon's API failed: {exc}", hint=RESTART)

    @staticmethod
    def check(response: httpx.Response, path: str) -> dict[str, Any]:
        """The JSON object of a 200 answer; DaemonError with the daemon's reason otherwise."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 401:
            raise DaemonError("the daemon refused our token", hint=RESTART)
        if isinstance(data, dict) and "exit_code" in data and response.status_code != 200:
            # what the request met, as it would have been raised in this process
            failed = TurnFailed(
                str(data.get("error", "")),
                str(data.get("hint", "")),
                int(data["exit_code"]),
                str(data.get("model", "")),
            )
            raise failed.error()
        if response.status_code != 200:
            said = data.get("error") if isinstance(data, dict) else None
            raise DaemonError(
                f"the daemon answered {path} with HTTP {response.status_code}"
                + (f": {said}" if said else ""),
                hint="`rung daemon logs` shows why",
            )
        if not isinstance(data, dict):
            raise DaemonError(f"the daemon's answer to {path} is not a JSON object", hint=RESTART)
        return data


def running_daemon(paths: Paths | None = None) -> DaemonClient | None:
    """The client of this user's daemon when one runs (it holds the lock), else None."""
    client = DaemonClient(paths or Paths.default())
    return client if client.running_pid() is not None else None
