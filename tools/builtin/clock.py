"""The clock server: the current date and time, time zones, and date arithmetic.

Models do not know what day it is and are poor at calendar sums, so these tools do both
exactly. Time zones are IANA names (``Europe/Berlin``) read through ``zoneinfo``; ``UTC``,
fixed offsets such as ``UTC+2`` or ``-05:30``, and an unambiguous city (``Tokyo``) are
understood too. All tools only read.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import difflib
import functools
import os
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.tools.builtin import Options, new_server, parse_options

NAME = "clock"
READ_ONLY: frozenset[str] = frozenset({"now", "convert_time", "add_time", "days_between"})

LOCAL = "local"
_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)

Zone = Annotated[
    str,
    Field(description="IANA time zone such as 'Europe/Berlin', 'UTC', or 'local' (the default)"),
]
When = Annotated[
    str,
    Field(description="ISO 8601 date or date-time such as '2026-05-09' or '2026-05-09T14:30'"),
]


class ClockOptions(Options):
    """The clock server takes no options."""


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a clock server (it has no options; any given is refused)."""
    parse_options(ClockOptions, NAME, options)
    server = new_server(NAME, "Current date and time, time zones, date arithmetic.")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    for tool in (now, convert_time, add_time, days_between):
        server.add_tool(tool, annotations=read_only, structured_output=False)
    return server


def now(timezone: Zone = LOCAL) -> str:
    """Get the current date and time, with the weekday and UTC offset."""
    zone, label = resolve_zone(timezone)
    return describe(datetime.now(zone).replace(microsecond=0), label)


def convert_time(
    time: Annotated[str, Field(description="Date-time ('2026-05-09T14:30') or time ('14:30')")],
    to_timezone: Zone,
    from_timezone: Zone = LOCAL,
) -> str:
    """Convert a date and time from one time zone to another."""
    source, source_label = resolve_zone(from_timezone)
    target, target_label = resolve_zone(to_timezone)
    moment = parse_when(time, source, time_of_day=True)
    if moment.utcoffset() is not None and moment.tzinfo is not source:
        source_label = _offset_label(moment)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=source)
    converted = moment.astimezone(target)
    text = f"{describe(moment, source_label)}\nis\n{describe(converted, target_label)}"
    return text + _gap_note(moment, source_label)


def add_time(
    date: Annotated[str, Field(description="ISO 8601 date or date-time, or 'today' or 'now'")],
    days: Annotated[int, Field(description="Days to add (negative to subtract)")] = 0,
    weeks: Annotated[int, Field(description="Weeks to add (negative to subtract)")] = 0,
    months: Annotated[int, Field(description="Calendar months to add (negative to subtract)")] = 0,
    hours: Annotated[int, Field(description="Hours to add (negative to subtract)")] = 0,
    minutes: Annotated[int, Field(description="Minutes to add (negative to subtract)")] = 0,
) -> str:
    """Add (or subtract) days, weeks, months, hours and minutes to a date."""
    start = parse_when(date, None)
    try:
        moved = _add_months(start, months)
        result = moved + timedelta(days=days, weeks=weeks, hours=hours, minutes=minutes)
    except OverflowError:
        raise ToolError("the result is outside the years 1 to 9999") from None
    if _is_date_only(date) and hours == 0 and minutes == 0:
        return describe_date(result.date())
    return describe(result, _label(result))


def days_between(start: When, end: When) -> str:
    """Count the days (and hours) from one date to another."""
    first, last = parse_when(start, None), parse_when(end, None)
    if (first.tzinfo is None) != (last.tzinfo is None):
        first, last = first.replace(tzinfo=None), last.replace(tzinfo=None)
    delta = last - first
    span = f"{_span(abs(delta))} from {_weekday_date(first)} to {_weekday_date(last)}"
    return span if delta >= timedelta(0) else f"{span} (back in time: the end is before the start)"


