"""Phantom memory: a reply that says it will remember, when nothing was saved.

Small models love "Got it, I'll remember that!" without calling any memory tool, and the
user believes them. After each turn Rung looks for such a claim in the answer; when no
memory tool ran in that turn, the assistant tier stores the user's statement as a fact
itself, and the other tiers say plainly that nothing was saved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rung.agent.messages import TOOL_ERROR, Message

CLAIM = re.compile(
    r"\b(?:I(?:'ll| will| shall)\s+(?:remember|keep (?:that|this|it) in mind|make a note|note)"
    r"|I(?:'ve| have)\s+(?:noted|saved|stored|remembered|made a note|written (?:that|it) down)"
    r"|(?:noted|saved|stored) (?:that|this|it)?\s*(?:in|to) (?:my )?memory"
    r"|I won't forget)",
    re.IGNORECASE,
)
MEMORY_TOOLS = ("remember",)  # tool names (or suffixes, `memory_remember`) that save
MAX_STATEMENT = 300  # characters: a longer message is not one fact
ABOUT_USER = re.compile(
    r"(?:I(?:'m| am| live| work| have| prefer| like| love| hate| don't| do not| moved| was "
    r"born| use| own| speak| study)\b|My [a-z][\w '-]{1,40}? (?:is|are|was|lives|works)\b)",
    re.IGNORECASE,
)
_ASK = re.compile(
    r"^\s*(?:please\s+)?(?:can you\s+|could you\s+)?(?:remember|note|keep in mind|don't forget)"
    r"(?:\s+that)?[:,]?\s*",
    re.IGNORECASE,
)


def claims_to_remember(answer: str) -> bool:
    return CLAIM.search(answer) is not None


def saved_in_turn(messages: Sequence[Message]) -> bool:
    """Did a memory tool run in this turn, and succeed?"""
    asked = {
        call.id
        for m in messages
        for call in m.tool_calls
        if call.name.endswith(MEMORY_TOOLS) and call.error is None
    }
    return any(
        m.role == "tool" and m.tool_call_id in asked and not m.content.startswith(TOOL_ERROR)
        for m in messages
    )


def phantom(answer: str, turn: Sequence[Message]) -> bool:
    """The answer claims a memory that no tool call of the turn made."""
    return claims_to_remember(answer) and not saved_in_turn(turn)


def statement(user_text: str) -> str:
    """What the user asked to be remembered: their message without "please remember that"."""
    text = " ".join(user_text.split())
    stripped = _ASK.sub("", text, count=1).rstrip(".!")
    return stripped[:1].upper() + stripped[1:] if stripped else text


def worth_saving(user_text: str) -> str | None:
    """The fact to save for a reply's empty promise: a short message that asks to be
    remembered or says something about the user; None for anything else (a question, a
    pasted document)."""
    text = " ".join(user_text.split())
    if len(text) > MAX_STATEMENT or "?" in text:
        return None
    if _ASK.match(text) or ABOUT_USER.match(_ASK.sub("", text, count=1)):
        return statement(text)
    return None
