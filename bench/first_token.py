"""Time to first token of turn 2 against turn 1, with Rung's prompt layout and without.

A two-turn conversation in the assistant tier on a real small model, Qwen2.5-Coder-0.5B
(Q4_K_M), served by llama.cpp behind the Ollama protocol (tests/real: the stand-in the
real-model tests use; like Ollama it keeps the KV cache of the longest common prefix
between requests). The conversation is Rung's own: recall on (a real memory in a temp
folder with notes and facts, the real embedding model), a profile, the facts in the system
message, and the tools of the built-in servers enabled by default (their real
definitions; the calls answer with a fixed line, in process). Rung's layout keeps the
system message and the tools as a stable prefix and sends the time and the recalled
memories with the new message, after the history, so turn 2 only evaluates what is new.
The baseline, measured in the same run: the same conversation sent with the time and the
memories in the system message (a common layout; bench.prefix_stability's), where each
turn's change sits near the start. Each run starts with the model loaded and its KV cache
empty (a fresh server), with a fresh memory and conversation; the layouts alternate.

Time to first token is taken by the client (Rung's Ollama adapter, from sending the
request to the first streamed chunk) for the first model request of each turn; the
server's counts say how many prompt tokens came from the cache. Reported: medians.

    python -m bench.first_token [--quick]
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from bench.common import Report, Target, median, parse_args, publish
from bench.prefix_stability import FACTS, NOTES, QUESTIONS, layout, time_at
from rung.agent.conversation import Conversation
from rung.agent.messages import FinalAnswer, LoopEvent, Message, ModelEvent
from rung.agent.model import ChatModel
from rung.agent.prompt import system_parts
from rung.agent.recall import Recall
from rung.agent.tiers import ASSISTANT
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec

MODEL = "qwen2.5-coder:0.5b"
NUM_CTX = 4096
MAX_PREDICT = 48  # a short reply keeps the run quick; turn 2 still repeats it
REPEATS = 3
TURNS = (QUESTIONS[2], QUESTIONS[0])  # the aphids, then tonight's dinner
PROFILE = """\
# About me

Name: Sam Leclerc
Where I live: Lyon, France (Europe/Paris)
Work: product designer at a small studio; I work from home on Mondays and Fridays
People (family, friends, colleagues): partner Noor; sister Inès in Bordeaux; manager Ana
Goals: grow our own vegetables this summer; cycle to work three days a week
Preferences (how I like answers, what to avoid): short answers with the steps first;
metric units; 24-hour times; no emoji
"""
LAYOUTS = {
    "rung": "Rung: time and memories with the message",
    "baseline": "baseline: time and memories in the system message",
}


class BaselineLayoutModel:
    """A `ChatModel` that sends each request in the baseline layout: the latest user
    message's time and memories moved into the system message (`prefix_stability.layout`)."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return self.model.name

    def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None
    ) -> AsyncIterator[ModelEvent]:
        # The tool steps of a turn come after its user message; they stay where they are.
        last = max(i for i, m in enumerate(messages) if m.role == "user")
        laid = layout(list(messages[: last + 1]), rung_layout=False)
        return self.model.stream([*laid, *messages[last + 1 :]], tools)


async def builtin_tools() -> ToolRegistry:
    """The tools of the built-in servers enabled by default, as they define them (the
    definitions the model sees); each call answers with a fixed line, in process."""
    import importlib

    from rung.tools.builtin import BUILTINS, ENABLED_BY_DEFAULT

    registry = ToolRegistry()
    for name, module in BUILTINS.items():
        if name in ENABLED_BY_DEFAULT:
            for tool in await importlib.import_module(module).create({}).list_tools():
                spec = ToolSpec(tool.name, tool.description or "", dict(tool.input_schema))
                registry.add(FunctionTool(spec, _fixed_answer(tool.name)))
    return registry


def _fixed_answer(name: str) -> Callable[..., str]:
    def answer(**arguments: Any) -> str:
        return f"{name}: nothing found (a stand-in for this benchmark)."

    return answer


