"""One run of a job: its turn through the daemon's engine, unattended, and its record.

The turn is `one_turn` — the same engine as `rung ask` — on the daemon's warm tools and
memory, stored as a session (`rung chat --resume ID` continues it). No one can approve
anything in it: its channel grants the job's own tools, which run without asking; every
other tool is refused, and the model is told why (the run goes on without it). Its answer,
each tool call and what was refused go to the ledger; the inbox gets the answer, or the
failure once no retry is left."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from rung.agent.daemon.channel import Channel
from rung.agent.daemon.host import Host
from rung.agent.daemon.ledger import MANUAL, Job, Ledger, Run, Status, ToolUse
from rung.agent.daemon.notifier import Notifier
from rung.agent.daemon.scheduler import Clock, retry_at
from rung.agent.daemon.wire import TurnFailed
from rung.agent.messages import FinalAnswer, ToolResult, TurnBegun, TurnEvent
from rung.agent.turn import one_turn
from rung.config.crashpoints import crashpoint
from rung.config.settings import Settings

log = logging.getLogger(__name__)


def briefing(job: Job, run: Run, now: float) -> str:
    """What the model is asked: the job's text, after a line that says how it runs."""
    when = datetime.fromtimestamp(now, UTC).astimezone(job.schedule.zone())
    how = "asked for now" if run.occurrence.startswith(MANUAL) else "on its schedule"
    tools = ", ".join(job.tools) if job.tools else "none"
    return (
        f"[Scheduled job {job.name!r}, run {how} at {when:%Y-%m-%d %H:%M %Z}. No one is "
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
        question = briefing(job, run, self.clock())
        channel = Channel(interactive=False, grants=job.tools, owner=f"the job {job.name}")
        calls: list[ToolUse] = []
        answer = error = ""
        session: str | None = None

        def turn() -> AsyncIterator[TurnEvent]:
            return one_turn(
                settings,
                question,
                store=self.host.store,
                tools=self.host.tools,
                paths=self.host.paths,
            )

        try:
            async for event in self.host.events(turn, channel):
                if isinstance(event, TurnBegun):
                    session = event.session_id
                elif isinstance(event, ToolResult):
                    calls.append(tool_use(event))
                elif isinstance(event, FinalAnswer):
                    answer = event.message.content
                elif isinstance(event, TurnFailed):
                    error = event.message + (f" ({event.hint})" if event.hint else "")
        except asyncio.CancelledError:  # the daemon stops: tried again at its next start
            now = self.clock()
            when = retry_at(job, run, now, interrupted=True)
            self.ledger.finish(
                run.id,
                "interrupted",
                now=now,
                answer=answer,
                calls=calls,
                error="the daemon stopped during the run",
                session=session,
                retry_at=when,
            )
            raise
        crashpoint("jobs.answered")
        now = self.clock()
        status: Status = "failed" if error else ("denied" if _refused(calls) else "ok")
        when = retry_at(job, run, now, interrupted=False) if error else None
        done = self.ledger.finish(
            run.id,
            status,
            now=now,
            answer=answer,
            calls=calls,
            error=error,
            session=session,
            retry_at=when,
        )
        log.info("run %d of job %s: %s", run.id, job.name, status)
        self._notify(job, done, retrying=when is not None)

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


def tool_use(result: ToolResult) -> ToolUse:
    call = result.call
    if result.refused:
        return ToolUse(call.name, call.arguments, "denied", result.refused)
    if result.is_error:
        return ToolUse(call.name, call.arguments, "error", result.content[:500])
    return ToolUse(call.name, call.arguments, "ok")


def _refused(calls: list[ToolUse]) -> bool:
    return any(c.outcome == "denied" for c in calls)
