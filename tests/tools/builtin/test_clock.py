"""The clock server, called through a real in-process MCP client."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import TextContent

from rung.tools.builtin import clock
from tests.tools.builtin.helpers import ok, refused


def iso(text: str) -> datetime:
    """The moment on the 'ISO 8601:' line of a reply (the last one if there are two)."""
    found = re.findall(r"^ISO 8601: (\S+)$", text, re.MULTILINE)
    assert found, text
    return datetime.fromisoformat(found[-1])


async def test_now_in_a_named_zone_has_weekday_and_offset() -> None:
    text = await ok(clock.create(), "now", timezone="Asia/Tokyo")
    moment = iso(text)
    expected = datetime.now(ZoneInfo("Asia/Tokyo"))
    assert abs(moment - expected) < timedelta(seconds=5)
    assert moment.utcoffset() == timedelta(hours=9)
    assert text.startswith(f"{moment:%A}, ")
    assert "in Asia/Tokyo (JST, UTC+09:00)" in text


async def test_now_defaults_to_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/Argentina/Buenos_Aires")
    text = await ok(clock.create(), "now")
    assert "in America/Argentina/Buenos_Aires (" in text
    assert iso(text).utcoffset() == timedelta(hours=-3)


@pytest.mark.parametrize(
    ("zone", "label"),
    [
        ("UTC", "in UTC (UTC+00:00)"),
        ("utc+5:30", "in UTC+05:30 (UTC+05:30)"),
        ("-08:00", "in UTC-08:00 (UTC-08:00)"),
        ("europe/paris", "in Europe/Paris ("),
        ("Tokyo", "in Asia/Tokyo ("),
        ("New York", "in America/New_York ("),
    ],
)
async def test_zones_are_read_leniently(zone: str, label: str) -> None:
    assert label in await ok(clock.create(), "now", timezone=zone)


async def test_an_unknown_zone_is_refused_with_close_matches() -> None:
    message = await refused(clock.create(), "now", timezone="Europe/Berln")
    assert message.startswith("unknown time zone 'Europe/Berln'; did you mean Europe/Berlin")
    assert "IANA" in message


async def test_an_unknown_zone_without_close_matches_says_what_to_use() -> None:
    message = await refused(clock.create(), "now", timezone="Qwxyz Zzz")
    assert message.startswith("unknown time zone 'Qwxyz Zzz'. Use an IANA name")


async def test_convert_time_between_zones_that_change_clocks_on_different_days() -> None:
    text = await ok(
        clock.create(),
        "convert_time",
        time="2026-03-20T12:00",
        from_timezone="Europe/London",
        to_timezone="America/New_York",
    )
    source, target = text.split("\nis\n")
    assert iso(source).isoformat() == "2026-03-20T12:00:00+00:00"
    assert iso(target).isoformat() == "2026-03-20T08:00:00-04:00"
    assert target.startswith("Friday, 20 March 2026, 08:00:00 in America/New_York (EDT")


async def test_convert_time_says_when_a_time_does_not_exist() -> None:
    text = await ok(
        clock.create(),
        "convert_time",
        time="2026-03-29T01:30",
        from_timezone="Europe/London",
        to_timezone="UTC",
    )
    assert "01:30 does not exist in Europe/London on 2026-03-29" in text


async def test_convert_time_of_day_uses_today_in_the_source_zone() -> None:
    text = await ok(
        clock.create(), "convert_time", time="9:15", from_timezone="UTC", to_timezone="+05:30"
    )
    target = iso(text)
    assert (target.hour, target.minute) == (14, 45)
    assert target.date() in {
        datetime.now(ZoneInfo("UTC")).date() + timedelta(days=d) for d in (0, 1)
    }


async def test_convert_time_honours_an_offset_in_the_time() -> None:
    text = await ok(
        clock.create(), "convert_time", time="2026-06-01T12:00Z", to_timezone="Europe/Berlin"
    )
    assert iso(text).isoformat() == "2026-06-01T14:00:00+02:00"


async def test_convert_time_refuses_an_unreadable_time() -> None:
    message = await refused(clock.create(), "convert_time", time="noonish", to_timezone="UTC")
    assert message.startswith("cannot read 'noonish' as a date; use ISO 8601")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"date": "2026-01-31", "months": 1}, "Saturday, 28 February 2026"),
        ({"date": "2024-01-31", "months": 1}, "Thursday, 29 February 2024"),
        ({"date": "2026-05-09", "days": -10}, "Wednesday, 29 April 2026"),
        ({"date": "2026-05-09", "weeks": 2, "days": 1}, "Sunday, 24 May 2026"),
        ({"date": "2026-12-01", "months": -12}, "Monday, 1 December 2025"),
    ],
)
async def test_add_time_to_a_date(arguments: dict[str, object], expected: str) -> None:
    text = await ok(clock.create(), "add_time", **arguments)
    assert text.splitlines()[0] == expected


async def test_add_time_to_a_date_time() -> None:
    text = await ok(clock.create(), "add_time", date="2026-05-09T22:30", hours=3, minutes=45)
    assert iso(text) == datetime(2026, 5, 10, 2, 15)
    assert text.startswith("Sunday, 10 May 2026, 02:15:00")


async def test_add_time_out_of_range_is_refused() -> None:
    message = await refused(clock.create(), "add_time", date="9999-12-01", months=1)
    assert "outside the years 1 to 9999" in message


async def test_days_between_dates() -> None:
    text = await ok(clock.create(), "days_between", start="2026-01-01", end="2026-12-25")
    assert text == (
        "358 days (51 weeks and 1 day) from Thursday, 1 January 2026 to Friday, 25 December 2026"
    )


async def test_days_between_with_times_and_backwards() -> None:
    text = await ok(
        clock.create(), "days_between", start="2026-01-03T10:30", end="2026-01-01T08:00"
    )
    assert text.startswith("2 days 2 hours 30 minutes from Saturday, 3 January 2026")
    assert "back in time" in text


async def test_days_between_today_and_a_date() -> None:
    today = datetime.now().date()
    text = await ok(
        clock.create(), "days_between", start="today", end=(today + timedelta(days=3)).isoformat()
    )
    assert text.startswith("3 days from ")


async def test_the_module_runs_as_a_stdio_server() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "rung.tools.builtin.clock"])
    async with Client(params) as client:
        result = await client.call_tool("now", {"timezone": "UTC"})
    assert not result.is_error
    assert isinstance(result.content[0], TextContent)
    assert abs(iso(result.content[0].text) - datetime.now(ZoneInfo("UTC"))) < timedelta(seconds=30)