async def converse(
    memory: Memory, tools: ToolRegistry, model_path: Path, *, rung_layout: bool
) -> list[dict[str, Any]]:
    """One fresh two-turn conversation from a cold KV cache; per turn, what its first model
    request cost."""
    from rung.agent.ollama_model import OllamaChatModel
    from tests.real.llama_ollama import LlamaOllamaServer

    recall = Recall(memory, None)
    times = map(time_at, itertools.count())
    turns: list[dict[str, Any]] = []
    with LlamaOllamaServer({MODEL: model_path}, max_predict=MAX_PREDICT) as server:
        ollama = OllamaChatModel(MODEL, host=server.url, num_ctx=NUM_CTX, temperature=0.0)
        model: ChatModel = ollama if rung_layout else BaselineLayoutModel(ollama)
        conversation = Conversation(
            model,
            num_ctx=NUM_CTX,
            tier="assistant",
            tools=tools,
            recall=recall,
            system=lambda: system_parts(ASSISTANT, profile=PROFILE, facts=recall.known_facts()),
            clock=lambda: next(times),
        )
        try:
            # Load the model first (an empty chat, as in Ollama): turn 1 pays no loading.
            await ollama.load()
            for text in TURNS:
                start = len(server.generations)
                answer = await final_answer(conversation.send(text))
                first = server.generations[start]
                turns.append(
                    {
                        "ttft_s": answer.usage.time_to_first_token_s,
                        "prompt_tokens": first.prompt_tokens,
                        "cached_tokens": first.cached_tokens,
                        "prompt_eval_s": first.prompt_eval_s,
                        "load_s": first.load_s,
                        "requests": len(server.generations) - start,
                        "recalled": len(conversation.recalled),
                        "tools": len(tools),
                        "answer": answer.message.content,
                    }
                )
        finally:
            await ollama.aclose()
            recall.close()
    return turns


async def final_answer(events: AsyncIterator[LoopEvent]) -> FinalAnswer:
    answers = [event async for event in events if isinstance(event, FinalAnswer)]
    return answers[-1]


def measure(quick: bool) -> dict[str, list[list[dict[str, Any]]]]:
    from tests.real.models import ensure_all

    model_path = ensure_all()[MODEL]
    tools = asyncio.run(builtin_tools())
    embedder = Embedder()
    runs: dict[str, list[list[dict[str, Any]]]] = {name: [] for name in LAYOUTS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in NOTES.items():
            (folder / name).write_text(text)
        notes = sorted(folder.glob("*.md"))
        for n in range(1 if quick else REPEATS):
            for name in LAYOUTS:  # alternating, so a slow spell hits both layouts
                with Memory(MemoryConfig(folder=folder / f"memory-{n}-{name}"), embedder) as m:
                    list(m.ingester().add(notes))
                    for fact in FACTS:
                        m.remember(fact)
                    turns = converse(m, tools, model_path, rung_layout=name == "rung")
                    runs[name].append(asyncio.run(turns))
    return runs


def summary(runs: list[list[dict[str, Any]]]) -> dict[str, float]:
    def med(turn: int, key: str) -> float:
        return median([run[turn][key] for run in runs])

    return {
        "ttft_1_s": med(0, "ttft_s"),
        "ttft_2_s": med(1, "ttft_s"),
        "ratio": median([run[1]["ttft_s"] / run[0]["ttft_s"] for run in runs]),
        "prompt_tokens_1": med(0, "prompt_tokens"),
        "prompt_tokens_2": med(1, "prompt_tokens"),
        "cached_tokens_2": med(1, "cached_tokens"),
        "prompt_eval_2_s": med(1, "prompt_eval_s"),
    }


def report(runs: dict[str, list[list[dict[str, Any]]]]) -> Report:
    from tests.real.llama_ollama import THREADS

    repeats = len(runs["rung"])
    result = Report(
        "first_token",
        f"Time to first token, turn 2 against turn 1 ({MODEL}, num_ctx {NUM_CTX}, assistant "
        f"tier, recall on; medians of {repeats} runs from a cold cache)",
        ["layout", "turn 1", "turn 2", "turn 2 / turn 1", "prompt tokens, turn 2", "from cache"],
    )
    summaries = {name: summary(values) for name, values in runs.items()}
    for name, s in summaries.items():
        result.rows.append(
            [
                LAYOUTS[name],
                f"{s['ttft_1_s']:.2f} s",
                f"{s['ttft_2_s']:.2f} s",
                f"{s['ratio']:.2f}",
                f"{s['prompt_tokens_2']:.0f}",
                f"{s['cached_tokens_2']:.0f} ({s['cached_tokens_2'] / s['prompt_tokens_2']:.0%})",
            ]
        )
    turns = [turn for run in runs["rung"] for turn in run]
    recalled = median([turn["recalled"] for turn in turns])
    result.notes.append(
        f"Turn 1's prompt: {summaries['rung']['prompt_tokens_1']:.0f} tokens (system message, "
        f"{turns[0]['tools']} tools, the message with its time and memories ({recalled:g} "
        f"recalled)); replies capped at {MAX_PREDICT} tokens; llama.cpp threads: {THREADS}."
    )
    ratio = round(summaries["rung"]["ratio"], 3)
    result.targets.append(Target("turn 2's time to first token over turn 1's", ratio, 0.3, "×"))
    result.data = {
        "model": MODEL,
        "num_ctx": NUM_CTX,
        "max_predict": MAX_PREDICT,
        "summary": summaries,
        "runs": runs,
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    return publish(lambda: report(measure(args.quick)))


if __name__ == "__main__":
    sys.exit(main())
