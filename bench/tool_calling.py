"""Small models and tools: lenient tool calls on and off, and tool choice among 100 tools.

Part 1, `model`: the 24 cases of `rung doctor --model` (tool_check.CASES) on a real small
model, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), served by llama.cpp behind the Ollama protocol
(tests/real: the same stand-in the real-model tests use; like a real Ollama it returns a
call only from behind the template's <tool_call> tag, anything else as plain content). The
cases run twice in the same run: with Rung's lenient reading of calls written as text off
(`--strict`: what a plain Ollama client gets) and on (the default). Reported: accuracy of
each, and the share of turns rescued (their calls came from text).

Part 2, `choice`: bench/data/tools100.json, 100 tools of a home assistant (with
confusable neighbours) and 188 labelled messages. For each message the ToolChooser (the
real embedding model) picks 16 tools; reported: how often the right tool is among them,
the milliseconds per choice, and the prompt tokens of the tool definitions sent (estimated
with Rung's estimator) against offering all 100, the baseline measured in the same run.

    python -m bench.tool_calling [--quick] [--part model|choice|all]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import Report, Target, median, publish
from rung.agent.context import CHARS_PER_TOKEN
from rung.agent.tool_check import CASES, run_check
from rung.agent.tool_choice import ToolChooser
from rung.memory.embedder import Embedder
from rung.tools.base import ToolSpec

DATA = Path(__file__).resolve().parent / "data" / "tools100.json"
CHOOSE = 16
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


async def measure_model(quick: bool) -> dict[str, Any]:
    from rung.agent.ollama_model import OllamaChatModel
    from tests.real.llama_ollama import LlamaOllamaServer
    from tests.real.models import ensure_all

    models = ensure_all()
    cases = CASES[::3] if quick else CASES
    results: dict[str, Any] = {}
    with LlamaOllamaServer({MODEL: models[MODEL]}, max_predict=256) as server:
        for lenient in (False, True):
            model = OllamaChatModel(MODEL, host=server.url, num_ctx=NUM_CTX, temperature=0.0)
            try:
                report = await run_check(
                    model, num_ctx=NUM_CTX, tools=CHOOSE, lenient=lenient, cases=cases
                )
            finally:
                await model.aclose()
            results["on" if lenient else "off"] = report.summary()
    return results


def report(choice: dict[str, Any] | None, model: dict[str, Any] | None) -> Report:
    result = Report(
        "tool_calling",
        "Small models and tools (this machine)",
        ["measure", "baseline", "Rung", "note"],
        text_columns=(0, 3),
    )
    if model is not None:
        off, on = model["off"], model["on"]
        result.rows += [
            [
                f"{MODEL}: tool-calling cases passed",
                f"{off['accuracy']:.0%}",
                f"{on['accuracy']:.0%}",
                f"{on['cases']} cases, {on['tools']} tools, num_ctx {NUM_CTX}; baseline: "
                "calls written as text not read (a plain Ollama client)",
            ],
            [
                "turns rescued (calls read from text)",
                "0",
                f"{on['rescued']} of {on['cases']} ({on['rescued'] / on['cases']:.0%})",
                "",
            ],
            [
                "seconds per case (a rescued call runs, then the model answers)",
                f"{off['seconds_per_case']:.1f}",
                f"{on['seconds_per_case']:.1f}",
                f"{on['tokens_per_s'] or 0:.1f} tokens/s generated",
            ],
        ]
        failed_on = round(100 * (1 - on["accuracy"]), 1)
        failed_off = round(100 * (1 - off["accuracy"]), 1)
        result.targets.append(
            Target("cases failed, lenient calls on (vs off)", failed_on, failed_off, "%")
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
    args = parser.parse_args(argv)

    def run() -> Report:
        choice = measure_choice(args.quick) if args.part in ("choice", "all") else None
        model = asyncio.run(measure_model(args.quick)) if args.part in ("model", "all") else None
        return report(choice, model)

    return publish(run)


if __name__ == "__main__":
    sys.exit(main())
