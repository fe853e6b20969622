"""Test doubles for Rung's loop, public so plugin authors can test their own tools and tiers.

`ScriptedModel` is a `ChatModel` that replays scripted steps and records what it was sent;
`assert_complete()` fails when scripted steps were left unused.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from rung.agent.messages import (
    Message,
    ModelDone,
    ModelEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
    Usage,
)


@dataclass
class Step:
    """One scripted model step: text (streamed in ``chunks``), thinking, tool calls, or an
    exception to raise."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    thinking: str = ""
    chunks: list[str] | None = None
    raises: Exception | None = None
    usage: Usage = field(default_factory=lambda: Usage(prompt_tokens=10, completion_tokens=5))


def call(name: str, **arguments: Any) -> ToolCall:
    """A tool call for a script: ``call("add", a=1, b=2)``."""
    call.counter += 1  # type: ignore[attr-defined]
    return ToolCall(f"call_{call.counter}", name, arguments)  # type: ignore[attr-defined]


call.counter = 0  # type: ignore[attr-defined]


@dataclass
class Sent:
    messages: list[Message]
    tools: list[ToolSpec] | None


class ScriptedModel:
    """A `ChatModel` test double: replays `Step`s in order, records each request."""

    def __init__(self, *steps: Step | str, name: str = "scripted") -> None:
        self._steps = [Step(text=s) if isinstance(s, str) else s for s in steps]
        self._name = name
        self.sent: list[Sent] = []

    @property
    def name(self) -> str:
        return self._name

    def enqueue(self, *steps: Step | str) -> None:
        self._steps.extend(Step(text=s) if isinstance(s, str) else s for s in steps)

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None
    ) -> AsyncIterator[ModelEvent]:
        self.sent.append(Sent(copy.deepcopy(list(messages)), list(tools) if tools else None))
        if not self._steps:
            raise AssertionError(f"ScriptedModel: no step left for request {len(self.sent)}")
        step = self._steps.pop(0)
        if step.raises is not None:
            raise step.raises
        if step.thinking:
            yield ThinkingDelta(step.thinking)
        for chunk in step.chunks if step.chunks is not None else _split(step.text):
            yield TextDelta(chunk)
        message = Message(
            "assistant", step.text, tool_calls=list(step.tool_calls), thinking=step.thinking
        )
        yield ModelDone(message, copy.copy(step.usage))

    def assert_complete(self) -> None:
        if self._steps:
            raise AssertionError(f"ScriptedModel: {len(self._steps)} scripted step(s) unused")


def _split(text: str) -> list[str]:
    words = text.split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]] if text else []
