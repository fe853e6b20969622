"""Rung's loop overhead per model step, against a hand-written loop on the bare `ollama` SDK.

One conversation is ten model steps: nine tool calls to a trivial `counter` tool, then a
text answer, served by the Ollama-protocol test server (real HTTP on 127.0.0.1, the real
`ollama` client on both sides). The candidate is `run_turn` with `OllamaChatModel` and a
`ToolRegistry`; the baseline makes the same ten streamed requests with `ollama.AsyncClient`
in the smallest loop that works. Both run on one event loop, interleaved, after a warm-up;
the server's own time is in both, so the difference is what Rung adds.

    python -m bench.loop_overhead [--quick]
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ollama

from bench.common import Report, Target, median, parse_args, percentile, publish
from rung.agent.loop import run_turn
from rung.agent.messages import FinalAnswer, Message, ToolResult
from rung.agent.ollama_model import OllamaChatModel
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec
from tests.ollama_server import OllamaTestServer, Reply

MODEL = "qwen3:4b"
STEPS = 10  # model steps per conversation: STEPS - 1 tool calls, then the answer
MAX_STEPS = 12
TARGET_MS = 2.0
NUM_CTX = 16384  # what OllamaChatModel sends by default; the baseline sends it too
KEEP_ALIVE = "5m"
QUESTION = "Count to nine with the counter tool, one call at a time, then tell me the count."
ANSWER = "All nine steps are done: the counter stands at nine."
COUNTER = ToolSpec(
    "counter",
    "Add one to the counter and return its new value.",
    {
        "type": "object",
        "properties": {"step": {"type": "integer", "description": "which call this is, from 1"}},
        "required": ["step"],
    },
)


def responder(body: dict[str, Any]) -> Reply:
    """A tool call while fewer than STEPS - 1 tool results came back, then the answer."""
    done = sum(1 for m in body.get("messages") or [] if m.get("role") == "tool")
    if done < STEPS - 1:  # a new `step` each time, so Rung's repeated-call guard stays out
        return Reply(tool_calls=[{"name": COUNTER.name, "arguments": {"step": done + 1}}])
    return Reply(ANSWER)


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, step: int) -> int:
        self.count += 1
        return self.count


async def rung_conversation(model: OllamaChatModel) -> int:
    """One conversation through Rung's loop; returns the number of tool results."""
    tools = ToolRegistry([FunctionTool(COUNTER, Counter())])
    results, final = 0, None
    async for event in run_turn(model, [Message("user", QUESTION)], tools, max_steps=MAX_STEPS):
        if isinstance(event, ToolResult):
            results += 1
            if event.is_error:
                raise SystemExit(f"bench: the tool failed in Rung's loop: {event.content}")
        elif isinstance(event, FinalAnswer):
            final = event
    if final is None or final.message.content != ANSWER:
        raise SystemExit("bench: Rung's loop ended without the scripted answer")
    return results


async def sdk_conversation(client: ollama.AsyncClient) -> int:
    """The same conversation, hand-written on the bare SDK; returns the number of tool results."""
    counter = Counter()
    tools = [COUNTER.to_ollama()]
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    results = 0
    for _ in range(MAX_STEPS):
        content: list[str] = []
        calls: list[ollama.Message.ToolCall] = []
        stream = await client.chat(
            MODEL,
            messages=messages,
            tools=tools,
            stream=True,
            options={"num_ctx": NUM_CTX},
            keep_alive=KEEP_ALIVE,
        )
        async for chunk in stream:
            content.append(chunk.message.content or "")
            calls.extend(chunk.message.tool_calls or ())
        assistant: dict[str, Any] = {"role": "assistant", "content": "".join(content)}
        if calls:
            assistant["tool_calls"] = [
                {"function": {"name": c.function.name, "arguments": dict(c.function.arguments)}}
                for c in calls
            ]
        messages.append(assistant)
        if not calls:
            if assistant["content"] != ANSWER:
                raise SystemExit("bench: the SDK loop ended without the scripted answer")
            return results
        for call in calls:
            value = counter(**call.function.arguments)
            messages.append(
                {"role": "tool", "content": str(value), "tool_name": call.function.name}
            )
            results += 1
    raise SystemExit("bench: the SDK loop hit its step limit")


