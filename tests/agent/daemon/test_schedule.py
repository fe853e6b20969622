"""When jobs fire: cron, intervals and moments in the job's zone across both daylight-saving
changes; what a scheduler does with missed occurrences per policy; and the scheduler over a
real ledger, with a clock the test moves (fixed dates, a clock that jumps)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rung.agent.daemon.ledger import Job, Ledger, Run
from rung.agent.daemon.schedule import (
    Schedule,
    ScheduleError,
    make_schedule,
    occurrence_key,
    parse_interval,
)
from rung.agent.daemon.scheduler import LATE_S, Scheduler, plan

NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(schedule: Schedule, when: datetime) -> str:
    return when.astimezone(schedule.zone()).strftime("%m-%d %H:%M %Z")


def between(schedule: Schedule, start: datetime, end: datetime) -> list[str]:
    return [local(schedule, w) for w in schedule.occurrences(start, end)]


def test_cron_keeps_the_wall_clock_hour_across_spring_forward() -> None:
    daily = Schedule("cron", "0 8 * * *", NEW_YORK)
    assert between(daily, utc(2026, 3, 7), utc(2026, 3, 10)) == [
        "03-07 08:00 EST",
        "03-08 08:00 EDT",
        "03-09 08:00 EDT",
    ]


def test_a_time_the_clocks_skip_fires_once_when_the_gap_ends() -> None:
    every_quarter = Schedule("cron", "*/15 2 * * *", NEW_YORK)
    assert between(every_quarter, utc(2026, 3, 8, 5), utc(2026, 3, 8, 12)) == ["03-08 03:00 EDT"]
    berlin = Schedule("cron", "30 2 * * *", BERLIN)
    assert between(berlin, utc(2027, 3, 27), utc(2027, 3, 29)) == [
        "03-27 02:30 CET",
        "03-28 03:00 CEST",
    ]


def test_a_time_the_clocks_pass_twice_fires_once() -> None:
    nightly = Schedule("cron", "30 1 * * *", NEW_YORK)
    assert between(nightly, utc(2026, 10, 31, 12), utc(2026, 11, 2, 12)) == [
        "11-01 01:30 EDT",
        "11-02 01:30 EST",
    ]
    hourly = Schedule("cron", "0 * * * *", NEW_YORK)
    fired = list(hourly.occurrences(utc(2026, 11, 1, 4), utc(2026, 11, 1, 8)))
    assert len({occurrence_key(w) for w in fired}) == len(fired)  # never one key twice
    assert [local(hourly, w) for w in fired] == [
        "11-01 01:00 EDT",
        "11-01 02:00 EST",
        "11-01 03:00 EST",
    ]


def test_an_interval_counts_real_time_across_the_change() -> None:
    anchor = utc(2026, 11, 1, 4).timestamp()  # 00:00 EDT
    every = Schedule("every", "1h", NEW_YORK, anchor=anchor)
    fired = list(every.occurrences(utc(2026, 11, 1, 4), utc(2026, 11, 1, 8)))
    assert [w - fired[0] for w in fired] == [timedelta(hours=h) for h in range(4)]
    assert [local(every, w) for w in fired][:3] == [
        "11-01 01:00 EDT",
        "11-01 01:00 EST",  # the hour that comes twice, counted twice: it is real time
        "11-01 02:00 EST",
    ]


def test_a_moment_fires_once_in_its_zone() -> None:
    now = utc(2026, 12, 1)
    once = make_schedule(cron=None, every=None, at="2026-12-24 09:00", tz=BERLIN, now=now)
    assert [occurrence_key(w) for w in once.occurrences(now, utc(2027, 1, 1))] == [
        "2026-12-24T08:00:00Z"
    ]
    assert list(once.occurrences(utc(2026, 12, 24, 8), utc(2027, 1, 1))) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"cron": "0 8 * *"}, "cannot read the cron expression"),
        ({"cron": "0 25 * * *"}, "cannot read the cron expression"),
        ({"every": "2x"}, "cannot read the interval"),
        ({"every": "0m"}, "is zero"),
        ({"at": "tomorrow"}, "cannot read the time"),
        ({"at": "2020-01-01 10:00"}, "is in the past"),
        ({"cron": "* * * * *", "every": "1h"}, "exactly one of"),
        ({}, "exactly one of"),
        ({"every": "1h", "tz": "Mars/Olympus"}, "unknown time zone"),
    ],
)
def test_bad_schedules_say_what_is_wrong(flags: dict[str, str], message: str) -> None:
    given = {"cron": None, "every": None, "at": None, "tz": None, **flags}
    with pytest.raises(ScheduleError, match=message) as error:
        make_schedule(**given, now=utc(2026, 12, 1))  # type: ignore[arg-type]
    assert error.value.hint


def test_intervals_read_as_written() -> None:
    assert parse_interval("90s") == 90
    assert parse_interval("1h30m") == 5400
    assert parse_interval("2 d") == 172800


# --- missed occurrences, per policy -------------------------------------------------------


def minutely(missed: str, checked: datetime, grace_s: float = 3600) -> Job:
    return Job(
        "j",
        "do it",
        Schedule("cron", "* * * * *", "UTC"),
        missed=missed,  # type: ignore[arg-type]
        grace_s=grace_s,
        checked_until=checked.timestamp(),
    )


def test_an_on_time_occurrence_runs_whatever_the_policy() -> None:
    for missed in ("skip", "once", "all"):
        todo = plan(
            minutely(missed, utc(2026, 1, 1, 9, 59, 30)), utc(2026, 1, 1, 10, 0, 1).timestamp()
        )
        assert [occurrence_key(w) for w in todo.run] == ["2026-01-01T10:00:00Z"]
        assert todo.missed == []


def test_missed_occurrences_run_per_policy() -> None:
    down = utc(2026, 1, 1, 9, 0, 30)  # the daemon went down; ten minutes later it is back
    back = utc(2026, 1, 1, 9, 10, 45).timestamp()
    skip, once, every = (plan(minutely(p, down), back) for p in ("skip", "once", "all"))
    assert (len(skip.run), len(skip.missed)) == (0, 10)
    assert [occurrence_key(w) for w in once.run] == ["2026-01-01T09:10:00Z"]
    assert len(once.missed) == 9
    assert (len(every.run), len(every.missed)) == (10, 0)
    stale = plan(minutely("once", down, grace_s=10), back + 600)
    assert (stale.run, len(stale.missed)) == ([], 20)  # too late to catch up: recorded missed


# --- the scheduler over a real ledger, with a clock the test moves -----------------------


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now

    def to(self, when: datetime) -> None:
        self.now = when.timestamp()


class Recorder:
    """A test double for the job runner: records each run it is handed, answers nothing."""

    def __init__(self, ledger: Ledger, clock: Clock) -> None:
        self.ledger, self.clock = ledger, clock
        self.ran: list[str] = []

    async def __call__(self, job: Job, run: Run) -> None:
        self.ran.append(run.occurrence)
        self.ledger.finish(run.id, "ok", now=self.clock(), answer="done")


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger(tmp_path / "jobs.sqlite3") as ledger:
        yield ledger  # type: ignore[misc]


async def tick(scheduler: Scheduler) -> None:
    scheduler.tick()
    await scheduler.settle()


async def test_a_daily_job_fires_at_8_local_through_both_changes(ledger: Ledger) -> None:
    clock = Clock(utc(2026, 3, 6, 12))
    schedule = Schedule("cron", "0 8 * * *", NEW_YORK)
    ledger.add(Job("daily", "report", schedule), now=clock())
    recorder = Recorder(ledger, clock)
    scheduler = Scheduler(ledger, recorder, clock=clock, model_of=lambda job: "m")

    async def days(n: int) -> list[str]:
        recorder.ran = []
        for _ in range(n):  # the daemon wakes at each next occurrence
            nxt = schedule.next_after(datetime.fromtimestamp(clock(), UTC))
            assert nxt is not None
            clock.to(nxt + timedelta(seconds=1))
            await tick(scheduler)
        return [local(schedule, datetime.fromisoformat(k)) for k in recorder.ran]

    assert await days(4) == [  # made at 07:00 EST
        "03-06 08:00 EST",
        "03-07 08:00 EST",
        "03-08 08:00 EDT",
        "03-09 08:00 EDT",
    ]
    clock.to(utc(2026, 10, 30, 14))  # months on (the daemon was down): all missed, stale
    recorder.ran = []
    await tick(scheduler)
    assert recorder.ran == []
    assert await days(4) == [
        "10-31 08:00 EDT",
        "11-01 08:00 EST",
        "11-02 08:00 EST",
        "11-03 08:00 EST",
    ]
    assert ledger.history("daily")[4].status == "missed"


async def test_a_clock_that_jumps_runs_the_job_once_and_records_the_rest(ledger: Ledger) -> None:
    clock = Clock(utc(2026, 6, 1, 22))
    ledger.add(Job("hourly", "check", Schedule("cron", "0 * * * *", "UTC")), now=clock())
    recorder = Recorder(ledger, clock)
    scheduler = Scheduler(ledger, recorder, clock=clock, model_of=lambda job: "m")
    clock.to(utc(2026, 6, 2, 6, 20))  # the laptop slept from 22:00 to 06:20
    await tick(scheduler)
    await tick(scheduler)  # a second tick at the same time claims nothing again
    assert recorder.ran == ["2026-06-02T06:00:00Z"]
    statuses = [r.status for r in ledger.history("hourly")]
    assert statuses.count("ok") == 1 and statuses.count("missed") == 7
    clock.to(utc(2026, 6, 2, 5))  # and back (a clock corrected): nothing runs twice
    await tick(scheduler)
    assert recorder.ran == ["2026-06-02T06:00:00Z"]


async def test_a_second_scheduler_on_the_same_ledger_claims_nothing_twice(
    ledger: Ledger, tmp_path: Path
) -> None:
    clock = Clock(utc(2026, 6, 1, 9, 59, 59))
    ledger.add(Job("j", "x", Schedule("cron", "* * * * *", "UTC")), now=clock())
    clock.to(utc(2026, 6, 1, 10, 0, 5))
    with Ledger(tmp_path / "jobs.sqlite3") as other:
        first, second = Recorder(ledger, clock), Recorder(other, clock)
        a = Scheduler(ledger, first, clock=clock, model_of=lambda job: "m")
        b = Scheduler(other, second, clock=clock, model_of=lambda job: "m")
        await asyncio.gather(tick(a), tick(b))
    assert sorted(first.ran + second.ran) == ["2026-06-01T10:00:00Z"]


def test_late_is_a_short_window() -> None:
    assert LATE_S <= 60  # an occurrence older than this counts as missed


async def test_an_edited_job_never_runs_an_occurrence_again(ledger: Ledger) -> None:
    from dataclasses import replace

    clock = Clock(utc(2026, 6, 1, 9, 59, 50))
    job = ledger.add(Job("j", "x", Schedule("cron", "0 10 * * *", "UTC")), now=clock())
    recorder = Recorder(ledger, clock)
    scheduler = Scheduler(ledger, recorder, clock=clock, model_of=lambda job: "m")
    clock.to(utc(2026, 6, 1, 10, 0, 1))
    await tick(scheduler)
    ledger.update(replace(job, prompt="y", schedule=Schedule("cron", "0 10,11 * * *", "UTC")))
    await tick(scheduler)
    clock.to(utc(2026, 6, 1, 11, 0, 1))
    await tick(scheduler)
    assert recorder.ran == ["2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"]


async def test_a_failed_run_is_retried_on_its_own_row_after_the_backoff(ledger: Ledger) -> None:
    from rung.agent.daemon.scheduler import RETRY_BACKOFF_S, retry_at

    clock = Clock(utc(2026, 6, 1, 9, 59, 50))
    ledger.add(Job("j", "x", Schedule("cron", "0 10 * * *", "UTC")), now=clock())
    attempts: list[int] = []

    async def times_out(job: Job, run: Run) -> None:  # a test double: the turn timed out
        attempts.append(run.attempt)
        when = retry_at(job, run, clock(), interrupted=False)
        ledger.finish(run.id, "failed", now=clock(), error="timed out", retry_at=when)

    scheduler = Scheduler(ledger, times_out, clock=clock, model_of=lambda job: "m")
    clock.to(utc(2026, 6, 1, 10, 0, 1))
    await tick(scheduler)
    await tick(scheduler)  # not before its time
    for delay in RETRY_BACKOFF_S:
        clock.now += delay
        await tick(scheduler)
    clock.now += 86400 / 2  # no retry left: nothing more runs
    await tick(scheduler)
    assert attempts == [1, 2, 3, 4]
    (run,) = ledger.history("j")
    assert (run.occurrence, run.status, run.attempt, run.retry_at) == (
        "2026-06-01T10:00:00Z",
        "failed",
        4,
        None,
    )
