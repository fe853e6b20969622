"""When a job fires: a cron expression, an interval, or one moment, each in the job's own
time zone, and the occurrences between two instants.

Every occurrence is an instant in UTC; its key in the run ledger (`occurrence_key`) is
that instant, so a time that reads the same twice on the wall clock runs once, and a job
edited to the same times keeps its claimed occurrences. Wall-clock times are resolved with
`zoneinfo` as cron does across daylight-saving changes:

- a time the clocks skip (02:30 on a spring-forward night) fires when the gap ends (03:00),
  once, however many of the job's times fell in the gap;
- a time the clocks pass twice (01:30 on a fall-back night) fires the first time only.

An interval (`every 2h`) counts real elapsed time from when the job was made, so it is
blind to the wall clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rung.config.errors import UserError

Kind = Literal["cron", "every", "at"]
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_INTERVAL = re.compile(r"(\d+)\s*([smhdw])")
MIN_INTERVAL_S = 1


class ScheduleError(UserError):
    """A schedule or time zone that cannot be read."""


@dataclass(frozen=True)
class Schedule:
    kind: Kind
    spec: str  # the cron expression, the interval ("2h"), or the moment ("2026-12-24 09:00")
    tz: str  # an IANA zone name
    anchor: float = 0.0  # `every`: the instant (epoch s) the intervals count from

    def describe(self) -> str:
        what = {"cron": "cron", "every": "every", "at": "at"}[self.kind]
        return f"{what} {self.spec} ({self.tz})"

    def zone(self) -> tzinfo:
        return zone(self.tz)

    def occurrences(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Each occurrence in (after, until], in order, as aware UTC datetimes."""
        if self.kind == "every":
            step = parse_interval(self.spec)
            start = datetime.fromtimestamp(self.anchor, UTC)
            k = max(0, int((after - start).total_seconds() // step) + 1)
            while (when := start + timedelta(seconds=k * step)) <= until:
                if when > after:
                    yield when
                k += 1
            return
        if self.kind == "at":
            when = resolve(parse_moment(self.spec), self.zone())
            if after < when <= until:
                yield when
            return
        yield from self._cron(after, until)

    def _cron(self, after: datetime, until: datetime) -> Iterator[datetime]:
        from croniter import croniter

        tz = self.zone()
        # Walk the wall clock (naive local times), from an hour before `after` in local time
        # (a skipped time resolves forward past it), and keep what lands in the window.
        wall = after.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)
        walker = croniter(self.spec, wall)
        last: datetime | None = None
        while True:
            local = walker.get_next(datetime)
            when = resolve(local, tz)
            if when > until:
                return
            if when > after and when != last:
                last = when
                yield when

    def next_after(self, after: datetime) -> datetime | None:
        """The first occurrence after `after`, within ten years; None when there is none."""
        return next(self.occurrences(after, after + timedelta(days=3660)), None)


def occurrence_key(when: datetime) -> str:
    """The ledger's key for an occurrence: its UTC instant, to the second."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def resolve(local: datetime, tz: tzinfo) -> datetime:
    """The UTC instant of a naive wall-clock time in `tz`: a time passed twice resolves to
    its first; a time skipped, to the end of the gap."""
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # Skipped: fold=0 reads it with the offset before the gap, fold=1 with the one after;
    # the gap ends at the instant between them where the offset changes.
    low = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = first
    before = low.astimezone(tz).utcoffset()
    low, high = min(low, high), max(low, high)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0)


def zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"unknown time zone {name!r}",
            hint="use an IANA name such as Europe/Berlin, America/New_York or UTC",
        ) from None


def local_zone_name() -> str:
    """The IANA name of this machine's zone ($TZ, then /etc/localtime); UTC when unknown."""
    import os
    from pathlib import Path

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    try:
        target = str(Path("/etc/localtime").resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    with_file = Path("/etc/timezone")
    if with_file.is_file():
        candidates.append(with_file.read_text(errors="replace").strip())
    for name in candidates:
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name
    return "UTC"


def parse_interval(text: str) -> int:
    """Seconds in an interval such as "90s", "15m", "2h", "1d", "1h30m"."""
    cleaned = text.strip().lower().replace(" ", "")
    parts = _INTERVAL.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise ScheduleError(
            f"cannot read the interval {text!r}",
            hint="write a number and a unit: 90s, 15m, 2h, 1d, 1w (or 1h30m)",
        )
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds < MIN_INTERVAL_S:
        raise ScheduleError(f"the interval {text!r} is zero", hint="give at least 1s")
    return seconds


def parse_moment(text: str) -> datetime:
    """A naive wall-clock time from "YYYY-MM-DD HH:MM" (or with seconds, or a T)."""
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise ScheduleError(
        f"cannot read the time {text!r}",
        hint='write it as "YYYY-MM-DD HH:MM", e.g. "2026-12-24 09:00"',
    )


def check_cron(expression: str) -> str:
    from croniter import croniter

    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(expression):
        raise ScheduleError(
            f"cannot read the cron expression {expression!r}",
            hint='five fields: minute hour day-of-month month day-of-week, e.g. "0 8 * * 1-5"',
        )
    return " ".join(fields)


def make_schedule(
    *, cron: str | None, every: str | None, at: str | None, tz: str | None, now: datetime
) -> Schedule:
    """The schedule one of --cron, --every or --at gives (exactly one), in `tz` (the local
    zone when None). A moment must be in the future."""
    given = [(k, v) for k, v in (("cron", cron), ("every", every), ("at", at)) if v is not None]
    if len(given) != 1:
        raise ScheduleError(
            "give exactly one of --cron, --every or --at",
            hint='e.g. --cron "0 8 * * 1-5", --every 2h, --at "2026-12-24 09:00"',
        )
    kind, spec = given[0]
    name = tz or local_zone_name()
    zone(name)  # a clear error for an unknown zone
    if kind == "cron":
        return Schedule("cron", check_cron(spec), name)
    if kind == "every":
        parse_interval(spec)
        return Schedule("every", spec.strip(), name, anchor=now.timestamp())
    moment = parse_moment(spec)
    timespec = "minutes" if moment.second == 0 else "seconds"
    schedule = Schedule("at", moment.isoformat(sep=" ", timespec=timespec), name)
    if resolve(moment, zone(name)) <= now:
        raise ScheduleError(
            f"{spec} ({name}) is in the past", hint="give a time to come, or use --cron/--every"
        )
    return schedule


@dataclass(frozen=True)
class Hours:
    """A daily window of local time: "08:00-22:00", or across midnight "22:00-07:00";
    equal ends ("00:00-00:00") mean all day."""

    start: time
    end: time
    zone: tzinfo

    @classmethod
    def parse(cls, text: str, zone: tzinfo) -> Hours | None:
        """From "HH:MM-HH:MM" (the settings check the form); None for "" (no window)."""
        if not text:
            return None
        start, end = (time.fromisoformat(part) for part in text.split("-"))
        return cls(start, end, zone)

    def _local(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, UTC).astimezone(self.zone)

    def contains(self, now: float) -> bool:
        moment = self._local(now).time().replace(tzinfo=None)
        if self.start == self.end:
            return True
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end  # across midnight

    def ends(self, now: float) -> float | None:
        """When the window that holds `now` ends; None when `now` is outside (or all day)."""
        if self.start == self.end or not self.contains(now):
            return None
        local = self._local(now)
        moment = local.time().replace(tzinfo=None)
        day = local.date() if moment < self.end else local.date() + timedelta(days=1)
        return resolve(datetime.combine(day, self.end), self.zone).timestamp()

    def next_start(self, now: float) -> float:
        """`now` when inside the window, else when it next begins."""
        if self.contains(now):
            return now
        local = self._local(now)
        day = local.date()
        if local.time().replace(tzinfo=None) >= self.start:
            day += timedelta(days=1)
        return resolve(datetime.combine(day, self.start), self.zone).timestamp()
