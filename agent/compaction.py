"""Compaction that keeps what matters: old turns become a summary, and nothing is lost.

Before the window fills (`compact_at`, 80 % by default) or on `/compact`, the turns before
the last `KEEP_TURNS` are replaced by a summary. What should outlive them is saved first,
by Rung itself rather than left to the model's goodwill: the statements the user made
about themselves (found by their form: "I live…", "my manager is…"), as facts, and the
summary, into the conversations memory (tiers with memory). The system message (persona,
profile) and the last turns are never touched; the session store keeps every turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rung.agent.context import fit_context
from rung.agent.messages import FinalAnswer, Message
from rung.agent.model import ChatModel
from rung.agent.phantom import ABOUT_USER
from rung.agent.prompt import typed_text
from rung.agent.tool_text import CORRECTION_LEAD

KEEP_TURNS = 2
SUMMARY_HEADER = "Summary of the earlier part of this conversation (Rung compacted it):"
SUMMARISE = (
    "Summarise the conversation above for your own later use, in a few short bullet points: "
    "what the user asked and decided, what was done and found, what is still open, and any "
    "names, numbers and dates that matter. Reply with the bullet points only."
)
_LEAD = re.compile(
    r"^(?:(?:please\s+)?(?:note|remember|keep in mind|don't forget)(?:\s+that)?[:,]?\s*"
    r"|(?:fyi|btw|by the way|oh and|also)[:,]?\s*)",
    re.IGNORECASE,
)
# "I'm not sure why…", "I have a question": about the moment, not about the user
_PASSING = re.compile(
    r"\b(?:not sure|question|problem|issue|error|bug|trying|wondering|looking for|thinking|"
    r"confused|stuck)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Split:
    old: list[Message]  # the turns to compact
    recent: list[Message]  # the last turns, kept as they are


def split(history: Sequence[Message], keep: int = KEEP_TURNS) -> Split:
    """Cut before the `keep`-th last turn (a turn starts with the user's message; Rung's
    correction of a bad tool call is a user message inside a turn)."""
    starts = [
        i
        for i, m in enumerate(history)
        if m.role == "user" and not m.content.startswith(CORRECTION_LEAD)
    ]
    if len(starts) <= keep:
        return Split([], list(history))
    cut = starts[-keep]
    return Split(list(history[:cut]), list(history[cut:]))


def compactable(old: Sequence[Message]) -> bool:
    """Is there more to compact than the summary of the last compaction?"""
    if len(old) == 2 and old[0].content.startswith(SUMMARY_HEADER):
        return False
    return bool(old)


def user_facts(messages: Sequence[Message]) -> list[str]:
    """The user's statements about themselves, in their words, one per sentence."""
    found: list[str] = []
    for message in messages:
        if message.role != "user" or message.content.startswith(SUMMARY_HEADER):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", typed_text(message.content)):
            sentence = _LEAD.sub("", sentence.strip()).rstrip(".!")
            sentence = sentence[:1].upper() + sentence[1:]
            wanted = (
                ABOUT_USER.match(sentence)
                and not _PASSING.search(sentence)
                and 3 <= len(sentence.split()) <= 30
            )
            if wanted and "?" not in sentence and sentence not in found:
                found.append(sentence)
    return found


async def summarise(model: ChatModel, old: Sequence[Message], num_ctx: int) -> str:
    """The model's summary of `old` (no tools); an extract of the turns if it fails. Turns
    that would not fit into the window with the request are extracted, not sent."""
    from rung.agent.loop import run_turn

    try:
        fitted = fit_context([*old, Message("user", SUMMARISE)], num_ctx)
        head = extract(old[: fitted.dropped])
        async for event in run_turn(model, fitted.messages, None, max_steps=1):
            if isinstance(event, FinalAnswer) and event.message.content.strip():
                return "\n".join(filter(None, (head, event.message.content.strip())))
    except Exception:  # the summary must not fail the turn: fall back to an extract
        pass
    return extract(old)


def extract(old: Sequence[Message]) -> str:
    """A summary without the model: the first line of each question and answer."""
    lines = []
    for m in old:
        if m.role in ("user", "assistant") and m.content.strip():
            first = " ".join(typed_text(m.content).split())[:160]
            lines.append(f"- {'User' if m.role == 'user' else 'Assistant'}: {first}")
    return "\n".join(lines)


def summary_messages(summary: str) -> list[Message]:
    """The summary as it stands in the history: a user turn the model acknowledged."""
    return [
        Message("user", f"{SUMMARY_HEADER}\n{summary}"),
        Message("assistant", "Understood; I will keep this in mind."),
    ]
