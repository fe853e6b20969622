"""The time a question names, as a span: months, days, years and relative words."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from rung.memory.when import named_span

NOW = datetime(2025, 9, 29, 12, 0)  # a Monday


def days(text: str) -> tuple[date, date] | None:
    span = named_span(text, NOW)
    if span is None:
        return None
    return datetime.fromtimestamp(span[0]).date(), datetime.fromtimestamp(span[1]).date()


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("What did we decide in May about the flat?", date(2025, 5, 1), date(2025, 6, 1)),
        ("what happened in december", date(2024, 12, 1), date(2025, 1, 1)),  # the latest one
        ("plans for early-march", date(2025, 3, 1), date(2025, 4, 1)),
        ("What happened on 14 March 2024?", date(2024, 3, 14), date(2024, 3, 15)),
        ("the party on Dec 25, 2024", date(2024, 12, 25), date(2024, 12, 26)),
        ("notes from 2025-05-14", date(2025, 5, 14), date(2025, 5, 15)),
        ("what did I buy in 2024", date(2024, 1, 1), date(2025, 1, 1)),
        ("what did we decide last month", date(2025, 8, 1), date(2025, 9, 1)),
        ("anything from last week?", date(2025, 9, 22), date(2025, 9, 29)),
        ("what did I say yesterday", date(2025, 9, 28), date(2025, 9, 29)),
        ("the call two weeks ago", date(2025, 9, 12), date(2025, 9, 19)),
        ("this year's goals", date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_a_named_time_is_a_span(text: str, start: date, end: date) -> None:
    assert days(text) == (start, end)


@pytest.mark.parametrize(
    "text",
    [
        "May I ask what the plan is?",
        "this may help with the boiler",
        "the march of time",
        "What was invoice INV-2023-0117 for?",  # a year inside a code is not a time
        "what is the wifi password",
        "on the 31 February",  # no such day
    ],
)
def test_no_time_is_named(text: str) -> None:
    assert days(text) is None