async def timed(
    server: OllamaTestServer, conversation: Callable[[], Awaitable[int]], label: str
) -> tuple[float, int]:
    """Wall seconds and new connections of one conversation, which must make STEPS requests."""
    before, opened = len(server.chat_requests), server.connections_opened
    started = time.perf_counter()
    results = await conversation()
    elapsed = time.perf_counter() - started
    opened = server.connections_opened - opened
    requests = len(server.chat_requests) - before
    if requests != STEPS or results != STEPS - 1:
        raise SystemExit(
            f"bench: {label} made {requests} model requests and {results} tool calls; "
            f"expected {STEPS} and {STEPS - 1}"
        )
    return elapsed, opened


@dataclass
class Series:
    times_s: list[float] = field(default_factory=list)
    connections: list[int] = field(default_factory=list)


async def measure(repeats: int) -> tuple[Series, Series]:
    rung, sdk, server = Series(), Series(), OllamaTestServer()
    with server:
        server.responder = responder
        model = OllamaChatModel(MODEL, host=server.url, num_ctx=NUM_CTX, keep_alive=KEEP_ALIVE)
        client = ollama.AsyncClient(host=server.url)
        runs: list[tuple[Series, Callable[[], Awaitable[int]], str]] = [
            (rung, lambda: rung_conversation(model), "Rung's loop"),
            (sdk, lambda: sdk_conversation(client), "the SDK loop"),
        ]
        try:
            for _, conversation, label in runs:  # warm-up: imports, connections, caches
                await timed(server, conversation, label)
            for i in range(repeats):  # interleaved; who goes first alternates
                for series, conversation, label in runs if i % 2 == 0 else runs[::-1]:
                    elapsed, opened = await timed(server, conversation, label)
                    series.times_s.append(elapsed)
                    series.connections.append(opened)
        finally:
            await model.aclose()
            await client._client.aclose()
    return rung, sdk


def report(rung: Series, sdk: Series) -> Report:
    rung_s, sdk_s = rung.times_s, sdk.times_s
    per_step_ms = 1000 / STEPS
    rung_step = [t * per_step_ms for t in rung_s]
    sdk_step = [t * per_step_ms for t in sdk_s]
    overhead = [(a - b) * per_step_ms for a, b in zip(rung_s, sdk_s, strict=True)]
    result = Report(
        name="loop_overhead",
        title=(
            f"Loop overhead: {len(rung_s)} conversations of {STEPS} model steps each "
            f"({STEPS - 1} tool calls), per-step times in ms"
        ),
        columns=[
            "loop",
            "median ms/step",
            "p90 ms/step",
            "median ms/conv",
            "new TCP conns/conv",
        ],
    )
    result.rows = [
        [
            "ollama.AsyncClient loop (baseline)",
            f"{median(sdk_step):.3f}",
            f"{percentile(sdk_step, 90):.3f}",
            f"{median(sdk_s) * 1000:.2f}",
            f"{median(sdk.connections):g}",
        ],
        [
            "rung run_turn + OllamaChatModel",
            f"{median(rung_step):.3f}",
            f"{percentile(rung_step, 90):.3f}",
            f"{median(rung_s) * 1000:.2f}",
            f"{median(rung.connections):g}",
        ],
        [
            "Rung overhead (paired)",
            f"{median(overhead):+.3f}",
            f"{percentile(overhead, 90):+.3f}",
            f"{median(overhead) * STEPS:+.2f}",
            "",
        ],
    ]
    if median(rung.connections) > median(sdk.connections):
        result.notes.append(
            f"note: Rung's loop opened {median(rung.connections):g} new TCP connections per "
            f"conversation, the SDK loop {median(sdk.connections):g}: Rung does not reuse its "
            "keep-alive connection between model steps"
        )
    result.targets = [
        Target("Rung's loop overhead per model step, median", median(overhead), TARGET_MS, "ms")
    ]
    result.data = {
        "steps_per_conversation": STEPS,
        "conversations": len(rung_s),
        "median_ms_per_step": {"rung": median(rung_step), "sdk": median(sdk_step)},
        "p90_ms_per_step": {"rung": percentile(rung_step, 90), "sdk": percentile(sdk_step, 90)},
        "overhead_ms_per_step": {
            "median": median(overhead),
            "p90": percentile(overhead, 90),
            "paired": overhead,
        },
        "conversation_s": {"rung": rung_s, "sdk": sdk_s},
        "connections_per_conversation": {"rung": rung.connections, "sdk": sdk.connections},
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Rung's loop overhead per model step against the bare ollama SDK.", argv)
    repeats = 10 if args.quick else 150
    return publish(lambda: report(*asyncio.run(measure(repeats))))


if __name__ == "__main__":
    sys.exit(main())
