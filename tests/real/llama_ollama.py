"""An Ollama stand-in backed by llama.cpp: real models behind Ollama's native API.

`LlamaOllamaServer` serves GGUF files (see `tests.real.models`) over real HTTP/1.1 on
127.0.0.1 — keep-alive, chunked NDJSON streaming — with the JSON shapes the official
`ollama` client reads, so Rung talks to it exactly as it talks to `ollama serve`:

    with LlamaOllamaServer({"qwen2.5-coder:0.5b": path}) as server:
        client = ollama.Client(host=server.url)
        client.chat("qwen2.5-coder:0.5b", messages=[...], tools=[...])
        server.generations[-1].cached_tokens  # prompt tokens the KV cache already held

It is a test and benchmark tool, not a product: llama-cpp-python and jinja2 are needed
only here. It does what Ollama does with these models, and nothing more:

- The prompt is the model's own chat template (the GGUF's `tokenizer.chat_template`),
  rendered with the messages and the tools in OpenAI function format, then tokenized with
  special tokens parsed. One `Llama` per model is kept, so llama.cpp reuses the KV cache of
  the longest common prefix with the previous request: turn 2 evaluates only what is new.
- Generation stops at an end-of-generation token, or at the template's turn markers.
- A tool call is recognised only behind the template's own tag (`<tool_call>…</tool_call>`
  for Qwen) and only when the request offered tools; a bare JSON object or a fenced one
  stays plain content, exactly as a real Ollama returns it.
- The temperature is 0 unless the request sets one, so answers are repeatable (as far as
  llama.cpp's arithmetic is: a prompt evaluated in one batch and the same prompt partly
  from the cache can differ in the last bits, and so, rarely, in a near-tie token).
- Each model runs on `THREADS` threads (one core left free, see there).
- `prompt_eval_count` is the whole prompt's token count, as Ollama reports it; what the
  cache saved is kept on the server (`generations`) for benchmarks.
- A request's `format` (`"json"`, or a JSON schema) constrains what the model writes, as
  Ollama's structured outputs do: through a llama.cpp grammar made from it.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from tests.ollama_protocol import Json, ProtocolHandler, ProtocolServer
from tests.ollama_server import canonical, now

if TYPE_CHECKING:
    import jinja2
    import llama_cpp

VERSION = "0.12.0"
MODIFIED_AT = "2025-01-01T00:00:00Z"
DEFAULT_NUM_CTX = 4096  # Ollama's default window when a request sets none
# Turn markers a template may use; generation stops at any that the template contains.
TURN_MARKERS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")
# The tool-call tag pairs Ollama knows from chat templates (Qwen 2.5, Hermes-style).
TOOL_TAGS = (("<tool_call>", "</tool_call>"),)
# llama.cpp's threads spin while they wait for each other, so one that shares its core with
# another busy process stalls them all: on 2 cores with `rung` and other work running, 2
# threads gave 6-10 generated tokens/s where 1 gave 50 (SmolLM2-135M). Leave a core free.
THREADS = max(1, min(8, (os.cpu_count() or 2) - 1))
# general.file_type in a GGUF -> the quantization name Ollama shows
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 15: "Q4_K_M", 17: "Q5_K_M"}


@dataclass(frozen=True)
class LocalModel:
    """A GGUF file served under an Ollama model name."""

    name: str
    path: Path
    digest: str = ""  # sha256 of the file when known (shown by /api/tags)


@dataclass(frozen=True)
class Generation:
    """What one /api/chat cost: tokens and seconds, and what the KV cache saved."""

    model: str
    n_ctx: int
    prompt_tokens: int  # the whole prompt (Ollama's prompt_eval_count)
    cached_tokens: int  # of those, how many the KV cache held from the previous request
    eval_count: int  # tokens generated
    load_s: float  # loading the model for this request (0 when it was loaded)
    prompt_eval_s: float  # evaluating the uncached part of the prompt, to the first token
    eval_s: float  # generating the rest
    done_reason: str
    text: str = ""  # what the model wrote, tool-call tags and all

    @property
    def evaluated_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens

    @property
    def prompt_tokens_per_s(self) -> float:
        return self.evaluated_tokens / self.prompt_eval_s if self.prompt_eval_s else 0.0

    @property
    def eval_tokens_per_s(self) -> float:
        return self.eval_count / self.eval_s if self.eval_s else 0.0


# --- the chat template --------------------------------------------------------------------


class ChatTemplate:
    """A GGUF's Jinja chat template, rendered the way Hugging Face's tokenizers do."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "") -> None:
        import jinja2.ext
        import jinja2.sandbox

        def raise_exception(message: str) -> None:
            raise jinja2.exceptions.TemplateError(message)

        def tojson(value: Any, indent: int | None = None, **kwargs: Any) -> str:
            return json.dumps(value, ensure_ascii=False, indent=indent, **kwargs)

        env = jinja2.sandbox.ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
        )
        env.filters["tojson"] = tojson
        env.globals["raise_exception"] = raise_exception
        self.source = source
        self.bos_token = bos_token
        self.eos_token = eos_token
        self._template: jinja2.Template = env.from_string(source)

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.source

    @property
    def tool_tags(self) -> tuple[str, str] | None:
        """The tag pair this template wraps tool calls in, if it has one."""
        return next((tags for tags in TOOL_TAGS if tags[0] in self.source), None)

    @property
    def stop_markers(self) -> tuple[str, ...]:
        return tuple(m for m in TURN_MARKERS if m in self.source)

    def render(self, messages: Sequence[Json], tools: Sequence[Json] | None = None) -> str:
        return self._template.render(
            messages=[template_message(m) for m in messages],
            tools=list(tools) if tools else None,
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
        )


