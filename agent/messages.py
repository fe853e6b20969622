"""Rung's own message and event types: what the loop, the model adapter and the UIs share.

Plain dataclasses (not pydantic) so that building and copying them costs next to nothing
per streamed token.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

from rung.tools.base import ToolSpec

__all__ = ["ToolSpec"]  # re-exported: the loop and the adapter speak of tools by their spec

Role = Literal["system", "user", "assistant", "tool"]
TOOL_ERROR = "error: "  # how a failed call's result starts, for the model (and phantom.py)


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for. ``error`` is set when its arguments were unusable."""

    id: str
    name: str
    arguments: dict[str, Any]
    error: str | None = None


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_name: str | None = None  # for role == "tool": which tool produced it
    tool_call_id: str | None = None
    thinking: str = ""  # shown to the user, never sent back to the model
    interrupted: bool = False  # the user stopped this reply part-way

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        calls = [ToolCall(**c) for c in data.get("tool_calls") or []]
        return cls(
            role=data["role"],
            content=data.get("content", ""),
            tool_calls=calls,
            tool_name=data.get("tool_name"),
            tool_call_id=data.get("tool_call_id"),
            thinking=data.get("thinking", ""),
            interrupted=bool(data.get("interrupted", False)),
        )


STREAMED = 8  # chunks: a reply streamed token by token (not buffered, as a tool call is)


@dataclass
class Usage:
    """Token counts and speed of one model step, or summed over a turn."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    generation_s: float = 0.0  # Ollama's eval_duration: time spent producing tokens
    total_s: float = 0.0  # wall time as Rung saw it
    output_chunks: int = 0  # streamed chunks that carried output, as Rung received them
    output_s: float = 0.0  # from the first such chunk to the last, on Rung's clock

    @property
    def tokens_per_s(self) -> float | None:
        tokens, seconds = self.generated()
        if seconds <= 0 or tokens == 0:
            return None
        return tokens / seconds

    def generated(self) -> tuple[int, float]:
        """The tokens generated and the seconds they took, as far as they can be told: the
        server's counts, checked against what Rung saw stream. A server that reports more
        tokens than it streamed (a cached prompt counted as generated), or less time than
        the stream took, is not believed on that point."""
        tokens = self.completion_tokens
        if self.output_chunks >= STREAMED and tokens > 2 * self.output_chunks:
            tokens = self.output_chunks  # each streamed chunk is one token
        return tokens, max(self.generation_s, self.output_s)

    def add(self, step: Usage) -> None:
        """Fold one step into a turn's total: the prompt grows, so keep the last prompt size."""
        self.prompt_tokens = step.prompt_tokens or self.prompt_tokens
        self.completion_tokens += step.completion_tokens
        if self.time_to_first_token_s is None:
            self.time_to_first_token_s = step.time_to_first_token_s
        self.generation_s += step.generation_s
        self.total_s += step.total_s
        self.output_chunks += step.output_chunks
        self.output_s += step.output_s

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tokens_per_s"] = self.tokens_per_s
        return data


# --- events a model stream yields -------------------------------------------------------


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ThinkingDelta:
    text: str


@dataclass(frozen=True)
class ModelDone:
    """The last event of a model step: the whole assistant message and its usage."""

    message: Message
    usage: Usage
    cut: bool = False  # the model stopped at the output cap (num_predict), mid-reply


ModelEvent = TextDelta | ThinkingDelta | ModelDone


# --- events the loop yields --------------------------------------------------------------


@dataclass(frozen=True)
class ToolCallStarted:
    call: ToolCall


@dataclass(frozen=True)
class ToolResult:
    call: ToolCall
    content: str
    is_error: bool = False
    untrusted: bool = False  # the tool's own words (its result, or its failure): data only
    refused: str = ""  # it did not run, by a rule or a gate: what would let it (for the user)


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not part of the reply (a limit hit, a trim)."""

    text: str


@dataclass(frozen=True)
class RecalledMemory:
    """One memory recalled into a turn: a fact, a document passage or a past conversation."""

    tag: str  # "m1": how the answer cites it
    kind: str  # "fact", "document" or "conversation"
    where: str  # the fact's id, the document's path › heading, or the conversation's title
    when: str  # YYYY-MM-DD: the fact noted, the file changed, the turn ended
    text: str
    id: str  # the fact or chunk id (`rung memory forget ID` removes it)
    why: str = ""  # why it was chosen: "meaning 0.52 + words 0.31" (not sent to the model)

    @property
    def origin(self) -> str:
        """Where it comes from, in a few words."""
        if self.kind == "fact":
            return f"fact about the user, noted {self.when}"
        if self.kind == "conversation":  # the weekday: "on Saturday" in the turn reads right
            return f"from the conversation {self.where!r} on {_weekday(self.when)}{self.when}"
        return f"from {self.where} (changed {self.when})"


@dataclass(frozen=True)
class Recalled:
    """The memories put into this turn's prompt (the assistant tier), before the reply."""

    memories: tuple[RecalledMemory, ...]

    @property
    def summary(self) -> str:
        """ "recalled 1 fact, 2 passages"."""
        facts = sum(1 for m in self.memories if m.kind == "fact")
        passages = len(self.memories) - facts
        parts = [
            f"{n} {word}{'' if n == 1 else 's'}"
            for n, word in ((facts, "fact"), (passages, "passage"))
            if n
        ]
        return "recalled " + ", ".join(parts)


@dataclass(frozen=True)
class FinalAnswer:
    """The turn is over: its answer, every message it added to the history, its usage."""

    message: Message
    new_messages: list[Message]
    usage: Usage


LoopEvent = (
    TextDelta | ThinkingDelta | ToolCallStarted | ToolResult | Notice | Recalled | FinalAnswer
)


@dataclass(frozen=True)
class TurnBegun:
    """A one-shot turn is set up (`agent/turn.py`): the model answered its check, the memory
    and the tools are up. Comes before the turn's own events."""

    session_id: str | None  # where the turn is stored; None when it is not
    tier: str
    model: str
    servers: dict[str, str] = field(default_factory=dict)  # tool name -> its server


TurnEvent = LoopEvent | TurnBegun


def dumps_arguments(arguments: dict[str, Any]) -> str:
    """Arguments as compact, stable JSON (for display and for the repeated-call guard)."""
    return json.dumps(arguments, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _weekday(day: str) -> str:
    """ "Wednesday " for "2025-05-14" ("" for anything else)."""
    try:
        return date.fromisoformat(day).strftime("%A ")
    except ValueError:
        return ""
