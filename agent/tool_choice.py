"""Fewer tools per turn: with many tools enabled, offer those that fit the conversation.

A small model picks the wrong tool out of a hundred, and every tool's schema costs prompt
tokens. Above `limit` tools, a turn offers the pinned ones plus those whose name and
description are closest in meaning to the conversation's last messages (the memory's
embedding model, shared with the rest of the process). The chosen tools keep the
registry's order, so the same choice sends the same bytes and Ollama's prompt cache,
which reuses only an identical prefix, keeps working; and a conversation keeps its
choice from turn to turn while the tools closest to the new message are all in it, so
the cache survives a conversation that stays on its subject.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rung.agent.messages import Message
from rung.tools.base import ToolRegistry, ToolSpec, ToolView

if TYPE_CHECKING:
    import numpy as np

    from rung.memory.embedder import Embedder

CONTEXT_MESSAGES = 3  # the user's message and the two before it
STICKY_TOP = 3  # the last choice stays while it holds this many of the closest tools


class ToolChooser:
    def __init__(self, embedder: Embedder, *, limit: int = 16, pinned: Sequence[str] = ()) -> None:
        self.embedder = embedder
        self.limit = limit
        self.pinned = tuple(pinned)
        self._vectors: dict[tuple[str, str], np.ndarray] = {}  # (name, description) -> vector
        self._last: list[ToolSpec] = []  # the last turn's choice (see `view`)

    def view(self, tools: ToolRegistry, messages: Sequence[Message]) -> ToolRegistry:
        """`tools` itself when few enough; else a view offering the chosen ones: the last
        turn's choice again while it holds the tools closest to the conversation now."""
        specs = tools.specs()
        if len(specs) <= self.limit:
            return tools
        ranked = self.ranked(specs, context_of(messages))
        if not self._still_fits(specs, ranked):
            self._last = self._pick(specs, ranked)
        return ToolView(tools, self._last)

    def _still_fits(self, specs: Sequence[ToolSpec], ranked: Sequence[ToolSpec]) -> bool:
        """The last choice holds the closest tools now, each still there as it was."""
        last = {s.name for s in self._last}
        unchanged = bool(self._last) and [s for s in specs if s.name in last] == self._last
        return unchanged and {s.name for s in ranked[:STICKY_TOP]} <= last

    def choose(self, specs: Sequence[ToolSpec], context: str) -> list[ToolSpec]:
        """The pinned tools and the closest others, `limit` in all, in their given order."""
        return self._pick(specs, self.ranked(specs, context))

    def ranked(self, specs: Sequence[ToolSpec], context: str) -> list[ToolSpec]:
        """The tools that are not pinned, closest to `context` first."""
        others = [s for s in specs if not self.is_pinned(s.name)]
        if not others:
            return []
        import numpy as np

        self.warm(others)  # new tools' vectors in one batch
        query = self.embedder.embed([context])[0]
        scores = np.stack([self._vector(s) for s in others]) @ query
        return [others[i] for i in np.argsort(-scores, kind="stable")]

    def _pick(self, specs: Sequence[ToolSpec], ranked: Sequence[ToolSpec]) -> list[ToolSpec]:
        pinned = {s.name for s in specs if self.is_pinned(s.name)}
        room = max(self.limit - len(pinned), 0)
        chosen = pinned | {s.name for s in ranked[:room]}
        return [s for s in specs if s.name in chosen]

    def is_pinned(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.pinned)

    def _vector(self, spec: ToolSpec) -> np.ndarray:
        key = (spec.name, spec.description)
        if key not in self._vectors:
            self._vectors[key] = self.embedder.embed([tool_text(spec)])[0]
        return self._vectors[key]

    def warm(self, specs: Sequence[ToolSpec]) -> None:
        """Embed the tools' descriptions now (in one batch) rather than at the first turn."""
        missing = [s for s in specs if (s.name, s.description) not in self._vectors]
        if missing:
            vectors = self.embedder.embed([tool_text(s) for s in missing])
            for spec, vector in zip(missing, vectors, strict=True):
                self._vectors[(spec.name, spec.description)] = vector


def tool_text(spec: ToolSpec) -> str:
    """What is embedded for a tool: its name as words, then its description."""
    return f"{spec.name.replace('_', ' ')}: {spec.description}"


def context_of(messages: Sequence[Message]) -> str:
    """The conversation's last user and assistant words, newest first."""
    recent = [m.content for m in messages if m.role in ("user", "assistant") and m.content]
    return "\n".join(reversed(recent[-CONTEXT_MESSAGES:]))
