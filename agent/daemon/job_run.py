"""One run of a job: its turn through the daemon's engine, unattended, and its record.

The turn is unattended (`unattended.py`): the engine's `one_turn` with the job's own tools
granted and no others, stored as a session (`rung chat --resume ID` continues it). Its
answer, each tool call and what was refused go to the ledger; the inbox (and the job's
sinks) get the answer, or the failure once no retry is left."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from rung.agent.daemon.host import Host
from rung.agent.daemon.ledger import MANUAL, Job, Ledger, Run, Status, ToolUse
from rung.agent.daemon.notifier import Notifier
from rung.agent.daemon.scheduler import Clock, retry_at
from rung.agent.daemon.unattended import TurnRecord, run_unattended
from rung.config.crashpoints import crashpoint
from rung.config.errors import RungError
from rung.config.settings import Settings

log = logging.getLogger(__name__)


def briefing(job: Job, run: Run, now: float) -> str:
    """What the model is asked: the job's text, after a line that says how it runs."""
    when = datetime.fromtimestamp(now, UTC).astimezone(job.schedule.zone())
    how = "asked for now" if run.occurrence.startswith(MANUAL) else "on its schedule"
    tools = ", ".join(job.tools) if job.tools else "none"
    return (
        f"[Scheduled job {job.name!r}, run {run.id}, {how} at {when:%Y-%m-%d %H:%M %Z}. No one is "
        f"watching: no one can answer a question or approve a tool call. Tools you may use: "
        f"{tools}. Do the task and answer with the result.]\n\n{job.prompt}"
    )


def job_settings(settings: Settings, job: Job) -> Settings:
    update: dict[str, str] = {}
    if job.tier:
        update["default_tier"] = job.tier
    if job.model:
        update["model"] = job.model
    return settings.model_copy(update=update)


class JobRunner:
    def __init__(self, host: Host, ledger: Ledger, notifier: Notifier, clock: Clock) -> None:
        self.host = host
        self.ledger = ledger
        self.notifier = notifier
        self.clock = clock

    async def __call__(self, job: Job, run: Run) -> None:
        settings = job_settings(self.host.settings, job)
        record = TurnRecord()
        try:
            async for begun in run_unattended(
                self.host,
                settings,
                briefing(job, run, self.clock()),
                record,
                grants=job.tools,
                owner=f"the job {job.name}",
                store=self.host.store,
            ):
                if begun.session_id:  # so a kill after the answer is stored finds it
                    self.ledger.set_session(run.id, begun.session_id)
        except asyncio.CancelledError:  # the daemon stops: tried again at its next start
            now = self.clock()
            self.ledger.finish(
                run.id,
                "interrupted",
                now=now,
                answer=record.answer,
                calls=record.calls,
                error="the daemon stopped during the run",
                session=record.session,
                retry_at=retry_at(job, run, now, interrupted=True),
            )
            raise
        crashpoint("jobs.answered")
        now = self.clock()
        error = record.error
        status: Status = "failed" if error else ("denied" if record.refused else "ok")
        when = retry_at(job, run, now, interrupted=False) if error else None
        done = self.ledger.finish(
            run.id,
            status,
            now=now,
            answer=record.answer,
            calls=record.calls,
            error=error,
            session=record.session,
            retry_at=when,
        )
        log.info("run %d of job %s: %s", run.id, job.name, status)
        self._notify(job, done, retrying=when is not None)

    def salvage(self, run: Run) -> bool:
        """A run a kill cut off after its answer was stored (its session holds the whole
        turn) is over: it is recorded from the session instead of being run again."""
        if run.session is None:
            return False
        try:
            messages = self.host.store.messages(run.session)
        except RungError:
            return False
        last = messages[-1] if messages else None
        if last is None or last.role != "assistant" or last.interrupted or last.tool_calls:
            return False
        done = self.ledger.finish(
            run.id,
            "ok",
            now=self.clock(),
            answer=last.content,
            calls=[ToolUse(c.name, c.arguments, "ok") for m in messages for c in m.tool_calls],
            error="",
            session=run.session,
        )
        log.info("run %d of job %s: its answer was stored before a kill; recorded", run.id, run.job)
        try:
            job = self.ledger.get(run.job)
        except RungError:
            return True
        self._notify(job, done, retrying=False)
        return True

    def _notify(self, job: Job, run: Run, *, retrying: bool) -> None:
        if run.status == "failed":
            if retrying:
                return  # said once, when no retry is left
            title = f"{job.name} failed"
            body = f"{run.error}\n(attempt {run.attempt}; `rung jobs history {job.name}`)"
        else:
            title = job.name if run.status == "ok" else f"{job.name} (some tools were refused)"
            body = run.answer
            if run.denied:
                refused = ", ".join(sorted({c.name for c in run.denied}))
                body += f"\n\nRefused unattended: {refused}."
        urgent = job.urgent and run.status == "failed"
        self.notifier.post(
            job.name, title, body.strip(), run_id=run.id, sinks=job.notify, urgent=urgent
        )
