"""A turn's events on the wire: one JSON object per line (NDJSON), each with its `type`.

The daemon encodes the engine's own events (`rung.agent.messages`) and its two of its own —
an approval to ask for and an error that ended the turn — and the client decodes them back
into the same objects, so a front end shows a turn the same way wherever it ran."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from rung.agent.messages import (
    FinalAnswer,
    Message,
    Notice,
    Recalled,
    RecalledMemory,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolCallStarted,
    ToolResult,
    TurnBegun,
    TurnEvent,
    Usage,
)
from rung.config.errors import ModelNotFound, RungError
from rung.tools.approvals import ApprovalRequest

NDJSON = "application/x-ndjson"  # the media type of a turn's events


@dataclass(frozen=True)
class ApprovalAsked:
    """A call waits for the client's answer: POST it to /v1/approvals/{id} within
    `timeout_s`, or the call is denied."""

    id: str
    request: ApprovalRequest
    timeout_s: float


@dataclass(frozen=True)
class TurnFailed:
    """The turn ended with an error; what the client shows, as it would have locally."""

    message: str
    hint: str = ""
    exit_code: int = 1
    model: str = ""  # set when the model is not pulled: the client may offer to pull it

    @classmethod
    def of(cls, error: RungError) -> TurnFailed:
        model = error.model if isinstance(error, ModelNotFound) else ""
        return cls(error.message, error.hint, error.exit_code, model)

    def error(self) -> RungError:
        """The error to raise where the turn was asked for."""
        if self.model:
            return ModelNotFound(self.message, model=self.model, hint=self.hint)
        return RemoteError(self)


WireEvent = TurnEvent | ApprovalAsked | TurnFailed


class RemoteError(RungError):
    """An error the daemon reported for a turn, with its message, hint and exit code."""

    def __init__(self, failed: TurnFailed) -> None:
        super().__init__(failed.message, hint=failed.hint)
        self.exit_code = failed.exit_code


def encode(event: WireEvent) -> bytes:
    """One line of NDJSON."""
    return json.dumps(_fields(event), ensure_ascii=False).encode() + b"\n"


def _fields(event: WireEvent) -> dict[str, Any]:
    if isinstance(event, TextDelta):
        return {"type": "text", "text": event.text}
    if isinstance(event, ThinkingDelta):
        return {"type": "thinking", "text": event.text}
    if isinstance(event, ToolCallStarted):
        return {"type": "tool_call", "call": asdict(event.call)}
    if isinstance(event, ToolResult):
        return {"type": "tool_result", **asdict(event)}
    if isinstance(event, Notice):
        return {"type": "notice", "text": event.text}
    if isinstance(event, Recalled):
        return {"type": "recalled", "memories": [asdict(m) for m in event.memories]}
    if isinstance(event, FinalAnswer):
        return {
            "type": "final",
            "message": event.message.to_dict(),
            "new_messages": [m.to_dict() for m in event.new_messages],
            "usage": asdict(event.usage),
        }
    if isinstance(event, TurnBegun):
        return {"type": "begun", **asdict(event)}
    if isinstance(event, ApprovalAsked):
        return {
            "type": "approval",
            "id": event.id,
            "request": asdict(event.request),
            "timeout_s": event.timeout_s,
        }
    return {"type": "error", **asdict(event)}


def decode(line: bytes | str) -> WireEvent:
    """The event of one line; ValueError for a line that is not one."""
    try:
        data = json.loads(line)
        return _event(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not an event of a turn: {exc}") from None


def _event(data: dict[str, Any]) -> WireEvent:
    kind = data.pop("type")
    if kind == "text":
        return TextDelta(data["text"])
    if kind == "thinking":
        return ThinkingDelta(data["text"])
    if kind == "tool_call":
        return ToolCallStarted(ToolCall(**data["call"]))
    if kind == "tool_result":
        return ToolResult(**{**data, "call": ToolCall(**data["call"])})
    if kind == "notice":
        return Notice(data["text"])
    if kind == "recalled":
        return Recalled(tuple(RecalledMemory(**m) for m in data["memories"]))
    if kind == "final":
        return FinalAnswer(
            Message.from_dict(data["message"]),
            [Message.from_dict(m) for m in data["new_messages"]],
            Usage(**data["usage"]),
        )
    if kind == "begun":
        return TurnBegun(**data)
    if kind == "approval":
        request = ApprovalRequest(**data["request"])
        return ApprovalAsked(data["id"], request, float(data["timeout_s"]))
    if kind == "error":
        return TurnFailed(**data)
    raise ValueError(f"an event of an unknown type: {kind!r}")
