"""A call's arguments against its tool's schema: fixed where that reads them exactly, named
as problems where not (`rung.tools.arguments.repair`)."""

from __future__ import annotations

from typing import Any

import pytest

from rung.tools.arguments import repair
from rung.tools.base import ToolSpec

SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "days": {"type": "integer"},
        "threshold": {"type": "number"},
        "units": {"type": "string", "enum": ["Celsius", "Fahrenheit"]},
        "alerts": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "window": {
            "type": "object",
            "properties": {"start": {"type": "string"}, "hours": {"type": "integer"}},
        },
    },
    "required": ["city"],
}
TOOL = ToolSpec("forecast", "A forecast.", SCHEMA)


@pytest.mark.parametrize(
    ("given", "fixed"),
    [
        ({"city": "Lyon", "days": "5"}, {"city": "Lyon", "days": 5}),
        ({"city": "Lyon", "days": "5.0"}, {"city": "Lyon", "days": 5}),
        ({"city": "Lyon", "days": 3.0}, {"city": "Lyon", "days": 3}),
        ({"city": "Lyon", "threshold": "-2.5"}, {"city": "Lyon", "threshold": -2.5}),
        ({"city": 75001}, {"city": "75001"}),
        ({"city": "Lyon", "alerts": "True"}, {"city": "Lyon", "alerts": True}),
        ({"city": "Lyon", "units": "celsius"}, {"city": "Lyon", "units": "Celsius"}),
        ({"City": "Lyon", "DAYS": 2}, {"city": "Lyon", "days": 2}),
        ({"city": "Lyon", "tags": "rain"}, {"city": "Lyon", "tags": ["rain"]}),
        ({"city": "Lyon", "tags": '["a", "b"]'}, {"city": "Lyon", "tags": ["a", "b"]}),
        (
            {"city": "Lyon", "window": {"start": "09:00", "Hours": "6"}},
            {"city": "Lyon", "window": {"start": "09:00", "hours": 6}},
        ),
        # beside the tool's own arguments, ones it does not take are dropped
        ({"city": "Lyon", "country": "FR", "shuffle": False}, {"city": "Lyon"}),
        ({"city": "Lyon", "properties": {"city": {"type": "string"}}}, {"city": "Lyon"}),
        (
            {"city": "Lyon", "window": {"start": "9", "length": 2}},
            {"city": "Lyon", "window": {"start": "9"}},
        ),
        # one argument misnamed, the one required argument missing, of its type: renamed
        ({"city_name": "Lyon"}, {"city": "Lyon"}),
        ({"user": "Lyon", "days": 2}, {"city": "Lyon", "days": 2}),
    ],
)
def test_what_reads_exactly_is_fixed_and_said(given: dict[str, Any], fixed: dict[str, Any]) -> None:
    repaired = repair(TOOL, given)
    assert repaired.ok, repaired.problems
    assert repaired.arguments == fixed and repaired.fixes


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"city": "Lyon", "days": "five"}, "days: 'five' is not of type 'integer'"),
        ({"city": "Lyon", "days": "2.5"}, "days: '2.5' is not of type 'integer'"),
        ({"city": "Lyon", "threshold": "1,5"}, "threshold: '1,5' is not of type 'number'"),
        ({"city": "Lyon", "units": "Kelvin"}, 'units: "Kelvin" is not one of "Celsius"'),
        (  # two arguments the tool does not take: which one was meant is unknown
            {"city_name": "Lyon", "country": "FR"},
            "city_name, country: not arguments of this tool (its arguments: city,",
        ),
        ({"town": 69001}, "town: not arguments of this tool"),  # not the missing one's type
        (  # the schema copied into the call, and nothing else: what was meant is unknown
            {"properties": {"city": {"type": "string"}}},
            "properties: not arguments of this tool (its arguments: city, days",
        ),
        ({"days": 2}, "'city' is a required property"),
        ({"city": "Lyon", "window": {"length": 2}}, "window.length: not arguments of"),
    ],
)
def test_what_cannot_be_read_exactly_is_a_problem(given: dict[str, Any], said: str) -> None:
    repaired = repair(TOOL, given)
    assert not repaired.ok
    assert any(said in problem for problem in repaired.problems), repaired.problems


def test_a_schema_that_lets_other_arguments_through_gets_them() -> None:
    open_schema = {**SCHEMA, "additionalProperties": True}
    repaired = repair(ToolSpec("f", "", open_schema), {"city": "Lyon", "country": "FR"})
    assert repaired.ok and repaired.arguments == {"city": "Lyon", "country": "FR"}
    assert not repaired.fixes


def test_values_made_up_for_a_tool_that_takes_none_are_a_problem() -> None:
    """`get_location(city="London")`: the model had a guess in mind, not this tool's call
    (dropping it would turn a guess into a call on a question no tool answers)."""
    where = ToolSpec("get_location", "Where the user is.", {"type": "object", "properties": {}})
    repaired = repair(where, {"city": "London"})
    assert not repaired.ok
    assert repaired.problems == ["city: not arguments of this tool (its arguments: none)"]


def test_right_arguments_are_left_alone() -> None:
    given = {"city": "Lyon", "days": 2, "units": "Celsius", "tags": ["x"], "alerts": False}
    repaired = repair(TOOL, given)
    assert repaired.ok and repaired.arguments == given and repaired.fixes == []


def test_a_type_given_as_a_list_of_names_is_read_as_any_of_them() -> None:
    schema = {
        "type": "object",
        "properties": {"tags": {"type": "array", "items": {"type": ["string", "null"]}}},
    }
    repaired = repair(ToolSpec("f", "", schema), {"tags": "a"})
    assert repaired.ok and repaired.arguments == {"tags": ["a"]}
