"""The daemon's jobs: the ledger, the scheduler and the runner, started and stopped with
the daemon (the API's lifespan), and what `rung daemon status` says of them."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from rung.agent.daemon.heartbeat import Heartbeat
from rung.agent.daemon.host import Host
from rung.agent.daemon.job_run import JobRunner, job_settings
from rung.agent.daemon.ledger import Ledger
from rung.agent.daemon.notifier import Notifier
from rung.agent.daemon.schedule import Hours, local_zone_name, zone
from rung.agent.daemon.scheduler import Clock, Scheduler
from rung.agent.daemon.sinks import senders
from rung.config.errors import RungError

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, host: Host, clock: Clock = time.time) -> None:
        self.host = host
        self.clock = clock
        self.ledger: Ledger | None = None
        self.scheduler: Scheduler | None = None
        self.problem = ""  # why jobs do not run, for status
        self.notifier: Notifier | None = None
        self.heartbeat: Heartbeat | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        try:
            self.ledger = Ledger(self.host.paths.jobs_db)
        except RungError as exc:  # the daemon serves the rest; status says why
            self.problem = exc.message
            log.error("jobs cannot run: %s", exc.message)
            return
        settings = self.host.settings
        self.notifier = Notifier(
            self.ledger,
            senders(settings),
            clock=self.clock,
            quiet=Hours.parse(settings.quiet_hours, zone(local_zone_name())),
        )
        runner = JobRunner(self.host, self.ledger, self.notifier, self.clock)
        self.scheduler = Scheduler(
            self.ledger,
            runner,
            salvage=runner.salvage,
            clock=self.clock,
            per_model=self.host.settings.jobs_per_model,
            model_of=lambda job: job_settings(self.host.settings, job).model,
        )
        zone_here = zone(local_zone_name())
        self.heartbeat = Heartbeat(
            self.host,
            self.ledger,
            self.notifier,
            clock=self.clock,
            active=Hours.parse(settings.active_hours, zone_here),
        )
        self._tasks = [
            asyncio.create_task(self.scheduler.serve()),
            asyncio.create_task(self.notifier.serve()),
            asyncio.create_task(self.heartbeat.serve()),
        ]

    def wake(self) -> bool:
        if self.scheduler is None:
            return False
        self.scheduler.wake()
        return True

    async def beat(self) -> dict[str, Any]:
        """A heartbeat now (`rung heartbeat now`)."""
        if self.heartbeat is None:
            return {"outcome": "failed", "why": self.problem or "jobs are not running"}
        return await self.heartbeat.beat(forced=True)

    def heartbeat_status(self) -> dict[str, Any]:
        if self.heartbeat is None:
            return {"problem": self.problem or "not started"}
        try:
            return self.heartbeat.status()
        except RungError as exc:
            return {"problem": exc.message}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.scheduler is not None:
            await self.scheduler.close()
        if self.ledger is not None:
            self.ledger.close()

    def status(self) -> dict[str, Any]:
        if self.ledger is None or self.scheduler is None:
            return {"problem": self.problem or "not started"}
        try:
            jobs = self.ledger.jobs()
            queued = len(self.ledger.queued())
            unread = self.ledger.unread()
            sinks = self.ledger.sink_health()
        except RungError as exc:
            return {"problem": exc.message}
        now = datetime.fromtimestamp(self.clock(), UTC)
        upcoming = [
            (when, job.name)
            for job in jobs
            if not job.paused and (when := job.schedule.next_after(now)) is not None
        ]
        nxt = min(upcoming, default=None)
        return {
            "jobs": len(jobs),
            "paused": sum(job.paused for job in jobs),
            "running": sorted(self.scheduler.running.values()),
            "queued": queued,
            "next": {"job": nxt[1], "at": nxt[0].isoformat()} if nxt else None,
            "inbox_unread": unread,
            "sinks": sinks,
        }
