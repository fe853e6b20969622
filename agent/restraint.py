"""Restraint: a call a small model wrote as text is run only when the turn asks for it.

Rescue turns text into calls (`tool_text`); without restraint it also turns a model's
reflex into a call — `get_stock_data(company_name="Lakers")` for who won a basketball
game. A call read from text runs only if its arguments are grounded: every text argument
has a word the user said or a tool returned (or is a value the tool's schema lists or
gives as its default). An argument made up from nothing ("Lakers", a city no one named)
means the call is the model's guess, not the user's request: it does not run (the others
of the same reply do), and the model is corrected once, then asked to answer in words (it
may ask which city). This holds in every step: after the results, a small model writing
calls one a line often adds a few made up on the spot. An id or a token (letters and
digits mixed) must have been said as it is, and Rung's own framing of a tool's result is
not something said (a small model copies the boundary's token as a value). An address is
all or nothing: an email address must have been said whole, a web address's host too
(`priya@example.com` made from "Priya" is a guess: a tool may look it up). A number is
grounded when someone said it in digits (or in another unit: 120 minutes for "2 hours"),
or said any number in words. A date or a time is grounded when it was said as it is, or
when someone spoke of a time at all (a number, "tomorrow", "Friday", "next week"): the
model may work out the date from words and today's date, but a date for a question that
names no time ("When should I plant tomatoes?") is made up; the time line Rung puts before
each message is not someone speaking of a time. Short codes and short values (units,
"lo-fi") carry no words to check.

A call can be grounded and still a reflex: `add_numbers(a=19, b=19)` for "make the bedroom
nineteen degrees". Where the loop has the tool chooser's ranking, a call read from text
whose tool is neither among the FITTING tools closest in meaning to the user's message nor
shares a word with it (in its name or description; "where" and "when" count) gets one
correction saying so (not naming the closest: for a question no tool answers, that list
invites a call), also after another correction (told its made-up tool does not exist, a
small model reaches for any real one). The model may then call another tool, answer in
words, or make the same call again, which then runs (the ranking is a hint, not a rule)
unless it has no arguments: nothing in it ties it to what was asked. Calls the model made
through Ollama's own tool calling are left as they are.

An optional argument is different: a small model fills one by reflex — `now(timezone="UTC")`
for "What time is it?" — where the tool's own default (the local zone) is what the user
meant. A made-up value there is left out (`weigh`), not held against the call; but a call
that only its made-up values tied to the request must then fit it by itself: left with no
arguments, it runs only if its tool shares a word with the message (the ranking is too loose
a test here), in any step, with no second chance.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from rung.agent.messages import Message, ToolCall, ToolSpec
from rung.agent.prompt import typed_text, unframed
from rung.agent.tool_text import CORRECTION_LEAD
from rung.tools.base import named_arguments

FITTING = 3  # a tool among this many closest to the user's message fits it
MIN_WORD = 3  # letters: shorter words ("km", "lo", "fi") are not checked
SCALES = (1, 7, 12, 24, 60, 100, 1000, 3600)  # a number said, in another unit
CODE = 8  # letters and digits mixed, at least: an id that must have been said whole
TIME_WORDS = frozenset(
    (
        "today", "tonight", "tomorrow", "yesterday", "now", "morning", "afternoon", "evening",
        "night", "noon", "midnight", "day", "days", "week", "weeks", "weekend", "month",
        "months", "year", "years", "hour", "hours", "minute", "minutes", "next", "last",
        "ago", "later", "soon", "date", "time", "monday", "tuesday", "wednesday", "thursday",
        "friday", "saturday", "sunday", "january", "february", "march", "april",
        "june", "july", "august", "september", "october", "november", "december", "jan",
        "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    )
)  # fmt: skip
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?", re.I)  # a whole value
NUMBER_WORDS = frozenset(
    (
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy",
        "eighty", "ninety", "hundred", "thousand", "million", "billion", "half", "quarter",
        "dozen", "couple", "double", "twice", "hour", "hours", "minute", "minutes", "week",
        "weeks", "noon", "midnight",
    )
)  # fmt: skip
ASKING = frozenset(("where", "when"))  # stop words, but in a request they say what it is for
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


def ungrounded(
    call: ToolCall, conversation: Sequence[Message], schema: dict[str, Any] | None = None
) -> list[str]:
    """The arguments of `call` that nothing said in the conversation (the user's messages,
    the tools' results) gives, as "name=value"; [] when it is grounded. A text is
    grounded by one of its words, an address by itself (an email address whole, a web
    address's host); a number by the same number said in digits (or in another unit:
    "2 hours" gives 120 minutes, "5%" 0.05), or by any number word said ("nineteen",
    "an hour and a half": not read, so they ground any number); a value the tool's
    `schema` lists in an enum or gives as a default is a choice the tool offers."""
    heard, offered = _Heard.of(conversation), _offered(schema)
    return [
        f"{w}={v!r}" for w, v in argument_values(call.arguments, "") if not heard.gives(v, offered)
    ]


@dataclass(frozen=True)
class _Heard:
    """What the conversation said, read once to check a call's values against."""

    lowered: str
    folded: str
    loose: frozenset[str]  # the stems of its words
    worded: bool  # numbers in words: not read, any number may be one
    numbers: frozenset[float]
    timed: bool  # someone spoke of a time: a date may be worked out from it

    @classmethod
    def of(cls, conversation: Sequence[Message]) -> _Heard:
        heard = [  # not the system prompt (it names everything), the model's own words or
            m  # Rung's corrections
            for m in conversation
            if m.role in ("user", "tool") and not m.content.startswith(CORRECTION_LEAD)
        ]
        spoken = " ".join(unframed(m.content) for m in heard)
        said = set(_words(spoken))
        own = " ".join(
            unframed(typed_text(m.content) if m.role == "user" else m.content) for m in heard
        )
        return cls(
            spoken.lower(),
            spoken.casefold(),
            frozenset(_stem(w) for w in said),
            bool(said & NUMBER_WORDS),
            frozenset(_numbers(spoken)),
            bool(re.search(r"\d", own) or set(_words(own)) & TIME_WORDS),
        )

    def gives(self, value: str | float, offered: set[str]) -> bool:
        """Whether `value` (a text or a number of a call) was said, or `offered` by the tool."""
        if isinstance(value, str) and value.casefold() in offered:
            return True
        if isinstance(value, str) and (address := _address(value)):
            return address in self.lowered
        if isinstance(value, str) and (_DATE.search(value) or _TIME.fullmatch(value.strip())):
            said = _DATE.findall(value) or [value.strip().lower()]
            return self.timed or all(w in self.lowered for w in said)
        if isinstance(value, str):
            terms = _terms(value)
            codes_said = all(code in self.folded for code in _codes(value))
            return codes_said and (not terms or bool(terms & self.loose))
        return self.worded or _derived(float(value), self.numbers)


def _numbers(text: str) -> set[float]:
    """The numbers written in digits in `text`: "1,500" and "26.2" whole, and each run of
    digits alone ("1,2,3" is a list)."""
    found = {float(digits) for digits in re.findall(r"\d+", text)}
    for written in re.findall(r"\d+(?:[.,]\d+)+", text):
        plain = re.sub(r",(?=\d{3}(?:\D|$))", "", written).replace(",", ".")
        with contextlib.suppress(ValueError):
            found.add(float(plain))
    return found


def _derived(value: float, numbers: Collection[float]) -> bool:
    """Whether `value` is one of `numbers`, or one of them in another unit: times or over
    SCALES (hours in minutes, a percentage as a fraction, years in months)."""
    value = abs(value)
    return any(
        math.isclose(value, n * k, rel_tol=1e-9) or math.isclose(value, n / k, rel_tol=1e-9)
        for n in numbers
        for k in SCALES
    )


def weigh(
    call: ToolCall, conversation: Sequence[Message], schema: dict[str, Any] | None
) -> tuple[ToolCall, list[str], list[str]]:
    """`call` without its optional arguments (defined by the tool's `schema`, not
    `required`) that nothing said gives (`ungrounded`) — the tool's own default stands in
    for a value the model filled in by reflex — then those left out, and the made-up
    values the call still has (each "name=value"). An optional argument that only writes
    out the default is left out too, without a word."""
    heard, offered = _Heard.of(conversation), _offered(schema)
    names = named_arguments(schema)  # None: the schema does not say which are optional
    optional = names[0] - names[1] if names else set()  # not one it does not define
    kept: dict[str, Any] = {}
    left: list[str] = []
    made_up: list[str] = []
    for name, value in call.arguments.items():
        if name in optional and _default(schema, name, value):
            continue  # the default written out: the same call, and no more tied to the request
        missing = [
            f"{w}={v!r}" for w, v in argument_values(value, name) if not heard.gives(v, offered)
        ]
        if missing and name in optional:
            left.append(f"{name}={value!r}")
        else:
            kept[name] = value
            made_up += missing
    return (call if kept == call.arguments else replace(call, arguments=kept)), left, made_up


def _default(schema: Any, name: str, value: Any) -> bool:
    """Whether `value` is the default `schema` gives argument `name` (text in any case)."""
    given = schema["properties"][name]
    if not isinstance(given, dict) or "default" not in given:
        return False
    default = given["default"]
    if isinstance(value, str) and isinstance(default, str):
        return value.casefold() == default.casefold()
    return bool(value == default and type(value) is type(default))


def _codes(text: str) -> list[str]:
    """The codes in `text` that must have been said as they are: runs of CODE or more
    letters and digits mixed (an id, a token: `7b03ca064b0c1c4c`), casefolded. A date or
    a time is no code: its parts are short."""
    runs = re.findall(r"[^\W_]+", text.casefold())
    return [r for r in runs if len(r) >= CODE and re.search(r"\d", r) and re.search(r"\D", r)]


def _terms(text: str) -> set[str]:
    """The stems of the words of `text` that say something ("list_name": list, name)."""
    words = _words(text.replace("_", " "))
    return {_stem(w) for w in words if len(w) >= MIN_WORD and w not in STOP}


def strays(
    calls: Sequence[ToolCall], ranked: Sequence[ToolSpec], message: str, fitting: int = FITTING
) -> list[str]:
    """The tools of `calls` (once each) that do not fit `message`: not among the `fitting`
    first of `ranked` (the tools closest to it first) and sharing no word with it. A tool
    not ranked (a pinned one) always fits."""
    said = _topic(message)
    far = {s.name for s in ranked[fitting:] if not said & _topic(f"{s.name} {s.description}")}
    return list(dict.fromkeys(c.name for c in calls if c.name in far))


def _topic(text: str) -> set[str]:
    """What `text` is about, for fitting a tool to a request: its terms, and the question
    words that name what is asked for ("where": a place, "when": a time)."""
    return _terms(text) | (set(_words(text)) & ASKING)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://)?(?:www\.)?([\w-]+(?:\.[\w-]+)*\.[a-z]{2,})(?:[/:?#]\S*)?", re.I)


def _address(value: str) -> str:
    """The part of an email or web address that must have been said (lowercase); "" when
    `value` is neither."""
    value = value.strip()
    if _EMAIL.fullmatch(value):
        return value.lower()
    if "://" in value or value.lower().startswith("www."):
        url = _URL.fullmatch(value)
        return url.group(1).lower() if url else ""
    return ""


def _offered(schema: Any) -> set[str]:
    """Every text value that `schema` lists in an enum or gives as a default, anywhere in
    it (casefolded)."""
    if isinstance(schema, dict):
        listed = schema.get("enum")
        own = (
            {v.casefold() for v in listed if isinstance(v, str)}
            if isinstance(listed, list)
            else set()
        )
        if isinstance(default := schema.get("default"), str):
            own.add(default.casefold())
        return own.union(*(_offered(v) for k, v in schema.items() if k not in ("enum", "default")))
    if isinstance(schema, list):
        return set().union(*(_offered(v) for v in schema))
    return set()


def argument_values(value: Any, where: str = "") -> Iterator[tuple[str, str | float]]:
    """The texts and numbers in a call's arguments (not booleans), with where each is."""
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from argument_values(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from argument_values(item, f"{where}[{n}]")


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def _stem(word: str) -> str:
    """A rough stem, so "emails" grounds "email" and "meetings" "meeting"."""
    for ending in ("ies", "es", "s", "ing", "ed"):
        if word.endswith(ending) and len(word) - len(ending) >= MIN_WORD:
            return _stem(word[: -len(ending)])
    return word