def template_message(message: Json) -> Json:
    """An Ollama API message as chat templates expect it (content always a string)."""
    out = dict(message)
    out["content"] = str(message.get("content") or "")
    calls = message.get("tool_calls") or []
    if calls:
        out["tool_calls"] = [
            {"type": "function", "function": dict(call.get("function") or {})} for call in calls
        ]
    if message.get("tool_name") and "name" not in out:
        out["name"] = message["tool_name"]
    return out


# --- reading the model's output -----------------------------------------------------------


def parse_tool_calls(text: str, tags: tuple[str, str] | None) -> tuple[str, list[Json]]:
    """(content, tool calls) of a finished reply, as Ollama splits it."""
    parser = ToolCallParser(tags)
    pieces = [*parser.feed(text), *parser.close()]
    content = "".join(p for p in pieces if isinstance(p, str))
    return content, [p for p in pieces if not isinstance(p, str)]


class ToolCallParser:
    """Splits streamed text into content and tool calls written behind the template's tag.

    `feed` returns what is known so far: strings (content, safe to show now) and dicts
    (`{"function": {"name", "arguments"}}`). Text that may be the start of the tag is held
    until it is clear. A tagged block that is not a JSON call with a name is left as
    content, as is everything without the tag.
    """

    def __init__(self, tags: tuple[str, str] | None) -> None:
        self.tags = tags
        self._buffer = ""
        self._inside = False

    def feed(self, text: str) -> list[str | Json]:
        if self.tags is None:
            return [text] if text else []
        self._buffer += text
        opening, closing = self.tags
        out: list[str | Json] = []
        while True:
            if not self._inside:
                at = self._buffer.find(opening)
                if at < 0:
                    keep = _partial_suffix(self._buffer, opening)
                    safe = self._buffer[: len(self._buffer) - keep]
                    if safe:
                        out.append(safe)
                    self._buffer = self._buffer[len(safe) :]
                    return out
                if at:
                    out.append(self._buffer[:at])
                self._buffer = self._buffer[at:]
                self._inside = True
            end = self._buffer.find(closing)
            if end < 0:
                return out
            block = self._buffer[: end + len(closing)]
            self._buffer = self._buffer[end + len(closing) :]
            self._inside = False
            call = _tool_call(block[len(opening) : -len(closing)])
            out.append(call if call is not None else block)

    def close(self) -> list[str | Json]:
        """The end of the reply: an unclosed tag is parsed if it holds a whole call."""
        rest, self._buffer = self._buffer, ""
        if self._inside and self.tags is not None:
            self._inside = False
            call = _tool_call(rest[len(self.tags[0]) :])
            if call is not None:
                return [call]
        return [rest] if rest else []


def _tool_call(block: str) -> Json | None:
    try:
        value = json.loads(block)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("name"), str):
        return None
    arguments = value.get("arguments", value.get("parameters", {}))
    if isinstance(arguments, str):  # some models write the arguments as a JSON string
        with contextlib.suppress(ValueError):
            arguments = json.loads(arguments)
    if not isinstance(arguments, dict):
        return None
    return {"function": {"name": value["name"], "arguments": arguments}}


