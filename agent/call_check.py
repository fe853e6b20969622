"""Each tool call of a model step checked against its tool's schema before it runs
(`rung.tools.arguments.repair`), whether the model made it or wrote it as text: what can be
fixed safely is fixed (and said), and a call that is still wrong is not run — its result
tells the model what was wrong and the shape expected, once for that call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from rung.agent.messages import TOOL_ERROR, ToolCall, ToolSpec
from rung.agent.tool_text import expected_shape
from rung.tools.arguments import repair


def check_calls(
    calls: Sequence[ToolCall], specs: Sequence[ToolSpec]
) -> tuple[list[ToolCall], list[str]]:
    """The calls as they will run (fixed, or marked with an error), and each fix in words."""
    by_name = {spec.name: spec for spec in specs}
    checked: list[ToolCall] = []
    fixes: list[str] = []
    for call in calls:
        spec = by_name.get(call.name)
        if call.error is not None or spec is None:  # an unknown tool: the registry says so
            checked.append(call)
            continue
        repaired = repair(spec, call.arguments)
        if not repaired.ok:
            said = "; ".join(repaired.problems)
            error = f"{TOOL_ERROR}not run: {said}. Expected: {expected_shape(spec)}"
            checked.append(replace(call, error=error))
            continue
        if repaired.fixes:
            fixes.append(f"{call.name}: {', '.join(repaired.fixes)}")
        checked.append(replace(call, arguments=repaired.arguments))
    return checked, fixes
