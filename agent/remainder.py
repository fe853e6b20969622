"""The rest of a request: the parts of the user's message that no call made so far covers.

"Set a 15 minute timer and play some lo-fi" needs two tools. A small model that writes its
calls as text writes the first (`set_timer(minutes=15)`) and then, given its result,
writes the same call again instead of the second. The loop then tells it what is left, in
the user's own words: "play some lo-fi" — which a small model does call right, where a
longer request, or a longer correction, leaves it repeating itself.

The message is cut into parts where one clause ends and another begins: at "and", "then",
"also", "plus", "as well as" (with or without a comma before them), at a semicolon or at a
sentence's end; commas alone do not cut (they join list items and asides: "the kitchen, 22
degrees, heating mode"). Each call covers the parts that hold, as written, the first place
the most of its argument values appear in the message (so that a value the model filled in,
which the message holds elsewhere — `mode="heat"` on a call for the office, for "Heat the
kitchen to 21 and the office to 19" — does not cover a part with nothing else of the call's
in it; "Add 2 and 3" holds one of `add(2, 3)`'s values in each part: both are covered).
What is left is every part not covered, as the user wrote it — but only when some part is
covered (else there is no telling what the calls did) and what is left says something
("please", a bare number, a stray word of two letters are not a request).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from rung.agent.messages import ToolCall
from rung.agent.restraint import argument_values

_CUT = re.compile(  # each starts where no space is before it: linear in a long run of spaces
    r"(?<!\s)\s*[;.!?](?:\s+|$)(?:(?:and\s+)?(?:then|also)\b,?\s*)?"  # a sentence's end
    r"|(?<!\s),?\s+(?:and\s+then|and\s+also|as\s+well\s+as|and|then|also|plus)\b,?\s*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]{3,}")  # a word of three letters or more
_EMPTY = {"please", "thanks", "thank", "you", "now", "too", "right", "away", "also", "then"}


def remainder(message: str, calls: Sequence[ToolCall]) -> str:
    """What of `message` none of `calls` covers ("" when nothing, or when no call covers
    any part of it); parts not next to each other are joined with "; "."""
    parts = _parts(message)
    covered: set[int] = set()
    for call in calls:
        held = Counter(  # how many of the call's values each part holds
            n
            for at in (_find(message, v) for v in set(_values(call.arguments)))
            if at is not None
            for n, (start, end) in enumerate(parts)
            if start <= at < end
        )
        most = max(held.values(), default=0)
        covered |= {n for n, count in held.items() if count == most}
    if not covered:
        return ""
    runs: list[list[int]] = []
    for n in range(len(parts)):
        if n in covered:
            continue
        if runs and runs[-1][-1] == n - 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    left = [message[parts[run[0]][0] : parts[run[-1]][1]].strip(" ,") for run in runs]
    said = [text for text in left if {w.lower() for w in _WORD.findall(text)} - _EMPTY]
    return "; ".join(said)


def _parts(message: str) -> list[tuple[int, int]]:
    """Where each part of `message` starts and ends."""
    parts, start = [], 0
    for cut in _CUT.finditer(message):
        if cut.start() > start:
            parts.append((start, cut.start()))
        start = max(start, cut.end())
    if start < len(message):
        parts.append((start, len(message)))
    return parts


def _values(arguments: dict[str, Any]) -> Iterator[str]:
    """The argument values a message may hold as written: numbers, and strings of two
    characters or more (`argument_values`: also within lists and objects)."""
    for _, value in argument_values(arguments):
        if isinstance(value, str):
            if len(value.strip()) > 1:
                yield value.strip()
        else:
            yield f"{value:g}" if isinstance(value, float) else str(value)


def _find(message: str, value: str) -> int | None:
    """Where `value` first appears in `message` as a whole word or number (any case)."""
    number = re.fullmatch(r"-?\d+(?:\.\d+)?", value) is not None
    escaped = re.escape(value)
    pattern = rf"(?<![\w.]){escaped}(?:\.0+)?(?!\w|\.\d)" if number else rf"(?<!\w){escaped}(?!\w)"
    found = re.search(pattern, message, re.IGNORECASE)
    return found.start() if found else None
