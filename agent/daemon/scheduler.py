"""The daemon's scheduler: which occurrences are due, claimed once in the ledger, and the
queue of runs, one turn at a time per model.

Each tick (at the next occurrence, when told a job changed, and at least every
`MAX_SLEEP_S`, so a clock that jumps — a laptop's suspend — is noticed within a minute):

1. every job not paused: the occurrences since its `checked_until` are planned (`plan`):
   on time (past by at most `LATE_S`) they run; older ones were missed while the daemon was
   down or the machine asleep, and run once, all, or not at all, per the job's `missed`
   policy; the rest are recorded as missed. All of it is claimed in one transaction.
2. failed and interrupted runs whose retry time has come are claimed back to the queue;
3. every queued run not yet started here is started, in order, waiting for its model's
   turn (`jobs_per_model`).

The clock is injected (`clock`), so the tests run it over fixed daylight-saving dates and
clocks that jump."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rung.agent.daemon.ledger import Job, Ledger, Run
from rung.agent.daemon.ticker import Ticker
from rung.config.crashpoints import crashpoint
from rung.config.errors import RungError

log = logging.getLogger(__name__)

LATE_S = 30.0  # an occurrence past by more than this was missed, not merely late
MAX_SLEEP_S = 60.0
MAX_PLANNED = 100_000  # occurrences looked at in one tick (an `every 1s` job down a year)
RETRY_BACKOFF_S = (30.0, 300.0, 1800.0)  # after the 1st, 2nd, 3rd failure; then no more

Clock = Callable[[], float]
Runner = Callable[[Job, Run], Awaitable[None]]


@dataclass(frozen=True)
class Plan:
    run: list[datetime] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)


def plan(job: Job, now: float) -> Plan:
    """What to do with the job's occurrences in (checked_until, now]."""
    after = datetime.fromtimestamp(job.checked_until, UTC)
    until = datetime.fromtimestamp(now, UTC)
    seen: list[datetime] = []
    for when in job.schedule.occurrences(after, until):
        seen.append(when)
        if len(seen) >= MAX_PLANNED:
            log.warning("job %s: more than %d occurrences to catch up", job.name, MAX_PLANNED)
            break
    late_before = until - timedelta(seconds=LATE_S)
    on_time = [w for w in seen if w >= late_before]
    late = [w for w in seen if w < late_before]
    if job.missed == "all":
        return Plan(run=late + on_time)
    if job.missed == "skip" or not late:
        return Plan(run=on_time, missed=late)
    # once: the latest missed one, if no on-time one supersedes it and it is not stale
    if on_time or (until - late[-1]).total_seconds() > job.grace_s:
        return Plan(run=on_time, missed=late)
    return Plan(run=[late[-1]], missed=late[:-1])


def retry_at(job: Job, run: Run, now: float, *, interrupted: bool) -> float | None:
    """When to try a failed or interrupted run again; None: not again. A failure (the
    model was down or missing) is retried with backoff; an interruption (a stop or a kill)
    at once, unless the job's policy skips what it misses."""
    if run.attempt > len(RETRY_BACKOFF_S) or (interrupted and job.missed == "skip"):
        return None
    return now if interrupted else now + RETRY_BACKOFF_S[run.attempt - 1]


class Scheduler:
    def __init__(
        self,
        ledger: Ledger,
        runner: Runner,
        *,
        clock: Clock,
        per_model: int = 1,
        model_of: Callable[[Job], str],
        salvage: Callable[[Run], bool] | None = None,
    ) -> None:
        self.ledger = ledger
        self.runner = runner
        self.clock = clock
        self.per_model = per_model
        self.model_of = model_of
        self.salvage = salvage  # a run cut off after its answer was stored: recorded, done
        self._ticker = Ticker("the scheduler", MAX_SLEEP_S)
        self._started: set[int] = set()  # runs handed to a task by this process
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.running: dict[int, str] = {}  # run id -> job, for status

    def wake(self) -> None:
        """A job changed (added, edited, resumed, run now): tick at once."""
        self._ticker.wake()

    async def serve(self) -> None:
        """Recover what a kill cut off, then tick until cancelled."""
        now = self.clock()
        for run in self.ledger.recover(now, os.getpid()):
            if self.salvage is not None and self.salvage(run):
                continue
            log.warning("run %d of job %s was cut off by a kill", run.id, run.job)
            with contextlib.suppress(RungError):
                when = retry_at(self.ledger.get(run.job), run, now, interrupted=True)
                if when is not None:
                    self.ledger.schedule_retry(run.id, when)

        async def step() -> float:
            return self.tick()

        await self._ticker.run(step)

    def tick(self) -> float:
        """Claim what is due, start what is queued; the seconds until the next tick."""
        now = self.clock()
        jobs = {job.name: job for job in self.ledger.jobs()}
        for job in jobs.values():
            if job.paused or job.checked_until >= now:
                continue
            todo = plan(job, now)
            if todo.missed:
                log.info("job %s: %d occurrence(s) missed", job.name, len(todo.missed))
            if self.ledger.claim(
                job.name, seen_until=now, run=todo.run, missed=todo.missed, now=now
            ):
                crashpoint("jobs.claimed")
        self.ledger.retry_due(now)
        for run in self.ledger.queued():
            if run.id in self._started:
                continue
            owner = jobs.get(run.job)
            if owner is None:  # removed since it was queued
                self.ledger.finish(run.id, "failed", now=now, error="the job was removed")
                continue
            self._started.add(run.id)
            task = asyncio.create_task(self._execute(owner, run))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return self._until_next(list(jobs.values()), now)

    def _until_next(self, jobs: list[Job], now: float) -> float:
        wait = MAX_SLEEP_S
        start = datetime.fromtimestamp(now, UTC)
        for job in jobs:
            if job.paused:
                continue
            nxt = job.schedule.next_after(
                max(start, datetime.fromtimestamp(job.checked_until, UTC))
            )
            if nxt is not None:
                wait = min(wait, nxt.timestamp() - now)
        retry = self.ledger.next_retry()
        if retry is not None:
            wait = min(wait, retry - now)
        return max(wait, 0.0)

    async def _execute(self, job: Job, run: Run) -> None:
        model = self.model_of(job)
        slot = self._slots.setdefault(model, asyncio.Semaphore(self.per_model))
        try:
            async with slot:  # FIFO: the queue's order
                if not self.ledger.start(run.id, self.clock(), os.getpid()):
                    return  # not queued any more (finished or taken elsewhere)
                crashpoint("jobs.started")
                self.running[run.id] = job.name
                try:
                    await self.runner(job, run)
                finally:
                    del self.running[run.id]
        except Exception:
            log.exception("run %d of job %s failed in the scheduler", run.id, job.name)
        finally:
            self._started.discard(run.id)
            self._ticker.wake()  # a retry may be due, or the next queued run

    async def settle(self) -> None:
        """Wait for the runs started so far to end."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
