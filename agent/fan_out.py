"""Fan-out: a request naming several values for one argument gets one call for each.

"What's the weather in Oslo and in Bergen?" needs two calls. A small model that writes its
calls as text nearly always writes the first (`get_weather(city="Oslo")`) and then, given
its result, writes the same call again instead of the second. When a call read from text
has an argument whose value is one item of a list the user wrote — items of one shape,
joined by "and", "or" or commas, each maybe after the same preposition: "Oslo and Bergen",
"in Paris and in Seoul", "Ana's and Omar's", "'visa' and 'passport'", "2026-12-24 and
2026-12-25" — the other items get the same call with only that value changed, in the same
step. Items are of one shape when all are quoted, all dates, or all capitalised names as
written; so "the kitchen to 21 and the office to 19" is no list of one argument, and nor
is "Vienna and the current weather". A call with more than one argument from a list is
left as it is (which pairs with which is not for Rung to guess).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rung.agent.messages import ToolCall

_QUOTED = r"'[^'\n]+'|\"[^\"\n]+\"|‘[^’\n]+’|“[^”\n]+”"
_DATE = r"\d{4}-\d{2}-\d{2}"
_NAME = r"[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,3}"  # "Oslo", "New York", "Omar" (before its 's)
_JOIN = (
    r"(?:'s)?(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)"  # no two ways to split spaces
    r"(?:(?:in|into|for|to|on|at|from|of|about|with)\s+)?"
)
_LISTS = [
    re.compile(rf"(?:{shape})(?:{_JOIN}(?:{shape}))+(?:'s)?") for shape in (_QUOTED, _DATE, _NAME)
]
_ITEMS = [re.compile(shape) for shape in (_QUOTED, _DATE, _NAME)]


def lists(text: str) -> list[list[tuple[str, bool]]]:
    """The lists of like items in `text`: each item as written (without its quotes), and
    whether it begins a sentence (where any word is capitalised: "Yes, Oslo and Bergen")."""
    found = []
    for whole, item in zip(_LISTS, _ITEMS, strict=True):
        for match in whole.finditer(text):
            items = [
                (i.group(0).strip("'\"‘’“”"), _begins(text, match.start() + i.start()))
                for i in item.finditer(match.group(0))
            ]
            if len(items) > 1:
                found.append(items)
    return found


def _begins(text: str, at: int) -> bool:
    before = at - 1
    while before >= 0 and text[before].isspace():  # (not text[:at]: a copy for each item)
        before -= 1
    return before < 0 or text[before] in ".!?:;"


def fanned(calls: Sequence[ToolCall], message: str) -> list[ToolCall]:
    """The calls for the other items of a list in `message` that one of `calls` took one
    item of (as its only such argument), for items no call to the same tool has already;
    [] when there are none."""
    named = lists(message)
    made = {(c.name, k, _folded(v)) for c in calls for k, v in c.arguments.items()}
    added: list[ToolCall] = []
    for call in calls:
        hits = [
            (argument, items)
            for argument, value in call.arguments.items()
            for items in named
            if _folded(value) in {i.casefold() for i, _ in items}
        ]
        if len({argument for argument, _ in hits}) != 1:
            continue  # no list, or several arguments from lists: not one value to vary
        argument, items = hits[0]
        for item, first in items:
            if not first and (call.name, argument, item.casefold()) not in made:
                made.add((call.name, argument, item.casefold()))
                arguments = {**call.arguments, argument: item}
                added.append(replace(call, id=f"{call.id}_{len(added) + 1}", arguments=arguments))
    return added


def _folded(value: object) -> str | None:
    return value.strip().casefold() if isinstance(value, str) else None
