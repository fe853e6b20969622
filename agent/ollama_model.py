"""`OllamaChatModel`: the one module that talks to Ollama (through the official client).

It always sends ``options.num_ctx`` (Ollama's default window silently truncates agent
prompts), sets explicit timeouts (the client has none by default), reads capabilities from
``/api/show``, and maps every failure to Rung's error hierarchy with a fix in the hint.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from rung.agent.context import reply_reserve
from rung.agent.messages import (
    TOOL_ERROR,
    Message,
    ModelDone,
    ModelEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from rung.config.errors import (
    ModelError,
    ModelNotFound,
    ModelResponseError,
    ModelTimeout,
    ModelUnavailable,
    ToolsUnsupported,
)

if TYPE_CHECKING:
    import ollama

    from rung.config.settings import Settings

_THINK = {"auto": None, "on": True, "off": False}
_call_ids = itertools.count(1)


@dataclass(frozen=True)
class PullProgress:
    status: str
    completed: int | None = None
    total: int | None = None


@dataclass(frozen=True)
class ModelDetails:
    capabilities: tuple[str, ...] | None  # None: the server did not say (older Ollama)
    context_length: int | None

    def supports(self, capability: str) -> bool:
        return self.capabilities is None or capability in self.capabilities


@dataclass(frozen=True)
class PulledModel:
    """A model the server has pulled, as /api/tags lists it."""

    name: str
    size: int  # bytes on disk
    parameter_size: str  # e.g. "4.0B"; "" when not reported
    quantization: str  # e.g. "Q4_K_M"; "" when not reported


def capped_notice(model: OllamaChatModel) -> str:
    return (
        f"num_ctx {model.capped_from} is more than {model.name}'s context length "
        f"({model.num_ctx}); using {model.num_ctx}."
    )


class OllamaChatModel:
    def __init__(
        self,
        model: str,
        *,
        host: str,
        num_ctx: int = 16384,
        keep_alive: str = "5m",
        think: str = "auto",
        temperature: float | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 300.0,
        max_reply_tokens: int | None = None,
    ) -> None:
        self.model = model
        self.host = host
        self.num_ctx = num_ctx
        self.keep_alive = keep_alive
        self.think = _THINK[think]
        self.temperature = temperature
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_reply_tokens = max_reply_tokens  # None: the room kept for the reply
        self._client: ollama.AsyncClient | None = None
        self._details: ModelDetails | None = None
        self.capped_from: int | None = None  # the num_ctx asked for, when it was too large

    @classmethod
    def from_settings(cls, settings: Settings, model: str | None = None) -> OllamaChatModel:
        return cls(
            model or settings.model,
            host=settings.ollama_host,
            num_ctx=settings.num_ctx,
            keep_alive=settings.keep_alive,
            think=settings.think,
            temperature=settings.temperature,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            max_reply_tokens=settings.max_reply_tokens,
        )

    @property
    def name(self) -> str:
        return self.model

    @property
    def num_predict(self) -> int:
        """The most tokens one step may write: a model that never stops is cut here."""
        return self.max_reply_tokens or reply_reserve(self.num_ctx)

    @property
    def client(self) -> ollama.AsyncClient:
        if self._client is None:
            import httpx
            import ollama

            timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
            self._client = ollama.AsyncClient(host=self.host, timeout=timeout)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client._client.aclose()
            self._client = None

    async def details(self) -> ModelDetails:
        """Capabilities and context length of this model from /api/show (cached)."""
        if self._details is None:
            self._details = await self.show(self.model)
        return self._details

    async def load(self) -> None:
        """Load the model into the server's memory at `num_ctx` (an empty chat, as Ollama
        documents it), so that the next request does not pay for the loading."""
        async with self._errors():
            await self.client.chat(
                self.model,
                messages=[],
                options={"num_ctx": self.num_ctx},
                keep_alive=self.keep_alive,
            )

    async def show(self, name: str) -> ModelDetails:
        """Capabilities and context length of any pulled model, from /api/show."""
        async with self._errors(name):
            shown = await self.client.show(name)
        info = dict(shown.modelinfo or {})
        length = next((v for k, v in info.items() if k.endswith(".context_length")), None)
        caps = tuple(shown.capabilities) if shown.capabilities is not None else None
        return ModelDetails(caps, int(length) if length else None)

    async def check(self, *, tools: bool) -> ModelDetails:
        """Fail early with the fix when the model is missing or cannot call tools; keep
        num_ctx within the model's context length (`capped_from` says what was asked)."""
        details = await self.details()
        length = details.context_length
        if length is not None and self.num_ctx > length:
            self.capped_from, self.num_ctx = self.num_ctx, length
        if tools and not details.supports("tools"):
            raise ToolsUnsupported(
                f"the model {self.model!r} does not support tool calls",
                hint="pick a tools-capable model (e.g. --model qwen3:4b) "
                "or use the chatbot tier (--tier chatbot)",
            )
        return details

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None
    ) -> AsyncIterator[ModelEvent]:
        options: dict[str, Any] = {"num_ctx": self.num_ctx, "num_predict": self.num_predict}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        started = time.perf_counter()
        first: float | None = None
        last, outputs = 0.0, 0
        text: list[str] = []
        thinking: list[str] = []
        calls: list[ToolCall] = []
        usage: Usage | None = None
        cut = False
        async with self._errors():
            chunks = await self.client.chat(
                self.model,
                messages=[to_ollama(m) for m in messages],
                tools=[t.to_ollama() for t in tools] if tools else None,
                stream=True,
                think=self.think,
                options=options,
                keep_alive=self.keep_alive,
            )
            try:
                async for chunk in _tool_call_errors_told(chunks, calls):
                    part = chunk.message
                    if part.content or part.thinking or part.tool_calls:
                        last = time.perf_counter() - started
                        first = last if first is None else first
                        outputs += 1
                    if part.thinking:
                        thinking.append(part.thinking)
                        yield ThinkingDelta(part.thinking)
                    if part.content:
                        text.append(part.content)
                        yield TextDelta(part.content)
                    for call in part.tool_calls or ():
                        name, args = call.function.name, dict(call.function.arguments)
                        calls.append(ToolCall(f"call_{next(_call_ids)}", name, args))
                    if chunk.done:
                        cut = chunk.done_reason == "length"
                        usage = Usage(
                            prompt_tokens=chunk.prompt_eval_count or 0,
                            completion_tokens=chunk.eval_count or 0,
                            time_to_first_token_s=first,
                            generation_s=(chunk.eval_duration or 0) / 1e9,
                            total_s=time.perf_counter() - started,
                            output_chunks=outputs,
                            output_s=last - first if first is not None else 0.0,
                        )
                # The stream was read to its end, so the keep-alive connection is reused.
            finally:
                await cast("AsyncGenerator[Any, None]", chunks).aclose()
        if usage is None and calls and calls[-1].error:
            # The stream stopped at a malformed tool call; the model is told and goes on.
            usage = Usage(time_to_first_token_s=first, total_s=time.perf_counter() - started)
        if usage is not None:
            message = Message(
                "assistant", "".join(text), tool_calls=calls, thinking="".join(thinking)
            )
            yield ModelDone(message, usage, cut)
            return
        raise ModelResponseError(
            f"the reply from Ollama at {self.host} ended before it was complete",
            hint="try again; if it keeps happening, check the Ollama server's log",
        )

    async def structured(
        self, messages: Sequence[Message], schema: dict[str, Any]
    ) -> tuple[dict[str, Any], Usage]:
        """One reply constrained to the JSON `schema` (Ollama's `format`), read as a dict,
        and what it cost. `ModelResponseError` when it is not a JSON object."""
        import json

        options: dict[str, Any] = {"num_ctx": self.num_ctx, "num_predict": self.num_predict}
        if self.temperature is not None:
            options["temperature"] = self.temperature
        started = time.perf_counter()
        async with self._errors():
            reply = await self.client.chat(
                self.model,
                messages=[to_ollama(m) for m in messages],
                stream=False,
                format=schema,
                think=self.think,
                options=options,
                keep_alive=self.keep_alive,
            )
        usage = Usage(
            prompt_tokens=reply.prompt_eval_count or 0,
            completion_tokens=reply.eval_count or 0,
            generation_s=(reply.eval_duration or 0) / 1e9,
            total_s=time.perf_counter() - started,
        )
        try:
            value = json.loads(reply.message.content or "")
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ModelResponseError(
                f"the model {self.model!r} did not answer with the JSON it was asked for",
                hint="a larger model follows a format more reliably",
            )
        return value, usage

    async def installed(self) -> list[str]:
        """Names of the models the server has pulled (/api/tags)."""
        return [m.name for m in await self.pulled()]

    async def pulled(self) -> list[PulledModel]:
        """The models the server has pulled (/api/tags), by name."""
        async with self._errors():
            listed = await self.client.list()
        found = [
            PulledModel(
                m.model,
                m.size or 0,
                (m.details.parameter_size or "") if m.details else "",
                (m.details.quantization_level or "") if m.details else "",
            )
            for m in listed.models
            if m.model
        ]
        return sorted(found, key=lambda m: m.name)

    async def pull(self) -> AsyncIterator[PullProgress]:
        """Download the model (/api/pull), reporting progress."""
        async with self._errors():
            async for part in await self.client.pull(self.model, stream=True):
                yield PullProgress(part.status or "", part.completed, part.total)
        self._details = None

    def _errors(self, name: str | None = None) -> _OllamaErrors:
        return _OllamaErrors(self, name or self.model)


