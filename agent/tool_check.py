"""`rung doctor --model`: can this model call tools? A fixed set of cases, run for real.

Each case is one user message and the calls a good answer makes (or none): one call,
choosing among look-alike tools, two calls in one turn, and questions that need no tool.
The model sees the case tools among distractors, as many tools as a real turn offers, at
the configured `num_ctx`, through the real loop (with the lenient reading of calls written
as text, unless asked not to). The tools are local stand-ins that return fixed answers; a
case passes when the first step makes exactly the expected calls with the key arguments.
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

from rung.agent.loop import run_turn
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
from rung.agent.tool_text import RESCUED
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec

WARN_BELOW = 0.7  # the assistant tier warns about a model that scored less
SYSTEM = "You are a helpful assistant. Use a tool when one fits the request."


def _spec(name: str, description: str, **properties: str) -> ToolSpec:
    """A tool with required string/number properties: `city="string"`."""
    return ToolSpec(
        name,
        description,
        {
            "type": "object",
            "properties": {p: {"type": t} for p, t in properties.items()},
            "required": list(properties),
        },
    )


TOOLS = [
    _spec("get_weather", "The current weather in a city.", city="string"),
    _spec("get_forecast", "The weather forecast for a city for the coming days.", city="string"),
    _spec("add_numbers", "Add two numbers exactly.", a="number", b="number"),
    _spec("multiply_numbers", "Multiply two numbers exactly.", a="number", b="number"),
    _spec("send_email", "Send an email.", to="string", subject="string", body="string"),
    _spec("search_email", "Search the user's mailbox for messages.", query="string"),
    _spec("create_event", "Put an event in the calendar.", title="string", date="string"),
    _spec("list_events", "List the calendar's events on a date.", date="string"),
    _spec("convert_currency", "Convert money.", amount="number", source="string", target="string"),
    _spec("translate_text", "Translate text into a language.", text="string", language="string"),
    _spec("get_time", "The current time in a time zone.", timezone="string"),
    _spec("set_timer", "Start a countdown timer.", minutes="number"),
]
DISTRACTORS = [
    _spec(f"{area}_{verb}", f"{verb.capitalize()} {area.replace('_', ' ')} items.", id="string")
    for area in ("inventory", "git_repo", "printer_queue", "smart_plug", "podcast", "recipe_box")
    for verb in ("list", "archive", "restore", "export")
]


@dataclass(frozen=True)
class Expected:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)  # values that must be there


@dataclass(frozen=True)
class Case:
    kind: str  # "one call", "choose", "two calls", "no tool"
    message: str
    calls: tuple[Expected, ...] = ()


def _one(name: str, **arguments: Any) -> Expected:
    return Expected(name, arguments)


CASES: tuple[Case, ...] = (
    Case(
        "one call",
        "What's the weather like in Lyon right now?",
        (_one("get_weather", city="Lyon"),),
    ),
    Case("one call", "Add 1234 and 5678 for me.", (_one("add_numbers", a=1234, b=5678),)),
    Case("one call", "What time is it in Tokyo?", (_one("get_time", timezone="Tokyo"),)),
    Case("one call", "Start a 10 minute timer.", (_one("set_timer", minutes=10),)),
    Case(
        "one call",
        "Translate 'good morning' into Spanish.",
        (_one("translate_text", language="Spanish"),),
    ),
    Case(
        "one call", "How much is 250 euros in US dollars?", (_one("convert_currency", amount=250),)
    ),
    Case("one call", "Find the emails from Ana about the invoice.", (_one("search_email"),)),
    Case("one call", "Multiply 37 by 91.", (_one("multiply_numbers", a=37, b=91),)),
    Case(
        "choose",
        "Will it rain in Porto over the next three days?",
        (_one("get_forecast", city="Porto"),),
    ),
    Case("choose", "Is it sunny in Oslo at the moment?", (_one("get_weather", city="Oslo"),)),
    Case(
        "choose", "What's on my calendar on 2026-12-03?", (_one("list_events", date="2026-12-03"),)
    ),
    Case(
        "choose",
        "Put 'Dentist' in my calendar on 2026-12-04.",
        (_one("create_event", title="Dentist", date="2026-12-04"),),
    ),
    Case(
        "choose",
        "Email bob@example.com with subject 'Lunch' and say I'm running late.",
        (_one("send_email", to="bob@example.com"),),
    ),
    Case("choose", "Did Carla ever email me about the lease?", (_one("search_email"),)),
    Case("choose", "What is 19 times 23?", (_one("multiply_numbers", a=19, b=23),)),
    Case("choose", "What is 19 plus 23?", (_one("add_numbers", a=19, b=23),)),
    Case(
        "two calls",
        "What's the weather right now in Paris and in Rome?",
        (_one("get_weather", city="Paris"), _one("get_weather", city="Rome")),
    ),
    Case(
        "two calls",
        "What time is it in London and in New York?",
        (_one("get_time", timezone="London"), _one("get_time", timezone="New York")),
    ),
    Case(
        "two calls",
        "Add 2 and 3, and also multiply 4 by 5.",
        (_one("add_numbers", a=2, b=3), _one("multiply_numbers", a=4, b=5)),
    ),
    Case(
        "two calls",
        "Set a 5 minute timer and tell me the weather in Berlin now.",
        (_one("set_timer", minutes=5), _one("get_weather", city="Berlin")),
    ),
    Case("no tool", "Say hello in French."),
    Case("no tool", "What is the capital of Italy?"),
    Case("no tool", "Write a haiku about autumn."),
    Case("no tool", "Thanks, that's all for now!"),
)


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


def toolset(count: int) -> ToolRegistry:
    """The case tools among distractors, `count` in all (at least the case tools)."""
    specs = [*TOOLS, *DISTRACTORS][: max(count, len(TOOLS))]
    registry = ToolRegistry()
    for spec in sorted(specs, key=lambda s: s.name):  # cases tools are not all first
        registry.add(FunctionTool(spec, _answer(spec.name)))
    return registry


def _answer(name: str) -> Callable[..., str]:
    def answer(**arguments: Any) -> str:
        return f"{name} result for {json.dumps(arguments, sort_keys=True)}: done."

    return answer


async def run_case(
    model: ChatModel, case: Case, tools: ToolRegistry, *, lenient: bool = True
) -> CaseResult:
    """One case through the real loop. Only the first step's calls are graded, so the case
    ends once they are made: the answer after their results is not waited for (on a small
    machine that answer is most of a case's time)."""
    metered = _Metered(model)
    made: list[ToolCall] = []
    started = time.perf_counter()
    error = ""
    messages = [Message("system", SYSTEM), Message("user", case.message)]
    turn = run_turn(metered, messages, tools, max_steps=2, lenient=lenient)
    try:
        async with aclosing(turn):  # closed at once when the case ends early
            async for event in turn:
                if isinstance(event, ToolCallStarted):
                    made.append(event.call)
                elif made or isinstance(event, FinalAnswer):
                    break  # the step's calls are all started (or it answered without any)
    except Exception as exc:  # a model error fails the case, the check goes on
        error = str(exc)
    seconds = time.perf_counter() - started
    calls = [{"name": c.name, "arguments": c.arguments} for c in made]
    rescued = bool(made) and all(c.id.startswith(RESCUED) for c in made)
    passed = not error and _matches(calls, case.calls)
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
    if isinstance(want, int | float) and not isinstance(want, bool):
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
    cases: Sequence[Case] = CASES,
    progress: Callable[[CaseResult], None] | None = None,
) -> CheckReport:
    registry = toolset(tools)
    report = CheckReport(model.name, num_ctx, len(registry), lenient, [])
    for case in cases:
        result = await run_case(model, case, registry, lenient=lenient)
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
