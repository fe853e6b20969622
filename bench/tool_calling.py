"""Small models and tools: the labelled cases on a real small model, and tool choice among 100.

Part 1, `model`: the labelled set (`rung.agent.tool_cases.ALL`: 154 cases written for this
project — one call, choosing among look-alikes, two calls at once, multi-step, arguments
that need care, and questions no tool answers, a quarter and more) on a real small model,
Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), served by llama.cpp behind the Ollama protocol
(tests/real: like a real Ollama it returns a call only from behind the template's
<tool_call> tag, anything else as plain content). Three readers in the same run: a plain
Ollama client (calls written as text are text), the naive JSON reader (any JSON object with
a "name" in the reply is run as written), and Rung (with the tool chooser's ranking, as a
chat has it, for its restraint). Reported: each one's share of cases
passed, per kind; restraint (no-tool questions answered without a call); rescued turns.
Targets: Rung 10 points or more ahead of the naive reader; no more than 10 % of the no-tool
questions answered with a call. Then restraint where the ranking cannot help, as in an
irrelevance test: each no-tool question again, offered only the FEW tools closest to it in
meaning (the most tempting ones; with so few, the ranking of tools is not used, only the
grounding of arguments).

Part 2, `choice`: bench/data/tools100.json, 100 tools of a home assistant (with
confusable neighbours) and 188 labelled messages. For each message the ToolChooser (the
real embedding model) picks 16 tools; reported: how often the right tool is among them,
the milliseconds per choice, and the prompt tokens of the tool definitions sent (estimated
with Rung's estimator) against offering all 100, the baseline measured in the same run.

    python -m bench.tool_calling [--quick] [--part model|choice|all] [--readers rung ...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import Report, Target, median, publish
from rung.agent.context import CHARS_PER_TOKEN
from rung.agent.loop import Ranker
from rung.agent.messages import ModelDone, ToolCall
from rung.agent.tool_cases import ALL, ALL_TOOLS, Case
from rung.agent.tool_check import run_case, run_check, toolset
from rung.agent.tool_choice import ToolChooser
from rung.memory.embedder import Embedder
from rung.tools.base import ToolSpec

DATA = Path(__file__).resolve().parent / "data" / "tools100.json"
CHOOSE = 16
FEW = 2  # tools offered with each no-tool question, in the second measure of restraint
MODEL = "qwen2.5-coder:0.5b"
NUM_CTX = 4096


def tokens(specs: Sequence[ToolSpec]) -> int:
    return int(len(json.dumps([s.to_ollama() for s in specs])) / CHARS_PER_TOKEN)


def measure_choice(quick: bool) -> dict[str, Any]:
    data = json.loads(DATA.read_text())
    specs = [ToolSpec(t["name"], t["description"], t["parameters"]) for t in data["tools"]]
    cases = data["cases"][:40] if quick else data["cases"]
    embedder = Embedder()
    chooser = ToolChooser(embedder, limit=CHOOSE)
    chooser.warm(specs)  # the tools' vectors are made once, when the hub is ready
    hits, times, sent = 0, [], []
    misses: list[dict[str, Any]] = []
    for case in cases:
        started = time.perf_counter()
        chosen = chooser.choose(specs, case["message"])
        times.append((time.perf_counter() - started) * 1000)
        sent.append(tokens(chosen))
        if case["tool"] in {s.name for s in chosen}:
            hits += 1
        else:
            misses.append({"message": case["message"], "tool": case["tool"]})
    return {
        "cases": len(cases),
        "tools": len(specs),
        "chosen": CHOOSE,
        "accuracy": hits / len(cases),
        "ms_per_choice": median(times),
        "tokens_all": tokens(specs),
        "tokens_chosen": median(sent),
        "misses": misses,
    }


class NaiveReader:
    """The naive JSON reader, a baseline: a text reply that holds a JSON object with a
    "name" is run as that call, as written — no schema, no correction, no restraint."""

    def __init__(self, model: Any) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return str(self.model.name)

    async def stream(self, messages: Sequence[Any], tools: Sequence[ToolSpec] | None = None) -> Any:
        async for event in self.model.stream(messages, tools):
            if isinstance(event, ModelDone) and tools and not event.message.tool_calls:
                calls = naive_calls(event.message.content)
                if calls:
                    message = replace(event.message, content="", tool_calls=calls)
                    event = ModelDone(message, event.usage, event.cut)
            yield event


def naive_calls(text: str) -> list[ToolCall]:
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        return []
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return []
    found = value if isinstance(value, list) else [value]
    calls = []
    for n, obj in enumerate(found):
        if isinstance(obj, dict) and isinstance(obj.get("name"), str):
            arguments = obj.get("arguments", obj.get("parameters", {}))
            calls.append(
                ToolCall(
                    f"naive_{n}", obj["name"], arguments if isinstance(arguments, dict) else {}
                )
            )
    return calls


READERS = ("plain", "naive", "rung")  # a plain Ollama client, the naive reader, Rung


async def measure_model(quick: bool, readers: Sequence[str] = READERS) -> dict[str, Any]:
    from rung.agent.ollama_model import OllamaChatModel
    from tests.real.llama_ollama import LlamaOllamaServer
    from tests.real.models import ensure_all

    models = ensure_all()
    cases = ALL[::4] if quick else ALL
    chooser = ToolChooser(Embedder.shared("all-MiniLM-L6-v2"))  # as `rung chat` has one
    results: dict[str, Any] = {}
    with LlamaOllamaServer({MODEL: models[MODEL]}, max_predict=256) as server:
        for reader in readers:
            model = OllamaChatModel(MODEL, host=server.url, num_ctx=NUM_CTX, temperature=0.0)
            reading = NaiveReader(model) if reader == "naive" else model
            ranker = chooser.ranked if reader == "rung" else None
            try:
                report = await run_check(
                    reading,
                    num_ctx=NUM_CTX,
                    tools=len(ALL_TOOLS),
                    lenient=reader == "rung",
                    ranker=ranker,
                    cases=cases,
                    catalog=ALL_TOOLS,
                )
                results[reader] = report.summary()
                results[reader]["few"] = await few_offered(reading, cases, chooser, ranker)
            finally:
                await model.aclose()
    return results


async def few_offered(
    model: Any, cases: Sequence[Case], chooser: ToolChooser, ranker: Ranker | None
) -> dict[str, Any]:
    """The no-tool questions, each offered only the FEW tools closest to it."""
    passed, called = 0, []
    asked = [c for c in cases if not c.calls]
    for case in asked:
        tools = toolset(0, chooser.ranked(ALL_TOOLS, case.message)[:FEW])
        result = await run_case(model, case, tools, lenient=ranker is not None, ranker=ranker)
        passed += result.passed
        if not result.passed:
            called.append({"message": case.message, "made": result.calls, "error": result.error})
    return {"passed": passed, "cases": len(asked), "called": called}


def report(choice: dict[str, Any] | None, model: dict[str, Any] | None) -> Report:
    result = Report(
        "tool_calling",
        "Small models and tools (this machine)",
        ["measure", "baseline", "Rung", "note"],
        text_columns=(0, 3),
    )
    if model is not None and set(model) != set(READERS):  # --readers: Rung's figures alone
        result.rows += [[f"{MODEL}: {r}", "", f"{model[r]['accuracy']:.0%}", ""] for r in model]
        for reader, summary in model.items():
            for kind, k in summary["by_kind"].items():
                share = f"{k['passed'] / k['cases']:.0%}"
                result.rows.append([f"  {reader}: {kind} ({k['cases']})", "", share, ""])
            few = summary["few"]
            share = f"{few['passed'] / few['cases']:.0%}"
            label = f"  {reader}: no tool, {FEW} tools offered ({few['cases']})"
            result.rows.append([label, "", share, ""])
    elif model is not None:
        plain, naive, rung = (model[r] for r in READERS)
        kinds = list(rung["by_kind"])
        result.rows.append(
            [
                f"{MODEL}: cases passed, all ({rung['cases']})",
                f"plain {plain['accuracy']:.0%} · naive {naive['accuracy']:.0%}",
                f"{rung['accuracy']:.0%}",
                f"{rung['tools']} tools offered, num_ctx {NUM_CTX}",
            ]
        )
        for kind in kinds:
            row = [model[r]["by_kind"][kind] for r in READERS]
            share = [f"{k['passed'] / k['cases']:.0%}" for k in row]
            note = "answered without a call (restraint)" if kind == "no tool" else ""
            result.rows.append(
                [
                    f"  {kind} ({row[2]['cases']})",
                    f"plain {share[0]} · naive {share[1]}",
                    share[2],
                    note,
                ]
            )
        few = [model[r]["few"] for r in READERS]
        share = [f"{f['passed'] / f['cases']:.0%}" for f in few]
        result.rows.append(
            [
                f"  no tool, the {FEW} closest tools only ({few[2]['cases']})",
                f"plain {share[0]} · naive {share[1]}",
                share[2],
                "answered without a call (no ranking: grounding alone)",
            ]
        )
        result.rows.append(
            [
                "turns rescued (calls read from text)",
                f"plain 0 · naive {naive['rescued']}",
                f"{rung['rescued']} of {rung['cases']}",
                "",
            ]
        )
        result.rows.append(
            [
                "seconds per case",
                f"plain {plain['seconds_per_case']:.1f} · naive {naive['seconds_per_case']:.1f}",
                f"{rung['seconds_per_case']:.1f}",
                f"{rung['tokens_per_s'] or 0:.1f} tokens/s generated",
            ]
        )
        ahead = round(100 * (rung["accuracy"] - naive["accuracy"]), 1)
        # met when measured < limit: the naive reader 10 points or more behind Rung
        behind = Target("the naive reader's cases passed minus Rung's", -ahead, -9.95, "points")
        result.targets.append(behind)
        kept = rung["by_kind"].get("no tool", {"passed": 0, "cases": 1})
        restraint = round(100 * kept["passed"] / kept["cases"], 1)
        result.targets.append(
            Target("no-tool questions answered with a call", 100 - restraint, 10, "%")
        )
    if choice is not None:
        result.rows += [
            [
                f"right tool among the {choice['chosen']} chosen of {choice['tools']}",
                "100%",
                f"{choice['accuracy']:.1%}",
                f"{choice['cases']} labelled messages; baseline: offer all {choice['tools']}",
            ],
            [
                "prompt tokens of the tool definitions",
                f"{choice['tokens_all']}",
                f"{choice['tokens_chosen']:.0f}",
                f"{1 - choice['tokens_chosen'] / choice['tokens_all']:.0%} saved per request",
            ],
            ["choosing (median)", "0 ms", f"{choice['ms_per_choice']:.1f} ms", "embed + rank"],
        ]
        missing = round(100 * (1 - choice["accuracy"]), 1)
        result.targets.append(Target("right tool missing from the choice", missing, 10, "%"))
    result.data = {"model": model, "choice": choice}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases (a smoke run)")
    parser.add_argument("--part", choices=("model", "choice", "all"), default="all")
    parser.add_argument(
        "--readers",
        nargs="+",
        choices=READERS,
        default=READERS,
        help="the model part's readers (default all three; fewer: no comparison, no targets)",
    )
    args = parser.parse_args(argv)

    def run() -> Report:
        choice = measure_choice(args.quick) if args.part in ("choice", "all") else None
        wanted = args.part in ("model", "all")
        model = asyncio.run(measure_model(args.quick, args.readers)) if wanted else None
        return report(choice, model)

    return publish(run)


if __name__ == "__main__":
    sys.exit(main())
