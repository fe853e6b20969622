"""A new or changed job, checked: what `rung jobs add|edit` and the page's job form both
send. Each field is as the user typed it (None: not given; for an edit, unchanged); every
mistake is one JobError line with a hint, and nothing is stored until all of it is right."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rung.agent.daemon.ledger import RESERVED, Job, JobError, Ledger
from rung.agent.daemon.schedule import make_schedule, parse_interval

if TYPE_CHECKING:
    from rung.config.settings import Settings

MISSED = ("skip", "once", "all")


@dataclass(frozen=True)
class JobForm:
    name: str
    prompt: str | None = None
    cron: str | None = None  # one of cron, every, at (for an edit: none keeps the schedule)
    every: str | None = None
    at: str | None = None
    tz: str | None = None  # IANA; None: the local zone (for an edit: the job's)
    tier: str | None = None  # "": the default tier
    model: str | None = None  # "": the configured model
    tools: Sequence[str] | None = None  # SERVER:TOOL globs
    missed: str | None = None  # skip, once, all
    grace: str | None = None  # an interval: 1h
    notify: Sequence[str] | None = None  # sinks besides the inbox
    urgent: bool | None = None
    paused: bool = False  # a new job only


def add_job(ledger: Ledger, form: JobForm, settings: Settings, now: datetime | None = None) -> Job:
    """Store the new job `form` describes."""
    now = now or datetime.now(UTC)
    check_name(form.name)
    changes = _changes(form, settings)
    schedule = make_schedule(cron=form.cron, every=form.every, at=form.at, tz=form.tz, now=now)
    prompt = _prompt(form.prompt or "")
    return ledger.add(Job(form.name, prompt, schedule, paused=form.paused, **changes))


def edit_job(ledger: Ledger, form: JobForm, settings: Settings, now: datetime | None = None) -> Job:
    """Store job `form.name` with what `form` changes; JobError when it changes nothing."""
    now = now or datetime.now(UTC)
    job = ledger.get(form.name)
    changes = _changes(form, settings)
    old = job.schedule
    given = {k: v for k, v in (("cron", form.cron), ("every", form.every), ("at", form.at)) if v}
    when = given or {old.kind: old.spec}  # no new times: the same ones, maybe in a new zone
    tz = form.tz or old.tz
    if (tz, when) != (old.tz, {old.kind: old.spec}):  # as stored: an `every` keeps its anchor
        changes["schedule"] = make_schedule(
            cron=when.get("cron"), every=when.get("every"), at=when.get("at"), tz=tz, now=now
        )
    if form.prompt is not None:
        changes["prompt"] = _prompt(form.prompt)
    changes = {k: v for k, v in changes.items() if getattr(job, k) != v}
    if not changes:
        raise JobError("nothing to change", hint="`rung jobs edit --help` lists what can be")
    return ledger.update(replace(job, **changes))


def _changes(form: JobForm, settings: Settings) -> dict[str, Any]:
    """The fields of a job that `form` sets besides its name, schedule and prompt."""
    changes: dict[str, Any] = {}
    if form.tier is not None:
        from rung.agent import tiers

        changes["tier"] = tiers.get(form.tier).name if form.tier.strip() else None
    if form.model is not None:
        changes["model"] = form.model.strip() or None
    if form.tools is not None:
        changes["tools"] = tuple(check_tool(glob) for glob in form.tools)
    if form.missed is not None:
        if form.missed not in MISSED:
            raise JobError(
                f"{form.missed!r} is not what to do with a missed run",
                hint="skip, once (the last one, within the grace) or all",
            )
        changes["missed"] = form.missed
    if form.grace is not None:
        changes["grace_s"] = float(parse_interval(form.grace))
    if form.notify is not None:
        from rung.agent.daemon.sinks import check_sinks

        changes["notify"] = check_sinks(list(form.notify), settings)
    if form.urgent is not None:
        changes["urgent"] = form.urgent
    return changes


def _prompt(text: str) -> str:
    if not text.strip():
        raise JobError("the job has nothing to do", hint="give what to do, in quotes")
    return text.strip()


def check_name(name: str) -> None:
    if name in RESERVED:
        raise JobError(
            f"{name!r} is the name of Rung's own runs", hint="pick another name for the job"
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise JobError(
            f"{name!r} is not a job name",
            hint="use letters, digits, -, _ and . (up to 64), starting with a letter or digit",
        )


def check_tool(glob: str) -> str:
    server, colon, tool = glob.partition(":")
    if not colon or not server or not tool:
        raise JobError(
            f"{glob!r} does not name a tool as SERVER:TOOL",
            hint="e.g. fetch:fetch or files:* (`rung tools list` shows the servers and tools)",
        )
    return glob
