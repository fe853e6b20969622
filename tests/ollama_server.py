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

import hashlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from tests.ollama_protocol import Json, ProtocolHandler, ProtocolServer, cut

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
    eval_duration_ns: int | None = None  # default: eval_count at 100 tokens/s
    # faults
    status: int | None = None  # answer with this HTTP status and {"error": error}
    error: str = ""
    error_after: int | None = None  # stream this many content chunks, then {"error": error}
    drop_after: int | None = None  # stream this many content chunks, then cut the socket
    first_token_delay: float = 0.0  # seconds before the first byte (a slow model)
    release: threading.Event | None = None  # hold the first byte until this is set
    pause_after: int | None = None  # stream this many content chunks, then wait for `resume`
    resume: threading.Event | None = None
    drip: float = 0.0  # seconds between content chunks (a model that writes very slowly)

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


class OllamaTestServer(ProtocolServer):
    """A scripted stand-in for Ollama on a random local port; see the module docstring."""

    thread_name = "ollama-test-server"

    def __init__(
        self, models: list[ModelInfo] | None = None, pullable: list[str] | None = None
    ) -> None:
        super().__init__()
        self.models: list[ModelInfo] = models if models is not None else [ModelInfo("qwen3:4b")]
        self.pullable: list[str] = list(pullable or [])
        # the next pull breaks half-way with this error (then it is cleared)
        self.pull_error: str | None = None
        self.responder: Callable[[Json], Reply] | None = None
        self._replies: deque[Reply] = deque()

    def tags(self) -> list[Json]:
        with self._lock:
            models = list(self.models)
        return [_tag(m) for m in models]

    # -- scripting and inspection ---------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def assert_complete(self) -> None:
        with self._lock:
            left = len(self._replies)
        assert left == 0, f"{left} scripted repl{'y' if left == 1 else 'ies'} never requested"

    # -- used by the handler ------------------------------------------------------------

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


class _Handler(ProtocolHandler):
    @property
    def owner(self) -> OllamaTestServer:
        return cast(OllamaTestServer, self.server.owner)

    # -- endpoints ----------------------------------------------------------------------

    def _show(self, body: Json) -> None:
        name = body.get("model") or body.get("name") or ""
        model = self.owner._find(name)
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
        owner = self.owner
        name = str(body.get("model") or "")
        if not name:
            return self._json(400, {"error": "model is required"})
        model = owner._find(name)
        if model is None:
            return self._json(404, {"error": f'model "{name}" not found, try pulling it first'})
        if body.get("tools") and "tools" not in model.capabilities:
            full = f"registry.ollama.ai/library/{canonical(model.name)}"
            return self._json(400, {"error": f"{full} does not support tools"})
        if not body.get("messages"):  # Ollama loads the model and answers at once
            done = {"done": True, "done_reason": "load"}
            reply_to = {"role": "assistant", "content": ""}
            return self._json(200, {"model": name, "message": reply_to, **done})
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
        cap = (body.get("options") or {}).get("num_predict")
        cut = isinstance(cap, int) and 0 < cap < len(chunks)  # as Ollama: a token a chunk here
        if cut:
            chunks, eval_tokens = chunks[:cap], cap
        final = {
            "done": True,
            "done_reason": "length" if cut else "stop",
            "total_duration": 1_000_000 + prompt_tokens * 1_000_000 + eval_tokens * 10_000_000,
            "load_duration": 1_000_000,
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": prompt_tokens * 1_000_000,
            "eval_count": eval_tokens,
            "eval_duration": eval_tokens * 10_000_000  # 100 tokens/s
            if reply.eval_duration_ns is None
            else reply.eval_duration_ns,
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
            if reply.drip and i:
                time.sleep(reply.drip)  # the simulated model's own pace
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
        owner = self.owner
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
            error, owner.pull_error = owner.pull_error, None
            if error is not None:
                progress = [*progress[:3], {"error": error}]  # half-way
            elif not any(canonical(m.name) == canonical(name) for m in owner.models):
                owner.models.append(ModelInfo(canonical(name)))
        if not stream:
            return self._json(200, progress[-1])
        self._start_stream()
        for line in progress:
            self._chunk(line)
        return self._end_stream()

    def _drop(self) -> None:
        """Close the socket abruptly, mid-response."""
        self.close_connection = True
        cut(self.connection)


OllamaTestServer.handler = _Handler


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
