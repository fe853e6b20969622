"""An Ollama-protocol test server: a test double for `ollama serve`, scripted per test.

It speaks real HTTP/1.1 on 127.0.0.1 (keep-alive, chunked NDJSON streaming) with the JSON
shapes of Ollama's native API, so tests drive it through the real `ollama` client:

    with OllamaTestServer() as server:
        server.script(Reply("Hello there"), Reply(tool_calls=[{"name": "t", "arguments": {}}]))
        client = ollama.Client(host=server.url)
        ...
        server.assert_complete()

Each POST /api/chat consumes the next scripted `Reply` (or asks `responder`). A `Reply`
can also script faults: an HTTP error status, an error line mid-stream, a dropped socket,
a slow first token, or a first token held back until a test sets an event.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

Json = dict[str, Any]
MODIFIED_AT = "2025-01-01T00:00:00Z"


@dataclass
class ModelInfo:
    """A model the server has "installed"."""

    name: str
    capabilities: list[str] = field(default_factory=lambda: ["completion", "tools"])
    context_length: int = 40960
    family: str = "qwen3"


@dataclass
class Reply:
    """One scripted answer to one POST /api/chat."""

    text: str = ""
    chunks: list[str] | None = None  # explicit content pieces; default: text split into words
    thinking: str = ""  # streamed word by word as message.thinking, before the content
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {"name", "arguments"}
    prompt_eval_count: int | None = None  # default: chars of the request's messages // 4
    eval_count: int | None = None  # default: number of streamed message chunks
    # faults
    status: int | None = None  # answer with this HTTP status and {"error": error}
    error: str = ""
    error_after: int | None = None  # stream this many content chunks, then {"error": error}
    drop_after: int | None = None  # stream this many content chunks, then cut the socket
    first_token_delay: float = 0.0  # seconds before the first byte (a slow model)
    release: threading.Event | None = None  # hold the first byte until this is set
    pause_after: int | None = None  # stream this many content chunks, then wait for `resume`
    resume: threading.Event | None = None

    def content_chunks(self) -> list[str]:
        return list(self.chunks) if self.chunks is not None else split_words(self.text)


def split_words(text: str) -> list[str]:
    """Word-sized pieces that join back to `text` exactly: "a b" -> ["a ", "b"]."""
    return re.findall(r"\S+\s*|\s+", text)


def canonical(name: str) -> str:
    """Ollama's name rule: a name without a tag means ":latest"."""
    return name if ":" in name else f"{name}:latest"


def digest_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class _Aborted(Exception):
    """The server is stopping while a reply waits for its first token."""


