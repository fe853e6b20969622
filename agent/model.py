"""The `ChatModel` protocol: what the loop needs from a model backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from rung.agent.messages import Message, ModelEvent, ToolSpec


class ChatModel(Protocol):
    @property
    def name(self) -> str: ...

    def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] | None = None
    ) -> AsyncIterator[ModelEvent]:
        """Stream one model step: text and thinking deltas, then exactly one `ModelDone`."""
        ...
