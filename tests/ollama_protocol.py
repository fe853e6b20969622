"""What both Ollama-protocol test servers share: the HTTP plumbing, not the answers.

A threaded HTTP/1.1 server on 127.0.0.1 (keep-alive, Nagle's algorithm off so a round trip
costs no 40 ms wait, NDJSON streamed in chunks), every request recorded, and a stop that
cuts the open connections and joins every thread. `tests.ollama_server` (scripted replies)
and `tests.real.llama_ollama` (llama.cpp) each add their endpoints: `ProtocolServer.tags()`
and `version`, and the handler's `_chat`, `_show` and `_pull`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Self

Json = dict[str, Any]


def cut(conn: socket.socket) -> None:
    """End a connection at once (the client sees it drop)."""
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class ProtocolServer:
    """The lifecycle and the record of requests; see the module docstring."""

    handler: ClassVar[type[ProtocolHandler]]
    version: ClassVar[str] = "0.12.0"
    thread_name: ClassVar[str] = "ollama-protocol-server"
    poll_interval: ClassVar[float] = 0.02
    quiet_errors: ClassVar[tuple[type[BaseException], ...]] = (ConnectionError,)

    def __init__(self, port: int = 0) -> None:
        self.port = port  # 0: a free one
        self.connections_opened = 0  # TCP connections accepted so far (keep-alive reuse shows)
        self._requests: list[tuple[str, str, Json | None]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def tags(self) -> list[Json]:
        """The models of GET /api/tags."""
        raise NotImplementedError

    @property
    def requests(self) -> list[tuple[str, str, Json | None]]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Json]:
        return [body or {} for method, path, body in self.requests if path == "/api/chat"]

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> Self:
        if self._httpd is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", self.port), self.handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=self.thread_name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections, and join every thread."""
        if self._httpd is None or self._thread is None:
            return
        self._httpd.shutdown()
        self._thread.join()
        with self._lock:
            self._stopping.set()
            open_connections = list(self._connections)
        for conn in open_connections:
            cut(conn)
        self._httpd.server_close()  # joins the handler threads
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, method: str, path: str, body: Json | None) -> None:
        with self._lock:
            self._requests.append((method, path, body))

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(conn)
            elif self._stopping.is_set():
                cut(conn)
            else:
                self._connections.add(conn)
                self.connections_opened += 1


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins every handler thread

    def __init__(
        self, address: tuple[str, int], handler: type[ProtocolHandler], owner: ProtocolServer
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], self.owner.quiet_errors):  # e.g. a client gone
            super().handle_error(request, client_address)


class ProtocolHandler(BaseHTTPRequestHandler):
    """Routing and the wire; the endpoints (`_chat`, `_show`, `_pull`) are the server's."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.owner._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- routing --------------------------------------------------------------------------

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record("GET", self.path, None)
        if self.path == "/":
            self._send(200, b"Ollama is running", "text/plain; charset=utf-8")
        elif self.path == "/api/version":
            self._json(200, {"version": owner.version})
        elif self.path == "/api/tags":
            self._json(200, {"models": owner.tags()})
        else:
            self._send(404, b"404 page not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            body = None
        self.server.owner._record("POST", self.path, body)
        if not isinstance(body, dict):
            self._json(400, {"error": "invalid JSON body"})
        elif self.path == "/api/chat":
            self._chat(body)
        elif self.path == "/api/show":
            self._show(body)
        elif self.path == "/api/pull":
            self._pull(body)
        else:
            self._send(404, b"404 page not found", "text/plain")

    def _chat(self, body: Json) -> None:
        raise NotImplementedError

    def _show(self, body: Json) -> None:
        raise NotImplementedError

    def _pull(self, body: Json) -> None:
        raise NotImplementedError

    # -- the wire -------------------------------------------------------------------------

    def _send(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, obj: Json) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json; charset=utf-8")

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, obj: Json) -> None:
        data = json.dumps(obj).encode() + b"\n"
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
