"""The time a question names: "in May", "last week", "yesterday", "three days ago", "on 14
March 2024", "in 2025" -> the span it means, so that a search favours what was said or
written then (`memory/search.py`).

Only what is unambiguous is read: a month name needs a preposition or a day or a year
beside it ("in May", "May 2025", "3 May"; not "May I ask"), a year stands alone (not the
2024 of INV-2024-0117). A month without a year is the latest such month up to now. Spans
are in local time, as the user means them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
NUMBERS |= {"seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3}
UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(?<![\w-])((?:19|20)\d\d)(?![\w-])"
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_ISO = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_DAY_MONTH = re.compile(rf"\b{_DAY}\s+(?:of\s+)?({_MONTH})\b\.?(?:,?\s+{_YEAR})?", re.I)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?\s+{_DAY}\b(?:,?\s+{_YEAR})?", re.I)
_MONTH_YEAR = re.compile(rf"\b({_MONTH})\.?,?\s+{_YEAR}", re.I)
_IN_MONTH = re.compile(
    rf"\b(?:in|during|since|by|until|from|early|late|mid|of|last|this)[\s-]+({_MONTH})\b", re.I
)
_IN_YEAR = re.compile(rf"\b(?:in|during|of|since|from|until|by)\s+{_YEAR}", re.I)
_AGO = re.compile(
    r"\b(\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a couple of|a few)\s+"
    r"(day|week|month|year)s?\s+ago\b",
    re.I,
)
_RELATIVE = re.compile(r"\b(yesterday|today|(?:last|this|past)\s+(?:week|month|year))\b", re.I)


def named_span(text: str, now: datetime | None = None) -> tuple[float, float] | None:
    """The span of time (Unix start, end) that `text` names, or None when it names none."""
    now = now or datetime.now()
    today = now.date()
    found = _ISO.search(text)
    if found:
        day = _date(int(found[1]), int(found[2]), int(found[3]))
        return _days(day, 1) if day else None
    for pattern, order in ((_DAY_MONTH, "dmy"), (_MONTH_DAY, "mdy")):
        found = pattern.search(text)
        if found:
            day_text, month_text = (found[1], found[2]) if order == "dmy" else (found[2], found[1])
            month = MONTHS[month_text.lower()]
            year = int(found[3]) if found[3] else _latest_year(month, today)
            day = _date(year, month, int(day_text))
            return _days(day, 1) if day else None
    found = _MONTH_YEAR.search(text)
    if found:
        return _month(int(found[2]), MONTHS[found[1].lower()])
    found = next((f for f in _IN_MONTH.finditer(text) if not _verb(f)), None)
    if found:
        month = MONTHS[found[1].lower()]
        return _month(_latest_year(month, today), month)
    found = _IN_YEAR.search(text)
    if found:
        year = int(found[1])
        return _span(date(year, 1, 1), date(year + 1, 1, 1))
    found = _AGO.search(text)
    if found:
        count = int(found[1]) if found[1].isdigit() else NUMBERS[found[1].lower()]
        days = UNITS[found[2].lower()]
        middle = today - timedelta(days=count * days)
        half = max(1, days // 2)  # "two weeks ago": the week around that day
        return _span(middle - timedelta(days=half), middle + timedelta(days=half + 1))
    found = _RELATIVE.search(text)
    if found:
        return _relative(" ".join(found[1].lower().split()), today)
    return None


def _relative(words: str, today: date) -> tuple[float, float]:
    """Today, yesterday, and this, last or the past week, month or year."""
    if words in ("today", "yesterday"):
        return _days(today - timedelta(days=words == "yesterday"), 1)
    which, unit = words.split()
    if which == "past":
        length = UNITS[unit] if unit != "year" else 365
        return _days(today - timedelta(days=length - 1), length)
    if unit == "week":
        monday = today - timedelta(days=today.weekday() + (7 if which == "last" else 0))
        return _days(monday, 7)
    if unit == "month":
        first = today.replace(day=1)
        if which == "last":
            first = (first - timedelta(days=1)).replace(day=1)
        return _month(first.year, first.month)
    year = today.year - (which == "last")
    return _span(date(year, 1, 1), date(year + 1, 1, 1))


MONTH_WORDS = ("in", "during", "early", "late", "mid", "last", "since", "until")


def _verb(found: re.Match[str]) -> bool:
    """A lower-case may or march after any word but MONTH_WORDS is the verb or the noun,
    not the month ("this may help", "the march of time")."""
    if found[1] not in ("may", "march"):
        return False
    return re.split(r"[\s-]", found[0])[0].lower() not in MONTH_WORDS


def _latest_year(month: int, today: date) -> int:
    """The year of the latest such month up to today."""
    return today.year if month <= today.month else today.year - 1


def _month(year: int, month: int) -> tuple[float, float]:
    end = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return _span(date(year, month, 1), end)


def _days(day: date, count: int) -> tuple[float, float]:
    return _span(day, day + timedelta(days=count))


def _span(start: date, end: date) -> tuple[float, float]:
    def midnight(d: date) -> float:
        return datetime.combine(d, datetime.min.time()).timestamp()

    return midnight(start), midnight(end)


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
