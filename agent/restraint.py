"""Restraint: a call a small model wrote as text is run only when the turn asks for it.

Rescue turns text into calls (`tool_text`); without restraint it also turns a model's
reflex into a call — `get_stock_data(company_name="Lakers")` for who won a basketball
game. Before any tool has run in a turn, a call read from text runs only if its arguments
are grounded: every text argument has a word the user (or the conversation) said. An
argument made up from nothing ("Lakers", a city no one named) means the call is the
model's guess, not the user's request: it does not run, and the model is asked to answer
in words (it may ask which city). Numbers, dates, codes and short values (units, "lo-fi")
carry no words to check and count as grounded. Calls the model made through Ollama's own
tool calling are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from rung.agent.messages import Message, ToolCall

MIN_WORD = 3  # letters: shorter words ("km", "lo", "fi") are not checked
STOP = frozenset(
    (
        "the", "and", "for", "with", "from", "that", "this", "into", "onto", "about", "over",
        "under", "then", "than", "what", "when", "where", "which", "who", "whom", "whose",
        "how", "why", "are", "was", "were", "been", "being", "have", "has", "had", "does",
        "did", "doing", "can", "could", "should", "would", "will", "shall", "may", "might",
        "must", "not", "you", "your", "yours", "our", "ours", "their", "theirs", "his", "her",
        "hers", "its", "they", "them", "she", "him", "all", "any", "some", "each", "every",
        "other", "such", "only", "own", "same", "very", "just", "also", "please",
    )
)  # fmt: skip


def ungrounded(call: ToolCall, conversation: Sequence[Message]) -> list[str]:
    """The text arguments of `call` that have no word the conversation said (user messages,
    the assistant's, tool results), as "name=value"; [] when it is grounded."""
    spoken = [m.content for m in conversation if m.role in ("user", "assistant", "tool")]
    said = set(_words(" ".join(spoken)))  # not the system prompt: it names everything
    loose = {_stem(w) for w in said}
    missing = []
    for where, value in _texts(call.arguments, ""):
        words = [w for w in _words(value) if len(w) >= MIN_WORD and w not in STOP]
        if words and not any(w in said or _stem(w) in loose for w in words):
            missing.append(f"{where}={value!r}")
    return missing


def _texts(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from _texts(item, f"{where}[{n}]")


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def _stem(word: str) -> str:
    """A rough stem, so "emails" grounds "email" and "meetings" "meeting"."""
    for ending in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= MIN_WORD:
            return _stem(word[: -len(ending)])
    return word