def _partial_suffix(text: str, marker: str) -> int:
    """Length of the longest end of `text` that is a proper start of `marker`."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if text.endswith(marker[:size]):
            return size
    return 0


class _StopFilter:
    """Holds back text that may become a stop marker; reports when one is complete."""

    def __init__(self, markers: Sequence[str]) -> None:
        self.markers = [m for m in markers if m]
        self._buffer = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        self._buffer += text
        hits = [i for i in (self._buffer.find(m) for m in self.markers) if i >= 0]
        if hits:
            self.stopped = True
            out, self._buffer = self._buffer[: min(hits)], ""
            return out
        keep = max((_partial_suffix(self._buffer, m) for m in self.markers), default=0)
        out = self._buffer[: len(self._buffer) - keep]
        self._buffer = self._buffer[len(out) :]
        return out

    def close(self) -> str:
        out, self._buffer = self._buffer, ""
        return out


# --- the models -----------------------------------------------------------------------------


class _Model:
    """One served model: its metadata (read once) and its `Llama`, loaded on demand."""

    def __init__(self, local: LocalModel, threads: int) -> None:
        self.local = local
        self.threads = threads
        self.lock = threading.Lock()  # one request at a time per model, as Ollama's runner
        self.llm: llama_cpp.Llama | None = None
        self.prompt_evals: list[int] = []  # tokens in each llm.eval call of this request
        self._meta: Json | None = None
        self._template: ChatTemplate | None = None

    @property
    def metadata(self) -> Json:
        if self._meta is None:
            import llama_cpp
            from llama_cpp._internals import LlamaModel

            params = llama_cpp.llama_model_default_params()
            params.vocab_only = True  # the metadata and the vocabulary, no weights
            vocab = LlamaModel(path_model=str(self.local.path), params=params, verbose=False)
            meta: Json = dict(vocab.metadata())
            bos, eos = vocab.token_bos(), vocab.token_eos()
            meta["_bos"] = vocab.token_get_text(bos) if bos >= 0 else ""
            meta["_eos"] = vocab.token_get_text(eos) if eos >= 0 else ""
            vocab.close()
            self._meta = meta
        return self._meta

    @property
    def template(self) -> ChatTemplate:
        if self._template is None:
            meta = self.metadata
            self._template = ChatTemplate(
                meta.get("tokenizer.chat_template", ""),
                bos_token=meta["_bos"],
                eos_token=meta["_eos"],
            )
        return self._template

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "llama"))

    @property
    def context_length(self) -> int:
        return int(self.metadata.get(f"{self.architecture}.context_length", DEFAULT_NUM_CTX))

    @property
    def capabilities(self) -> list[str]:
        return ["completion", "tools"] if self.template.supports_tools else ["completion"]

    def load(self, num_ctx: int) -> tuple[llama_cpp.Llama, float]:
        """The model with a `num_ctx` window (reloaded when it differs); seconds spent."""
        n_ctx = max(256, min(num_ctx, self.context_length))
        if self.llm is not None and self.llm.n_ctx() == n_ctx:
            return self.llm, 0.0
        self.unload()
        from llama_cpp import Llama

        started = time.perf_counter()
        llm = Llama(
            str(self.local.path),
            n_ctx=n_ctx,
            n_threads=self.threads,
            n_threads_batch=self.threads,
            verbose=False,
        )
        evaluate = llm.eval

        def counted_eval(tokens: Sequence[int]) -> None:
            self.prompt_evals.append(len(tokens))
            evaluate(tokens)

        llm.eval = counted_eval  # type: ignore[method-assign]
        self.llm = llm
        return llm, time.perf_counter() - started

    def unload(self) -> None:
        if self.llm is not None:
            self.llm.close()
            self.llm = None


def _meta_value(value: str) -> Any:
    """GGUF metadata comes back as text; numbers as numbers, as Ollama shows them."""
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(value)
    return value


class _Rejected(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class _Stopping(Exception):
    """The server is stopping in the middle of a generation."""


@dataclass
class _Turn:
    """One request being answered: the prompt and the sampling settings."""

    model: _Model
    llm: llama_cpp.Llama
    tokens: list[int]
    options: Json
    tools: bool
    load_s: float
    grammar: llama_cpp.LlamaGrammar | None = None  # from the request's `format`
    stats: dict[str, Any] = field(default_factory=dict)


# --- the server -----------------------------------------------------------------------------


class LlamaOllamaServer(ProtocolServer):
    """Ollama's native API over llama.cpp on a free local port; see the module docstring."""

    version = VERSION
    thread_name = "llama-ollama-server"
    poll_interval = 0.05

    def __init__(
        self,
        models: Mapping[str, Path | str] | Sequence[LocalModel],
        *,
        threads: int = THREADS,
        default_num_ctx: int = DEFAULT_NUM_CTX,
        max_predict: int | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        if isinstance(models, Mapping):
            models = [LocalModel(name, Path(path)) for name, path in models.items()]
        self._models = {canonical(m.name): _Model(m, threads) for m in models}
        self.default_num_ctx = default_num_ctx
        self.max_predict = max_predict  # a cap on generated tokens (None: up to num_ctx)
        self._generations: list[Generation] = []

    def tags(self) -> list[Json]:
        return [_tag(m) for m in self._models.values()]

    # -- inspection -------------------------------------------------------------------------

    @property
    def generations(self) -> list[Generation]:
        """One record per answered /api/chat, oldest first."""
        with self._lock:
            return list(self._generations)

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens the KV cache held in the latest request (0 before any)."""
        generations = self.generations
        return generations[-1].cached_tokens if generations else 0

    def names(self) -> list[str]:
        return [m.local.name for m in self._models.values()]

    def stop(self) -> None:
        """Stop accepting, end generations and connections, join threads, free the models."""
        started = self._httpd is not None
        super().stop()
        if started:
            for model in self._models.values():
                with model.lock:
                    model.unload()

    # -- the work ---------------------------------------------------------------------------

    def _find(self, name: str) -> _Model | None:
        return self._models.get(canonical(name)) if name else None

    def _num_ctx(self, body: Json) -> int:
        return int((body.get("options") or {}).get("num_ctx") or self.default_num_ctx)

    def _prepare(self, model: _Model, body: Json) -> _Turn:
        """Load the model at the requested window and render the prompt that fits it."""
        options = dict(body.get("options") or {})
        tools = list(body.get("tools") or [])
        llm, load_s = model.load(self._num_ctx(body))
        messages = list(body.get("messages") or [])
        tokens = self._fit(model, llm, messages, tools)
        grammar = _grammar(body.get("format"))
        return _Turn(model, llm, tokens, options, bool(tools), load_s, grammar)

    def _fit(
        self, model: _Model, llm: llama_cpp.Llama, messages: list[Json], tools: list[Json]
    ) -> list[int]:
        """The prompt's tokens; like Ollama, the oldest turns go when it does not fit."""
        system = [m for m in messages if m.get("role") == "system"]
        rest = [m for m in messages if m.get("role") != "system"]
        limit = llm.n_ctx()
        tokens: list[int] = []
        for start in range(max(len(rest), 1)):
            prompt = model.template.render(system + rest[start:], tools)
            bos = model.template.bos_token
            add_special = not (bos and prompt.startswith(bos))
            tokens = llm.tokenize(prompt.encode(), add_bos=add_special, special=True)
            if len(tokens) < limit:
                return tokens
        raise _Rejected(
            400, f"the prompt ({len(tokens)} tokens) does not fit the context window ({limit})"
        )

    def _generate(self, turn: _Turn) -> Iterator[str | Json]:
        """Content pieces and tool calls as the model writes them; fills `turn.stats`."""
        import llama_cpp

        llm, options = turn.llm, turn.options
        temperature = float(options.get("temperature", 0.0))
        seed = options.get("seed")
        llm.set_seed(int(seed) if seed is not None else random.randrange(2**31))
        limit = int(options.get("num_predict", -1))
        if self.max_predict is not None:
            limit = self.max_predict if limit < 0 else min(limit, self.max_predict)
        stops = _StopFilter([*turn.model.template.stop_markers, *(options.get("stop") or [])])
        tags = turn.model.template.tool_tags if turn.tools else None
        parser = ToolCallParser(tags)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        vocab = llm._model.vocab
        turn.model.prompt_evals.clear()
        written: list[str] = []
        stats = turn.stats
        stats.update(eval_count=0, done_reason="stop", prompt_eval_s=0.0, eval_s=0.0)
        started = time.perf_counter()
        first: float | None = None
        tokens = llm.generate(
            turn.tokens,
            temp=temperature,
            top_k=int(options.get("top_k", 40)),
            top_p=float(options.get("top_p", 0.9)),
            min_p=float(options.get("min_p", 0.0)),
            repeat_penalty=float(options.get("repeat_penalty", 1.0)),
            grammar=turn.grammar,
        )
        try:
            for token in tokens:
                if first is None:
                    first = time.perf_counter()
                    evaluated = turn.model.prompt_evals[0] if turn.model.prompt_evals else 0
                    stats["cached_tokens"] = len(turn.tokens) - evaluated
                if self._stopping.is_set():
                    raise _Stopping
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    break
                stats["eval_count"] += 1
                text = stops.feed(decoder.decode(llm.detokenize([token], special=True)))
                written.append(text)
                yield from parser.feed(text)
                if stops.stopped:
                    break
                if stats["eval_count"] == limit or llm.n_tokens + 1 >= llm.n_ctx():
                    stats["done_reason"] = "length"
                    break
        finally:
            tokens.close()
            ended = time.perf_counter()
            stats["prompt_eval_s"] = (first or ended) - started
            stats["eval_s"] = ended - (first or ended)
            stats.setdefault("cached_tokens", 0)
        tail = ""
        if not stops.stopped:
            tail = stops.feed(decoder.decode(b"", final=True))
            tail += "" if stops.stopped else stops.close()
        stats["text"] = "".join([*written, tail])
        yield from parser.feed(tail)
        yield from parser.close()

    def _finish(self, name: str, turn: _Turn) -> Json:
        """Record the generation; the final chunk's numbers (nanoseconds, as Ollama)."""
        s = turn.stats
        generation = Generation(
            model=name,
            n_ctx=turn.llm.n_ctx(),
            prompt_tokens=len(turn.tokens),
            cached_tokens=s["cached_tokens"],
            eval_count=s["eval_count"],
            load_s=turn.load_s,
            prompt_eval_s=s["prompt_eval_s"],
            eval_s=s["eval_s"],
            done_reason=s["done_reason"],
            text=s.get("text", ""),
        )
        with self._lock:
            self._generations.append(generation)
        ns = 1_000_000_000
        return {
            "done": True,
            "done_reason": generation.done_reason,
            "total_duration": int((turn.load_s + s["prompt_eval_s"] + s["eval_s"]) * ns),
            "load_duration": int(turn.load_s * ns),
            "prompt_eval_count": generation.prompt_tokens,
            "prompt_eval_duration": int(s["prompt_eval_s"] * ns),
            "eval_count": generation.eval_count,
            "eval_duration": int(s["eval_s"] * ns),
        }


def _grammar(format: Any) -> llama_cpp.LlamaGrammar | None:
    """The grammar for a request's `format`: any JSON value for "json", a schema's own;
    None when none is asked for. `_Rejected` (400, as Ollama) for one it cannot follow."""
    if format in (None, ""):
        return None
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_grammar import JSON_GBNF

    try:
        if format == "json":
            return LlamaGrammar.from_string(JSON_GBNF, verbose=False)
        if isinstance(format, dict):
            return LlamaGrammar.from_json_schema(json.dumps(format), verbose=False)
    except (AssertionError, ValueError, RuntimeError) as exc:  # the converter asserts
        raise _Rejected(400, f"invalid JSON schema in format: {exc}") from None
    raise _Rejected(400, f"invalid format: {json.dumps(format)}")


def _keep_alive_zero(value: Any) -> bool:
    return value == 0 or (isinstance(value, str) and re.fullmatch(r"0+[smh]?", value) is not None)


class _Handler(ProtocolHandler):
    @property
    def owner(self) -> LlamaOllamaServer:
        return cast(LlamaOllamaServer, self.server.owner)

    def do_HEAD(self) -> None:
        self._send(200, b"", "text/plain; charset=utf-8")

    # -- endpoints ----------------------------------------------------------------------------

    def _show(self, body: Json) -> None:
        name = str(body.get("model") or body.get("name") or "")
        model = self.owner._find(name)
        if model is None:
            return self._json(404, {"error": f"model '{name}' not found"})
        meta = model.metadata
        arch = model.architecture
        info = {k: _meta_value(v) for k, v in meta.items() if k.startswith(("general.", arch))}
        info[f"{arch}.context_length"] = model.context_length
        self._json(
            200,
            {
                "license": str(meta.get("general.license", "")),
                "modelfile": f"# Modelfile (llama.cpp stand-in)\nFROM {model.local.path}\n",
                "parameters": "",
                "template": model.template.source,
                "details": _details(model),
                "model_info": info,
                "capabilities": model.capabilities,
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
            return self._json(400, {"error": f"{canonical(name)} does not support tools"})
        with model.lock:
            if not body.get("messages"):  # Ollama: an empty chat only loads the model
                model.load(owner._num_ctx(body))
                load = {"done": True, "done_reason": "load"}
                return self._json(200, _message(name, content="") | load)
            try:
                turn = owner._prepare(model, body)
            except _Rejected as exc:
                return self._json(exc.status, {"error": exc.error})
            try:
                if body.get("stream", True) is False:
                    self._whole_reply(name, turn)
                else:
                    self._streamed_reply(name, turn)
            except _Stopping:
                self.close_connection = True
            finally:
                if _keep_alive_zero(body.get("keep_alive")):
                    model.unload()
        return None

    def _streamed_reply(self, name: str, turn: _Turn) -> None:
        """One chunk per piece of content as it is written, a chunk per tool call."""
        owner = self.owner
        self._start_stream()
        with contextlib.closing(owner._generate(turn)) as pieces:
            for piece in pieces:
                if isinstance(piece, str):
                    self._chunk(_message(name, content=piece) | {"done": False})
                else:
                    self._chunk(_message(name, content="", tool_calls=[piece]) | {"done": False})
        self._chunk(_message(name, content="") | owner._finish(name, turn))
        self._end_stream()

    def _whole_reply(self, name: str, turn: _Turn) -> None:
        owner = self.owner
        pieces = list(owner._generate(turn))
        fields: Json = {"content": "".join(p for p in pieces if isinstance(p, str))}
        calls = [p for p in pieces if not isinstance(p, str)]
        if calls:
            fields["tool_calls"] = calls
        self._json(200, _message(name, **fields) | owner._finish(name, turn))

    def _pull(self, body: Json) -> None:
        name = str(body.get("model") or body.get("name") or "")
        stream = body.get("stream", True) is not False
        if self.owner._find(name) is None:
            error = {"error": "pull model manifest: file does not exist"}
            if not stream:
                return self._json(500, error)
            self._start_stream()
            self._chunk(error)
            return self._end_stream()
        # The models are local files: there is nothing to download.
        progress: list[Json] = [{"status": "pulling manifest"}, {"status": "success"}]
        if not stream:
            return self._json(200, progress[-1])
        self._start_stream()
        for line in progress:
            self._chunk(line)
        return self._end_stream()


LlamaOllamaServer.handler = _Handler
LlamaOllamaServer.quiet_errors = (ConnectionError, _Stopping)


def _message(model: str, **fields: Any) -> Json:
    return {"model": model, "created_at": now(), "message": {"role": "assistant", **fields}}


def _details(model: _Model) -> Json:
    meta = model.metadata
    file_type = _meta_value(str(meta.get("general.file_type", "")))
    return {
        "parent_model": "",
        "format": "gguf",
        "family": model.architecture,
        "families": [model.architecture],
        "parameter_size": str(meta.get("general.size_label", "")),
        "quantization_level": FILE_TYPES.get(file_type, str(file_type)),
    }


def _tag(model: _Model) -> Json:
    local = model.local
    digest = local.digest or hashlib.sha256(f"{local.path}".encode()).hexdigest()
    return {
        "name": local.name,
        "model": local.name,
        "modified_at": MODIFIED_AT,
        "size": local.path.stat().st_size,
        "digest": digest,
        "details": _details(model),
    }


def main(argv: list[str] | None = None) -> None:
    """Serve the cached test models until Ctrl-C, to try Rung against them by hand."""
    import argparse

    from tests.real import models

    parser = argparse.ArgumentParser(
        prog="python -m tests.real.llama_ollama",
        description="Serve the real-model tests' GGUF models with Ollama's API (llama.cpp).",
    )
    parser.add_argument("--port", type=int, default=11435, help="port on 127.0.0.1")
    args = parser.parse_args(argv)
    paths = models.ensure_all()
    local = [LocalModel(m.name, paths[m.name], m.sha256) for m in models.MODELS]
    with LlamaOllamaServer(local, port=args.port) as server:
        print(f"serving {', '.join(server.names())} at {server.url}; Ctrl-C stops", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
