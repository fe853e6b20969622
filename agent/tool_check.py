"""`rung doctor --model`: can this model call tools? A fixed set of cases, run for real.

Each case is one user message and the calls a good answer makes (or none): one call,
choosing among look-alike tools, two calls in one turn, and questions that need no tool
(`tool_cases.DOCTOR`; `tool_cases.ALL`, the whole labelled set, is the benchmark's).
The model sees the case tools among distractors, as many tools as a real turn offers, at
the configured `num_ctx`, through the real loop (with the lenient reading of calls written
as text, unless asked not to). The tools are local stand-ins that return fixed answers; a
case passes when the first step makes exactly the expected calls with the key arguments
(two calls may also come one after the other; for a multi-step case, the step after the
first results makes its own).
Results are kept per model so the assistant tier can warn about a weak one.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rung.agent.loop import CORRECTIONS, Ranker, run_turn
from rung.agent.messages import (
    FinalAnswer,
    Message,
    ModelDone,
    ModelEvent,
    ToolCall,
    ToolCallStarted,
    Usage,
)
from rung.agent.model import ChatModel
from rung.agent.tool_cases import ANSWERS, DISTRACTORS, DOCTOR, TOOLS, Case, Default, Expected
from rung.agent.tool_text import RESCUED
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec

WARN_BELOW = 0.7  # the assistant tier warns about a model that scored less
SYSTEM = "You are a helpful assistant. Use a tool when one fits the request."


CASES = DOCTOR  # the short set; tool_cases.ALL is the whole one


@dataclass
class CaseResult:
    case: Case
    passed: bool
    refused: bool  # a call was wanted and none was made
    calls: list[dict[str, Any]]
    rescued: bool  # the calls were written as text and read by Rung (`tool_text`)
    seconds: float
    usage: Usage
    error: str = ""


@dataclass
class CheckReport:
    model: str
    num_ctx: int
    tools: int
    lenient: bool
    results: list[CaseResult]
    when: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def accuracy(self) -> float:
        return sum(r.passed for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def rescued(self) -> int:
        """Cases whose calls the model wrote as text (run by the lenient reading)."""
        return sum(r.rescued for r in self.results)

    @property
    def refusals(self) -> int:
        return sum(r.refused for r in self.results)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (passed, cases)."""
        table: dict[str, tuple[int, int]] = {}
        for r in self.results:
            passed, total = table.get(r.case.kind, (0, 0))
            table[r.case.kind] = (passed + r.passed, total + 1)
        return table

    @property
    def seconds_per_case(self) -> float:
        return sum(r.seconds for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def tokens_per_s(self) -> float | None:
        """Generated tokens a second over all cases (`Usage.generated`: checked against
        what Rung saw stream)."""
        counted = [r.usage.generated() for r in self.results]
        tokens, seconds = sum(t for t, _ in counted), sum(s for _, s in counted)
        return tokens / seconds if seconds > 0 and tokens else None

    def summary(self) -> dict[str, Any]:
        """What is kept per model (and what `--json` prints)."""
        return {
            "model": self.model,
            "when": self.when,
            "num_ctx": self.num_ctx,
            "tools": self.tools,
            "lenient": self.lenient,
            "cases": len(self.results),
            "accuracy": round(self.accuracy, 3),
            "refusals": self.refusals,
            "rescued": self.rescued,
            "by_kind": {k: {"passed": p, "cases": n} for k, (p, n) in self.by_kind().items()},
            "seconds_per_case": round(self.seconds_per_case, 2),
            "tokens_per_s": round(self.tokens_per_s, 1) if self.tokens_per_s else None,
            "failures": [
                {"message": r.case.message, "expected": [asdict(e) for e in r.case.calls],
                 "made": r.calls, "error": r.error}
                for r in self.results
                if not r.passed
            ],
        }  # fmt: skip


def toolset(count: int, tools: Sequence[ToolSpec] = TOOLS) -> ToolRegistry:
    """The case tools among distractors, `count` in all (at least the case tools)."""
    specs = [*tools, *DISTRACTORS][: max(count, len(tools))]
    registry = ToolRegistry()
    for spec in sorted(specs, key=lambda s: s.name):  # cases tools are not all first
        registry.add(FunctionTool(spec, _answer(spec.name)))
    return registry


def _answer(name: str) -> Callable[..., str]:
    def answer(**arguments: Any) -> str:
        if name in ANSWERS:  # what a next step needs
            who = str(arguments.get("name", ""))
            return ANSWERS[name].format(name=who, name_lower=who.lower())
        return f"{name} result for {json.dumps(arguments, sort_keys=True)}: done."

    return answer


async def run_case(
    model: ChatModel,
    case: Case,
    tools: ToolRegistry,
    *,
    lenient: bool = True,
    ranker: Ranker | None = None,
) -> CaseResult:
    """One case through the real loop. Only the graded steps' calls count (the first, and
    for a multi-step case the one after its results), so the case ends once they are made:
    the answer after them is not waited for (on a small machine that answer is most of a
    case's time)."""
    metered = _Metered(model)
    steps: list[list[ToolCall]] = []
    # two calls may come in one step or one after the other; a multi-step case takes two
    wanted = 2 if case.then or len(case.calls) > 1 else 1
    started = time.perf_counter()
    error = ""
    messages = [Message("system", SYSTEM), Message("user", case.message)]
    steps_at_most = wanted + CORRECTIONS  # a correction takes a step of the loop's
    turn = run_turn(
        metered, messages, tools, max_steps=steps_at_most, lenient=lenient, ranker=ranker
    )
    try:
        async with aclosing(turn):  # closed at once when the case ends early
            starting = False  # the last event started a call
            async for event in turn:
                if isinstance(event, ToolCallStarted):
                    if not starting:
                        steps.append([])
                    steps[-1].append(event.call)
                    starting = True
                    continue
                made_all = starting and not case.then and len(steps[-1]) >= len(case.calls)
                if (starting and len(steps) == wanted) or made_all:
                    break  # the graded steps' calls are all started
                if isinstance(event, FinalAnswer):
                    break
                starting = False
    except Exception as exc:  # a model error fails the case, the check goes on
        error = str(exc)
    seconds = time.perf_counter() - started
    made = [c for step in steps for c in step]
    calls = [{"name": c.name, "arguments": c.arguments} for c in made]
    graded = [[{"name": c.name, "arguments": c.arguments} for c in step] for step in steps]
    graded += [[], []]  # steps not taken
    rescued = bool(made) and all(c.id.startswith(RESCUED) for c in made)
    if case.then:
        passed = _matches(graded[0], case.calls) and _matches(graded[1], case.then)
    else:  # in the first step, or (two calls) the first two
        passed = _matches(graded[0], case.calls) or _matches(graded[0] + graded[1], case.calls)
    passed = passed and not error
    refused = bool(case.calls) and not made
    return CaseResult(case, passed, refused, calls, rescued, seconds, metered.usage, error)


class _Metered:
    """A model whose steps' usage is added up as they stream."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.usage = Usage()

    @property
    def name(self) -> str:
        return self.model.name

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None
    ) -> AsyncIterator[ModelEvent]:
        async for event in self.model.stream(messages, tools):
            if isinstance(event, ModelDone):
                self.usage.add(event.usage)
            yield event


def _matches(made: Sequence[dict[str, Any]], expected: Sequence[Expected]) -> bool:
    if len(made) != len(expected):
        return False
    left = list(made)
    for want in expected:
        hit = next((m for m in left if _same_call(m, want)), None)
        if hit is None:
            return False
        left.remove(hit)
    return True


def _same_call(made: dict[str, Any], want: Expected) -> bool:
    if made["name"] != want.name:
        return False
    arguments = made["arguments"]
    return all(_same_value(arguments.get(k), v) for k, v in want.arguments.items())


def _same_value(got: Any, want: Any) -> bool:
    if isinstance(want, Default):  # left out, or the tool's own default
        return got is None or (want.value is not None and _same_value(got, want.value))
    if isinstance(want, bool):
        return got is want
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_same_value(got.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and all(any(_same_value(g, w) for g in got) for w in want)
    if isinstance(want, int | float):
        try:
            return float(got) == float(want)
        except (TypeError, ValueError):
            return False
    return _words(str(want)) <= _words(str(got))


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


async def run_check(
    model: ChatModel,
    *,
    num_ctx: int,
    tools: int,
    lenient: bool = True,
    ranker: Ranker | None = None,
    cases: Sequence[Case] = CASES,
    catalog: Sequence[ToolSpec] = TOOLS,
    progress: Callable[[CaseResult], None] | None = None,
) -> CheckReport:
    registry = toolset(tools, catalog)
    report = CheckReport(model.name, num_ctx, len(registry), lenient, [])
    for case in cases:
        result = await run_case(model, case, registry, lenient=lenient, ranker=ranker)
        report.results.append(result)
        if progress is not None:
            progress(result)
    return report


# --- results kept per model ---------------------------------------------------------------


def results_file(state_dir: Path, model: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", model)
    return state_dir / "doctor" / f"{safe}.json"


def save(state_dir: Path, report: CheckReport) -> Path:
    path = results_file(state_dir, report.model)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(report.summary(), indent=2, ensure_ascii=False))
    temporary.replace(path)
    return path


def load(state_dir: Path, model: str) -> dict[str, Any] | None:
    try:
        data = json.loads(results_file(state_dir, model).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def weak_model_warning(state_dir: Path, model: str) -> str | None:
    """One line for the assistant tier when `model` scored below WARN_BELOW, else None."""
    kept = load(state_dir, model)
    if kept is None or not isinstance(kept.get("accuracy"), int | float):
        return None
    if kept["accuracy"] >= WARN_BELOW:
        return None
    return (
        f"{model} passed {kept['accuracy']:.0%} of rung doctor's tool-calling cases "
        f"({kept.get('when', '?')[:10]}); it may miss or garble tool calls. "
        "A larger model, or `rung doctor --model` after a change, may help."
    )