class OllamaTestServer:
    """A scripted stand-in for Ollama on a random local port; see the module docstring."""

    def __init__(
        self, models: list[ModelInfo] | None = None, pullable: list[str] | None = None
    ) -> None:
        self.models: list[ModelInfo] = models if models is not None else [ModelInfo("qwen3:4b")]
        self.pullable: list[str] = list(pullable or [])
        self.responder: Callable[[Json], Reply] | None = None
        self._replies: deque[Reply] = deque()
        self._requests: list[tuple[str, str, Json | None]] = []
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self.connections_opened = 0  # TCP connections accepted so far (keep-alive reuse shows)
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting and inspection ---------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def requests(self) -> list[tuple[str, str, Json | None]]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Json]:
        return [body or {} for method, path, body in self.requests if path == "/api/chat"]

    def assert_complete(self) -> None:
        with self._lock:
            left = len(self._replies)
        assert left == 0, f"{left} scripted repl{'y' if left == 1 else 'ies'} never requested"

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("OllamaTestServer is not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> OllamaTestServer:
        if self._httpd is not None:
            raise RuntimeError("OllamaTestServer is already started")
        self._stopping.clear()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="ollama-test-server",
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
            _cut(conn)
        self._httpd.server_close()  # joins the handler threads
        self._httpd = self._thread = None

    def __enter__(self) -> OllamaTestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- used by the handler ------------------------------------------------------------

    def _record(self, method: str, path: str, body: Json | None) -> None:
        with self._lock:
            self._requests.append((method, path, body))

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(conn)
            elif self._stopping.is_set():
                _cut(conn)
            else:
                self._connections.add(conn)
                self.connections_opened += 1

    def _find(self, name: str) -> ModelInfo | None:
        with self._lock:
            return next((m for m in self.models if canonical(m.name) == canonical(name)), None)

    def _next_reply(self, body: Json) -> Reply | None:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            responder = self.responder
        return responder(body) if responder is not None else None

    def _wait_first_token(self, reply: Reply) -> None:
        if reply.first_token_delay and self._stopping.wait(reply.first_token_delay):
            raise _Aborted
        self._wait(reply.release)

    def _wait(self, event: threading.Event | None) -> None:
        while event is not None and not event.wait(0.05):
            if self._stopping.is_set():
                raise _Aborted


def _cut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so that server_close() joins every handler thread

    def __init__(
        self, address: tuple[str, int], handler: type[_Handler], owner: OllamaTestServer
    ) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
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
            self._json(200, {"version": "0.12.0"})
        elif self.path == "/api/tags":
            with owner._lock:
                models = list(owner.models)
            self._json(200, {"models": [_tag(m) for m in models]})
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

    # -- endpoints ----------------------------------------------------------------------

    def _show(self, body: Json) -> None:
        name = body.get("model") or body.get("name") or ""
        model = self.server.owner._find(name)
        if model is None:
            return self._json(404, {"error": f"model '{name}' not found"})
        arch = model.family
        self._json(
            200,
            {
                "license": "",
                "modelfile": f"# Modelfile (Ollama test server)\nFROM {model.name}\n",
                "parameters": "temperature 0.6\ntop_k 20\ntop_p 0.95",
                "template": "{{ .Prompt }}",
                "details": _details(model),
                "model_info": {
                    "general.architecture": arch,
                    "general.parameter_count": 4_000_000_000,
                    f"{arch}.context_length": model.context_length,
                },
                "capabilities": list(model.capabilities),
                "modified_at": MODIFIED_AT,
            },
        )

    def _chat(self, body: Json) -> None:
        owner = self.server.owner
        name = str(body.get("model") or "")
        if not name:
            return self._json(400, {"error": "model is required"})
        model = owner._find(name)
        if model is None:
            return self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
        if body.get("tools") and "tools" not in model.capabilities:
            full = f"registry.ollama.ai/library/{canonical(model.name)}"
            return self._json(400, {"error": f"{full} does not support tools"})
        reply = owner._next_reply(body)
        if reply is None:
            return self._json(500, {"error": "test server: no scripted reply left"})
        try:
            owner._wait_first_token(reply)
        except _Aborted:
            self.close_connection = True
            return None
        if reply.status is not None:
            return self._json(reply.status, {"error": reply.error})

        chunks = reply.content_chunks()
        thinking = split_words(reply.thinking)
        messages = body.get("messages") or []
        prompt_tokens = reply.prompt_eval_count
        if prompt_tokens is None:
            prompt_tokens = sum(len(str(m.get("content") or "")) for m in messages) // 4
        eval_tokens = reply.eval_count
        if eval_tokens is None:
            eval_tokens = len(thinking) + len(chunks) + (1 if reply.tool_calls else 0)
        tool_calls = [{"function": call} for call in reply.tool_calls]
        final = {
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000 + prompt_tokens * 1_000_000 + eval_tokens * 10_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_tokens * 1_000_000,
            "eval_count": eval_tokens,
            "eval_duration": eval_tokens * 10_000_000,  # 100 tokens/s
        }
        faults = [n for n in (reply.error_after, reply.drop_after) if n is not None]
        fault_at = min(faults) if faults else None
        drop = reply.drop_after is not None and reply.drop_after == fault_at

        def message(**fields: Any) -> Json:
            return {"model": name, "created_at": now(), "message": {"role": "assistant", **fields}}

        if body.get("stream", True) is False:
            if fault_at is not None:
                return self._drop() if drop else self._json(500, {"error": reply.error})
            fields: Json = {"content": "".join(chunks)}
            if reply.thinking:
                fields["thinking"] = reply.thinking
            if tool_calls:
                fields["tool_calls"] = tool_calls
            return self._json(200, message(**fields) | final)

        self._start_stream()
        for piece in thinking:
            self._chunk(message(content="", thinking=piece) | {"done": False})
        for i, piece in enumerate(chunks[:fault_at]):
            if i == reply.pause_after:
                try:
                    owner._wait(reply.resume)
                except _Aborted:
                    self.close_connection = True
                    return None
            self._chunk(message(content=piece) | {"done": False})
        if drop:
            return self._drop()
        if fault_at is not None:
            self._chunk({"error": reply.error})
        else:
            if tool_calls:
                self._chunk(message(content="", tool_calls=tool_calls) | {"done": False})
            self._chunk(message(content="") | final)
        return self._end_stream()

    def _pull(self, body: Json) -> None:
        owner = self.server.owner
        name = str(body.get("model") or body.get("name") or "")
        stream = body.get("stream", True) is not False
        if canonical(name) not in {canonical(p) for p in owner.pullable}:
            error = {"error": "pull model manifest: file does not exist"}
            if not stream:
                return self._json(500, error)
            self._start_stream()
            self._chunk(error)
            return self._end_stream()

        progress: list[Json] = [{"status": "pulling manifest"}]
        for layer, total in (("model", 2_500_000_000), ("template", 1_024)):
            digest = digest_of(f"{canonical(name)}/{layer}")
            for completed in (0, total // 2, total):
                progress.append(
                    {
                        "status": f"pulling {digest[:12]}",
                        "digest": f"sha256:{digest}",
                        "total": total,
                        "completed": completed,
                    }
                )
        progress += [
            {"status": "verifying sha256 digest"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        with owner._lock:
            if not any(canonical(m.name) == canonical(name) for m in owner.models):
                owner.models.append(ModelInfo(canonical(name)))
        if not stream:
            return self._json(200, progress[-1])
        self._start_stream()
        for line in progress:
            self._chunk(line)
        return self._end_stream()

    # -- wire helpers -------------------------------------------------------------------

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

    def _drop(self) -> None:
        """Close the socket abruptly, mid-response."""
        self.close_connection = True
        _cut(self.connection)


def _details(model: ModelInfo) -> Json:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": model.family,
        "families": [model.family],
        "parameter_size": "4.0B",
        "quantization_level": "Q4_K_M",
    }


def _tag(model: ModelInfo) -> Json:
    return {
        "name": model.name,
        "model": model.name,
        "modified_at": MODIFIED_AT,
        "size": 2_500_000_000,
        "digest": digest_of(model.name),
        "details": _details(model),
    }
