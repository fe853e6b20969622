"""Tool calls written as text: small local models often write the call instead of making it.

A real Ollama returns such a reply as plain content: a bare JSON object
(`{"name": "now", "arguments": {}}`), one in a code fence, `<tool_call>…</tool_call>` tags,
or a list of several. `rescue(text, specs)` recognises these forms when the call *is* the
reply (a sentence of lead-in at most), only for tools that exist, and only with arguments
that fit the tool's JSON schema (as `rung.tools.arguments.repair` fixes them where that is
safe); then the loop runs them as real calls. A call-shaped reply
that is wrong (an unknown name, bad arguments) gets one short correction instead: what was
wrong and the expected shape, with the closest real names for an unknown one; a bare real
name in reply to that is the tool the model meant (`renamed`). A made-up name on a call
whose argument names are one real tool's (two or more, its required ones among them) is
that tool's call. Nothing is run unless every call in the reply is valid. Text that only
talks about a tool stays text.

`not_an_answer` tells a final reply that says nothing to the user (a call again, a JSON
fragment, a bare tool name) from one that does.

`HoldBack` keeps streamed text that starts like a call off the screen until the step ends,
so a rescued call is not shown as the answer first.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rung.agent.messages import ToolCall, ToolSpec
from rung.tools.arguments import repair
from rung.tools.base import named_arguments

RESCUED = "rescued_"  # the id prefix of calls read from text
OWNED = 2  # argument names a made-up tool's call shares with one real tool: that tool meant
MAX_PROSE = 120  # characters of lead-in text allowed around a call written as text
NAME_KEYS = ("name", "tool", "tool_name", "function")
ARGUMENT_KEYS = ("arguments", "parameters", "args", "input", "tool_input")
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_NEXT = re.compile(r"[\s,]*(?=[{\[])")  # what may part two calls written one after another
_FENCED = re.compile(r"```[ \t]*(?:json|tool_call|JSON)?[ \t]*\n(.*?)\n?```", re.DOTALL)


@dataclass(frozen=True)
class Rescue:
    """What a text reply turned out to hold: calls to run, or a correction for the model."""

    calls: list[ToolCall]
    prose: str  # the reply's text besides the calls
    correction: str = ""  # set when the reply was call-shaped but wrong; then calls == []
    # the arguments of a lone call to a tool that does not exist: if the model answers the
    # correction with a real tool's name, that is the tool it meant (`renamed`)
    unknown: dict[str, Any] | None = None
    meant: tuple[str, ...] = ()  # "remind_me → create_reminder": read by its arguments


def rescue(text: str, specs: Sequence[ToolSpec], *, step: int = 0) -> Rescue | None:
    """The tool calls written in `text`, or None when it is an ordinary answer."""
    found = _candidates(text)
    if found is None:
        return None
    objects, prose = found
    by_name = {s.name: s for s in specs}
    calls: list[ToolCall] = []
    problems: list[str] = []
    unknown = None
    meant: list[str] = []
    for n, obj in enumerate(objects):
        name, arguments = _shape(obj)
        if name is None:
            return None  # JSON, but not a call: an answer that happens to be JSON
        spec = by_name.get(name) or _owner(arguments, specs)
        if spec is not None and spec.name != name:
            meant.append(f"{name} → {spec.name}")
        if spec is None:
            close = difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.4)
            hint = f" The closest are: {', '.join(close)}." if close else ""
            if close:  # the shape of the closest, as a template a small model follows
                hint += f" To call {close[0]}: {expected_shape(by_name[close[0]])}."
            problems.append(f"there is no tool named {name!r}.{hint}")
            unknown = arguments if isinstance(arguments, dict) and len(objects) == 1 else None
            continue
        if not isinstance(arguments, dict):
            problems.append(f"the arguments for {name} must be a JSON object.")
            continue
        repaired = repair(spec, arguments)
        if not repaired.ok:
            said = "; ".join(repaired.problems)
            problems.append(
                f"bad arguments for {spec.name}: {said}. Expected: {expected_shape(spec)}."
            )
            continue
        calls.append(ToolCall(f"{RESCUED}{step}_{n}", spec.name, repaired.arguments))
    if problems:
        return Rescue([], prose, correction_message(problems), unknown)
    return Rescue(calls, prose, meant=tuple(meant))


def _owner(arguments: Any, specs: Sequence[ToolSpec]) -> ToolSpec | None:
    """The one tool these arguments belong to, for a call to a made-up name: a small model
    often names the call after the request (`remind_me`) while it copies a real tool's
    argument names. At least OWNED of them, every one defined by that tool, all it requires
    among them, and no other tool the same; else None (`a`, `b`: add or multiply?)."""
    if not isinstance(arguments, dict) or len(arguments) < OWNED:
        return None
    keys = set(arguments)
    owners = [
        spec
        for spec in specs
        if (names := named_arguments(spec.parameters)) and keys <= names[0] and names[1] <= keys
    ]
    return owners[0] if len(owners) == 1 else None


def renamed(
    text: str, arguments: dict[str, Any] | None, specs: Sequence[ToolSpec], *, step: int = 0
) -> Rescue | None:
    """A reply that is only a real tool's name, to the correction of a call to one that does
    not exist (with `arguments`): the model naming the tool it meant, among the closest the
    correction listed — that call again, to the tool named (as `rescue` reads it)."""
    name = _bare_word(text)
    if arguments is None or name not in {spec.name for spec in specs}:
        return None
    return rescue(json.dumps({"name": name, "arguments": arguments}), specs, step=step)


def not_an_answer(text: str, specs: Sequence[ToolSpec]) -> bool:
    """A final reply that says nothing to the user: empty, a tool call again (written as
    text), a fragment of JSON or of a call, or a tool's bare name. (JSON that is not a call
    can be an answer: the user may have asked for it.)"""
    stripped = text.strip()
    if not stripped or stripped.startswith("<tool_call>"):
        return True
    found = _candidates(stripped)
    if found is not None and any(_shape(value)[0] is not None for value in found[0]):
        return True
    if found is None and stripped[0] in "{[" and _loads(stripped) is None:
        return True  # broken or cut off
    word = _bare_word(stripped)
    names = {spec.name for spec in specs}
    return (
        word in names or re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+", word) is not None
    )


def _bare_word(text: str) -> str:
    """`text` without the quotes, backticks and full stop a one-word reply may carry."""
    return text.strip().strip("`'\".")


CORRECTION_LEAD = "Your tool call was not run:"


def correction_message(problems: Sequence[str]) -> str:
    listed = " ".join(problems)
    return (
        f"{CORRECTION_LEAD} {listed} To call a tool, reply with only the call; "
        "otherwise answer in plain words."
    )


def expected_shape(spec: ToolSpec) -> str:
    """`{"name": "add", "arguments": {"a": <number>, "b": <number>}}`, required ones first."""
    properties = spec.parameters.get("properties", {}) or {}
    required = set(spec.parameters.get("required", []) or [])
    ordered = sorted(properties, key=lambda p: (p not in required, p))
    parts = []
    for prop in ordered:
        kind = properties[prop].get("type", "value") if isinstance(properties[prop], dict) else ""
        optional = "" if prop in required else " (optional)"
        parts.append(f'"{prop}": <{kind}{optional}>')
    return f'{{"name": "{spec.name}", "arguments": {{{", ".join(parts)}}}}}'


def _candidates(text: str) -> tuple[list[Any], str] | None:
    """The JSON values a reply holds as calls (tagged, fenced or bare) and the prose left."""
    stripped = text.strip()
    if not stripped:
        return None
    for pattern in (_TAGGED, _FENCED):
        blocks = pattern.findall(stripped)
        if blocks:
            prose = pattern.sub(" ", stripped).strip()
            values = [_loads(b) for b in blocks]
            if any(v is None for v in values) or len(prose) > MAX_PROSE:
                return None
            return _flatten(values), prose
    start = min((i for i in (stripped.find("{"), stripped.find("[")) if i >= 0), default=-1)
    if start < 0 or start > MAX_PROSE:
        return None
    decoder = json.JSONDecoder()
    try:
        value, end = decoder.raw_decode(stripped, start)
    except ValueError:
        return None
    values = [value]
    while (following := _NEXT.match(stripped, end)) and following.end() < len(stripped):
        try:  # more calls, one a line (JSON Lines), as small models write several
            value, end = decoder.raw_decode(stripped, following.end())
        except ValueError:
            break  # not JSON, or one cut off at the token cap: left as text
        values.append(value)
    prose = (stripped[:start] + " " + stripped[end:]).strip()
    if len(prose) > MAX_PROSE:
        return None
    calls = _flatten(values)
    unique = [c for n, c in enumerate(calls) if c not in calls[:n]]  # a call written twice
    return unique, prose


def _loads(block: str) -> Any:
    try:
        return json.loads(block)
    except ValueError:
        return None


def _flatten(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return flat


def _shape(obj: Any) -> tuple[str | None, Any]:
    """(name, arguments) of a call-shaped object; (None, None) for anything else."""
    if not isinstance(obj, dict):
        return None, None
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {...}}
        return _shape(obj["function"])
    name = next((obj[k] for k in NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None:
        return None, None
    key = next((k for k in ARGUMENT_KEYS if k in obj), None)
    if key is None:
        # {"name": "now"} alone is a call without arguments only if nothing else is there
        return (name, {}) if set(obj) <= {*NAME_KEYS, "type"} else (None, None)
    arguments = obj[key]
    if isinstance(arguments, str):  # arguments as a JSON string, the OpenAI way
        parsed = _loads(arguments)
        arguments = parsed if parsed is not None else arguments
    return name, arguments


class HoldBack:
    """Streams text through, except a reply that starts like a call written as text: that
    is held until the step ends (`release()`), or until its start rules a call out.
    ``whole``: hold all of it (after a correction, a reply may parrot it)."""

    STARTS = ("{", "[", "<tool_call>", "```json", "```tool_call", "```\n{", "```\n[")

    def __init__(self, *, whole: bool = False) -> None:
        self.held: list[str] = []
        self.holding: bool | None = True if whole else None  # None: not decided yet

    def feed(self, text: str) -> str:
        """The text to show now ('' while holding)."""
        if self.holding is False:
            return text
        self.held.append(text)
        if self.holding:
            return ""
        start = "".join(self.held).lstrip()
        if not start:
            return ""
        if any(s.startswith(start) for s in self.STARTS):
            return ""  # too short to tell
        self.holding = any(start.startswith(s) for s in self.STARTS)
        return "" if self.holding else self.release()

    def release(self) -> str:
        text, self.held = "".join(self.held), []
        return text
