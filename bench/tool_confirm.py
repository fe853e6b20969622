"""The confirmation step, measured: can a small model say, in JSON, whether a call is needed?

Issue 19 named a third way for restraint to decide whether a call read from text should
run, beside the tool's relevance to the message and the grounding of its arguments: where
unsure, ask the model a short question whose answer Ollama's `format` constrains to JSON
(`{"needs_tool": true}` or `false`). This measures that question on the labelled set
(`rung.agent.tool_cases.ALL`) with the real small model, Qwen2.5-Coder-0.5B-Instruct
(Q4_K_M) behind the llama.cpp stand-in, which enforces `format` through a grammar as
Ollama does:

- for each case that needs a tool, its first call's tool: the answer should be yes;
- for each question no tool answers, the tool closest to it in meaning (the tool chooser's
  first, the one a model reaching for a tool most likely takes): the answer should be no.

Two wordings: asked cold, and with eight worked examples before (general ones, none from
the set). The baseline is no confirmation at all: every call runs, "yes" to everything.
A step worth its model call must say no to most no-tool pairs and yes to nearly all the
others; the result decides whether restraint uses it (see the README).

    python -m bench.tool_confirm [--quick]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import Report, parse_args, publish
from bench.tool_calling import MODEL, NUM_CTX
from rung.agent.messages import Message
from rung.agent.tool_cases import ALL, ALL_TOOLS
from rung.tools.base import ToolSpec

SCHEMA = {
    "type": "object",
    "properties": {"needs_tool": {"type": "boolean"}},
    "required": ["needs_tool"],
}
SYSTEM = (
    "You decide whether a user's message needs a tool. It does only when the user asks for "
    "what the tool does: their own data, live information, or an action. General knowledge, "
    "opinions, writing, chit-chat and sums you can do yourself need no tool. Answer in JSON."
)
EXAMPLES = (  # (message, tool, what it does, needs it): none from the labelled set
    ("What's the weather in Oslo?", "get_weather", "Current weather for a city.", True),
    ("Why is the sky blue?", "get_weather", "Current weather for a city.", False),
    ("Remind me to call mum at 6.", "create_reminder", "Create a reminder at a time.", True),
    ("Write a haiku about autumn.", "create_note", "Save a note.", False),
    ("How are you doing?", "get_time", "The current time.", False),
    ("Send Tom the report by email.", "send_email", "Send an email.", True),
    ("Who painted the Mona Lisa?", "web_search", "Search the web.", False),
    ("What's on my calendar tomorrow?", "list_events", "List calendar events for a day.", True),
)


def question(message: str, tool: str, does: str) -> str:
    ask = "Does the message ask for what this tool does?"
    return f'Message: "{message}"\nTool: {tool} ({does})\n{ask}'


def asked(message: str, spec: ToolSpec, examples: bool) -> list[Message]:
    """The confirmation question for `spec` and `message`, cold or after the examples."""
    messages = [Message("system", SYSTEM)]
    for said, tool, does, needs in EXAMPLES if examples else ():
        messages += [
            Message("user", question(said, tool, does)),
            Message("assistant", json.dumps({"needs_tool": needs})),
        ]
    return [*messages, Message("user", question(message, spec.name, spec.description))]


def pairs(quick: bool) -> list[tuple[str, ToolSpec, bool]]:
    """(message, tool, whether the tool is needed) for every case of the labelled set."""
    from rung.agent.tool_choice import ToolChooser
    from rung.memory.embedder import Embedder

    chooser = ToolChooser(Embedder.shared("all-MiniLM-L6-v2"))
    specs = {s.name: s for s in ALL_TOOLS}
    found = []
    for case in ALL[::4] if quick else ALL:
        if case.calls:
            found.append((case.message, specs[case.calls[0].name], True))
        else:
            found.append((case.message, chooser.ranked(ALL_TOOLS, case.message)[0], False))
    return found


async def measure(quick: bool) -> dict[str, Any]:
    from rung.agent.ollama_model import OllamaChatModel
    from tests.real.llama_ollama import LlamaOllamaServer
    from tests.real.models import ensure_all

    cases = pairs(quick)
    results: dict[str, Any] = {}
    with LlamaOllamaServer({MODEL: ensure_all()[MODEL]}, max_predict=32) as server:
        model = OllamaChatModel(MODEL, host=server.url, num_ctx=NUM_CTX, temperature=0.0)
        try:
            for wording, examples in (("cold", False), ("with 8 examples", True)):
                said: list[tuple[bool, bool]] = []  # (needed, said yes)
                started = time.perf_counter()
                for message, spec, needed in cases:
                    verdict, _ = await model.structured(asked(message, spec, examples), SCHEMA)
                    said.append((needed, verdict.get("needs_tool") is True))
                results[wording] = {
                    "needed": sum(n for n, _ in said),
                    "yes_when_needed": sum(n and y for n, y in said),
                    "not_needed": sum(not n for n, _ in said),
                    "no_when_not_needed": sum(not n and not y for n, y in said),
                    "seconds_per_question": (time.perf_counter() - started) / len(said),
                }
        finally:
            await model.aclose()
    return results


def report(results: dict[str, Any]) -> Report:
    result = Report(
        "tool_confirm",
        "The confirmation step on a small model (this machine)",
        ["measure", "baseline", "asked", "note"],
        text_columns=(0, 3),
    )
    for wording, r in results.items():
        yes = r["yes_when_needed"] / r["needed"]
        no = r["no_when_not_needed"] / r["not_needed"]
        result.rows += [
            [f"{MODEL}, {wording}: yes when a tool is needed ({r['needed']})", "100%",
             f"{yes:.0%}", "a no here loses a right call"],
            [f"  no when none is ({r['not_needed']})", "0%", f"{no:.0%}",
             "a no here keeps a reflex call from running"],
            ["  seconds per question", "0", f"{r['seconds_per_question']:.2f}",
             "one more model call for each call confirmed"],
        ]  # fmt: skip
    result.data = {"confirm": results}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    return publish(lambda: report(asyncio.run(measure(args.quick))))


if __name__ == "__main__":
    sys.exit(main())