def _span(delta: timedelta) -> str:
    """'10 days', '3 days 4 hours 5 minutes', '15 days (2 weeks and 1 day)'."""
    hours, seconds = divmod(delta.seconds, 3600)
    parts = [(delta.days, "day"), (hours, "hour"), (seconds // 60, "minute")]
    text = " ".join(_count(n, unit) for n, unit in parts if n or unit == "day")
    if delta.days >= 7:
        weeks, days = divmod(delta.days, 7)
        text += f" ({_count(weeks, 'week')} and {_count(days, 'day')})"
    return text


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _gap_note(moment: datetime, label: str) -> str:
    """A note when the clocks skip ``moment`` (it was read with the offset before the jump)."""
    if moment.astimezone(dt.UTC).astimezone(moment.tzinfo) == moment.replace(fold=0):
        return ""
    return (
        f"\nNote: {moment:%H:%M} does not exist in {label} on {moment:%Y-%m-%d} (the clocks "
        "jump forward then); it was read with the offset from before the jump."
    )


# --- time zones -------------------------------------------------------------------------


def resolve_zone(name: str) -> tuple[tzinfo, str]:
    """The zone for ``name`` and the label to show for it; ToolError with close matches."""
    text = name.strip()
    if text.lower() in ("", LOCAL, "localtime"):
        return _local_zone()
    if text.upper() in ("UTC", "Z", "GMT", "ZULU"):
        return dt.UTC, "UTC"
    if match := _OFFSET.match(text):
        return _fixed_offset(match)
    known = _zone_names()
    exact = known.get(text.lower().replace(" ", "_"))
    if exact:
        return ZoneInfo(exact), exact
    cities = [zone for zone in known.values() if zone.rsplit("/", 1)[-1].lower() == _city(text)]
    if len(cities) == 1:
        return ZoneInfo(cities[0]), cities[0]
    raise ToolError(_unknown_zone(text, cities or _close_zones(text)))


def _fixed_offset(match: re.Match[str]) -> tuple[tzinfo, str]:
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise ToolError(f"bad UTC offset {match.group(0)!r}; use one such as 'UTC+2' or '-05:30'")
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    zone = dt.timezone(offset)
    return zone, _offset_text(offset)


def _local_zone() -> tuple[tzinfo, str]:
    zone = datetime.now().astimezone().tzinfo or dt.UTC
    key = os.environ.get("TZ", "").lstrip(":") or _localtime_link()
    try:
        return (ZoneInfo(key), key) if key else (zone, "local time")
    except (ZoneInfoNotFoundError, ValueError):
        return zone, "local time"


def _localtime_link() -> str:
    try:
        target = os.readlink("/etc/localtime")
    except OSError:
        return ""
    _, found, key = target.partition("zoneinfo/")
    return key if found else ""


@functools.cache
def _zone_names() -> dict[str, str]:
    return {zone.lower(): zone for zone in available_timezones()}


def _city(text: str) -> str:
    return text.rsplit("/", 1)[-1].strip().lower().replace(" ", "_")


def _close_zones(text: str) -> list[str]:
    names = _zone_names()
    close = difflib.get_close_matches(text.lower().replace(" ", "_"), names, n=5, cutoff=0.6)
    if not close:
        cities = {name.rsplit("/", 1)[-1]: name for name in names}
        close = [cities[c] for c in difflib.get_close_matches(_city(text), cities, n=5)]
    return [names[name] for name in close]


def _unknown_zone(text: str, matches: list[str]) -> str:
    hint = f"; did you mean {', '.join(matches[:5])}?" if matches else "."
    return (
        f"unknown time zone {text!r}{hint} "
        "Use an IANA name such as 'Europe/Berlin', 'America/New_York', 'UTC' or 'local'."
    )


# --- reading and writing dates ----------------------------------------------------------


def parse_when(text: str, zone: tzinfo | None, *, time_of_day: bool = False) -> datetime:
    """Read an ISO 8601 date or date-time, 'today', 'now', or (if asked) a bare time of day.

    'now', 'today' and a bare time are taken in ``zone``, or in local time without one.
    """
    value = text.strip()
    word = value.lower()
    current = datetime.now(zone or _local_zone()[0]).replace(microsecond=0)
    if word == "now":
        return current
    if word == "today":
        return datetime.combine(current.date(), dt.time(), current.tzinfo)
    try:
        if time_of_day and re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", value):
            hour, rest = value.split(":", 1)
            clock = dt.time.fromisoformat(f"{int(hour):02d}:{rest}")
            return datetime.combine(current.date(), clock, current.tzinfo)
        return datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(
            f"cannot read {text!r} as a date; use ISO 8601 such as '2026-05-09' "
            "or '2026-05-09T14:30'"
        ) from None


def describe(moment: datetime, zone_label: str) -> str:
    """'Saturday, 9 May 2026, 14:03:22 in Europe/Berlin (CEST, UTC+02:00)' and the ISO form."""
    when = f"{moment:%A}, {moment.day} {moment:%B %Y, %H:%M:%S}"
    offset = moment.utcoffset()
    if offset is None:
        return f"{when} (no time zone)\nISO 8601: {moment.isoformat()}"
    details = _offset_text(offset)
    abbreviation = moment.tzname()
    if abbreviation and abbreviation not in (details, zone_label) and abbreviation[0].isalpha():
        details = f"{abbreviation}, {details}"
    return f"{when} in {zone_label} ({details})\nISO 8601: {moment.isoformat()}"


def describe_date(day: dt.date) -> str:
    return f"{_weekday_date(day)}\nISO 8601: {day.isoformat()}"


def _weekday_date(moment: dt.date) -> str:
    return f"{moment:%A}, {moment.day} {moment:%B %Y}"


def _label(moment: datetime) -> str:
    zone = moment.tzinfo
    return str(getattr(zone, "key", "")) or _offset_label(moment)


def _offset_label(moment: datetime) -> str:
    offset = moment.utcoffset()
    return _offset_text(offset) if offset is not None else "local time"


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _is_date_only(text: str) -> bool:
    value = text.strip().lower()
    return value == "today" or re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", value) is not None


def _add_months(moment: datetime, months: int) -> datetime:
    if not months:
        return moment
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the clock server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.clock",
        description="Rung's clock tools as an MCP server over stdio: now, convert_time, "
        "add_time, days_between. It takes no options.",
    )
    parser.parse_args(argv)
    create().run()


if __name__ == "__main__":
    main()