class _OllamaErrors:
    """Turns the client's and httpx's exceptions into Rung's, each with the fix."""

    def __init__(self, model: OllamaChatModel, name: str) -> None:
        self.model = model
        self.name = name  # the model the request was about

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if exc is None or isinstance(exc, ModelError) or not isinstance(exc, Exception):
            return False
        raise self.translate(exc) from exc

    def translate(self, exc: Exception) -> ModelError:
        import httpx
        import ollama
        import pydantic

        name, host = self.name, self.model.host
        if isinstance(exc, ollama.ResponseError):
            text = exc.error
            if exc.status_code == 404 or "not found" in text:
                return ModelNotFound(
                    f"the model {name!r} is not available on the Ollama server at {host}",
                    model=name,
                    hint=f"download it with `ollama pull {name}`, or pick another with --model",
                )
            if "pull model manifest" in text and "file does not exist" in text:
                return ModelNotFound(  # /api/pull of a name the library lacks
                    f"Ollama found no model named {name!r} to download",
                    model=name,
                    hint="check the name and its tag (e.g. qwen3:4b, llama3.2:3b)",
                )
            if "pull model manifest" in text or "max retries exceeded" in text:
                return ModelResponseError(  # the registry could not be reached
                    f"Ollama could not download {name!r}: {text}",
                    hint="check the network (and a proxy, if Ollama needs one), then try again",
                )
            if "does not support tools" in text:
                return ToolsUnsupported(
                    f"the model {name!r} does not support tool calls",
                    hint="pick a tools-capable model (e.g. --model qwen3:4b) "
                    "or use the chatbot tier (--tier chatbot)",
                )
            if "does not support thinking" in text:
                return ModelResponseError(
                    f"the model {name!r} does not support thinking",
                    hint='set think = "auto" or "off" (RUNG_THINK=off)',
                )
            status = f" (HTTP {exc.status_code})" if exc.status_code > 0 else ""
            return ModelResponseError(
                f"the Ollama server at {host} answered with an error{status}: {text}",
                hint="check the Ollama server's log; try again",
            )
        if isinstance(exc, ConnectionError | httpx.ConnectError):
            return ModelUnavailable(
                f"cannot reach the Ollama server at {host}",
                hint="start it with `ollama serve`, or point ollama_host (or OLLAMA_HOST) "
                "at where it runs",
            )
        if isinstance(exc, httpx.ConnectTimeout):
            return ModelUnavailable(
                f"the Ollama server at {host} did not accept a connection within "
                f"{self.model.connect_timeout:g} s",
                hint="check the host and port (ollama_host / OLLAMA_HOST) and that it runs",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ModelTimeout(
                f"the Ollama server at {host} sent nothing for {self.model.read_timeout:g} s",
                hint="the model may be loading or too slow; raise read_timeout or try again",
            )
        if isinstance(exc, httpx.TransportError):
            return ModelResponseError(
                f"the connection to the Ollama server at {host} broke off mid-reply ({exc!r})",
                hint="try again; if it keeps happening, check the Ollama server's log",
            )
        if isinstance(exc, pydantic.ValidationError | ValueError):
            return ModelResponseError(
                f"the server at {host} sent a reply that is not in Ollama's format: "
                f"{str(exc).splitlines()[0]}",
                hint="check that ollama_host points at an Ollama server",
            )
        return ModelResponseError(
            f"talking to the Ollama server at {host} failed: {exc!r}",
            hint="run again with --debug for details",
        )


async def _tool_call_errors_told(chunks: Any, calls: list[ToolCall]) -> AsyncIterator[Any]:
    """Pass the stream through; a tool call whose arguments are not a JSON object ends it.

    The client refuses such a chunk as a whole, so what is left is an error call the loop
    hands back to the model ("your arguments were not valid"), not a failed turn.
    """
    import pydantic

    try:
        async for chunk in chunks:
            yield chunk
    except pydantic.ValidationError as exc:
        bad = [e for e in exc.errors() if "tool_calls" in e["loc"] and "arguments" in e["loc"]]
        if not bad:
            raise
        raw = str(bad[0].get("input", ""))[:200]
        calls.append(
            ToolCall(
                f"call_{next(_call_ids)}",
                "(unparsed)",
                {},
                error=f"{TOOL_ERROR}the arguments of your tool call were not valid JSON ({raw}); "
                "call the tool again with its arguments as one JSON object",
            )
        )


def to_ollama(message: Message) -> dict[str, Any]:
    """Our message as Ollama's chat message. Thinking is never sent back."""
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [
            {"function": {"name": c.name, "arguments": c.arguments}} for c in message.tool_calls
        ]
    if message.tool_name:
        data["tool_name"] = message.tool_name
    return data
