"""`rung jobs …` and `rung inbox …`: scheduled jobs and what they told you.

The commands read and write the job ledger (jobs.sqlite3 in the data folder) directly —
SQLite shares it safely with the daemon — and then tell a running daemon to look at it
(`/v1/jobs/wake`). Only the daemon runs jobs: a job added while it is not running waits for
it, and the command says so. The command line is defined here, its heavy imports inside the
handlers, so `rung --help` stays fast."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rung.agent.daemon.ledger import InboxItem, Job, Ledger, Run
    from rung.config.paths import Paths

WAIT_POLL_S = 0.2  # `jobs run` looks at its run this often
NOT_RUNNING = (
    "the daemon is not running, so nothing runs this job until it does: "
    "`rung daemon start` (or `rung daemon install`, to start it at login)"
)


def add_jobs_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    jobs = sub.add_parser(
        "jobs",
        parents=[common],
        help="scheduled jobs the daemon runs while you are away",
        description="Jobs: a question or task the daemon runs on a schedule (cron, an "
        "interval, or once at a time), unattended. Each occurrence runs exactly once, also "
        "across restarts and kills; what it answered goes to `rung inbox`. No one can approve "
        "a tool call in a job: it may call the tools given with --tools and nothing else.",
    )
    jsub = jobs.add_subparsers(dest="action", metavar="ACTION", required=True)

    add = jsub.add_parser(
        "add",
        parents=[common],
        help="add a job",
        description='Add a job, e.g. rung jobs add news "Summarise the news on Rust" '
        '--cron "0 8 * * 1-5" --tools "fetch:*". Times are in the job\'s zone (--tz; the '
        "local one by default), also across daylight-saving changes.",
    )
    add.add_argument("name", help="its name (letters, digits, - and _)")
    add.add_argument("prompt", help="what to do, as you would ask it in a chat")
    _schedule_flags(add)
    _job_flags(add)
    add.add_argument("--paused", action="store_true", help="add it paused (`rung jobs resume`)")

    edit = jsub.add_parser(
        "edit",
        parents=[common],
        help="change a job (what is not given stays)",
        description="Change a job; its history stays. A new schedule counts from now: the "
        "occurrences already run or missed are never run again.",
    )
    edit.add_argument("name")
    edit.add_argument("--prompt", help="what to do")
    _schedule_flags(edit)
    _job_flags(edit, editing=True)

    listing = jsub.add_parser("list", parents=[common], help="the jobs, their next and last runs")
    listing.add_argument("--json", action="store_true", help="as JSON")
    show = jsub.add_parser(
        "show", parents=[common], help="a job: its settings, next times and last runs"
    )
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="as JSON")
    for action, text in (
        ("remove", "delete a job (its history stays)"),
        ("pause", "stop running a job until resumed"),
        ("resume", "run a paused job again (from its next occurrence)"),
    ):
        jsub.add_parser(action, parents=[common], help=text).add_argument("name")
    run = jsub.add_parser(
        "run",
        parents=[common],
        help="run a job now, in the daemon, and wait for its answer",
        description="Queue a run of the job now (outside its schedule) in the running "
        "daemon, then wait for it and print its answer. Ctrl-C stops waiting; the run goes on.",
    )
    run.add_argument("name")
    run.add_argument("--no-wait", action="store_true", help="queue it and return")
    history = jsub.add_parser(
        "history",
        parents=[common],
        help="a job's runs: occurrence, times, status, answer, tool calls, what was refused",
    )
    history.add_argument("name")
    history.add_argument("-n", type=int, default=20, metavar="N", help="the last N (default 20)")
    history.add_argument("--json", action="store_true", help="as JSON (every field)")
    sim = jsub.add_parser(
        "sim",
        parents=[common],
        help="what would run when over the next days, without running anything",
        description="Replay the jobs' schedules in virtual time and print each occurrence in "
        "the job's zone, with its UTC offset; a daylight-saving change on the way is marked.",
    )
    sim.add_argument("name", nargs="?", help="one job (default: all)")
    sim.add_argument("--days", type=float, default=7.0, help="how far ahead (default 7)")
    sim.add_argument(
        "--from", dest="start", metavar="TIME", help='start there ("YYYY-MM-DD HH:MM", local)'
    )
    jobs.set_defaults(handler=_jobs)

    inbox = sub.add_parser(
        "inbox",
        parents=[common],
        help="what the jobs told you: unread first",
        description="The inbox: each job's answer or failure, with the run it came from.",
    )
    inbox.add_argument("--all", action="store_true", help="also the items already read")
    inbox.add_argument("--json", action="store_true", help="as JSON")
    isub = inbox.add_subparsers(dest="action", metavar="ACTION")
    read = isub.add_parser("read", parents=[common], help="mark items read")
    read.add_argument("ids", nargs="*", type=int, metavar="ID")
    read.add_argument("--all", dest="read_all", action="store_true", help="every unread item")
    inbox.set_defaults(handler=_inbox)


def _schedule_flags(parser: argparse.ArgumentParser) -> None:
    when = parser.add_argument_group("when (one of)")
    when.add_argument("--cron", metavar="EXPR", help='a cron expression, e.g. "0 8 * * 1-5"')
    when.add_argument("--every", metavar="INTERVAL", help="an interval: 90s, 15m, 2h, 1d")
    when.add_argument("--at", metavar="TIME", help='once: "YYYY-MM-DD HH:MM"')
    parser.add_argument("--tz", help="its time zone (IANA, e.g. Europe/Berlin; default: local)")


def _job_flags(parser: argparse.ArgumentParser, *, editing: bool = False) -> None:
    parser.add_argument("--tier", help="the tier it runs in (default: default_tier)")
    parser.add_argument("--model", "-m", help="the model (default: the configured one)")
    parser.add_argument(
        "--tools",
        nargs="*",
        metavar="SERVER:TOOL",
        help="the tools it may call unattended, as globs (fetch:*, files:read_file); "
        "every other call is refused" + ("; give none to allow none" if editing else ""),
    )
    parser.add_argument(
        "--missed",
        choices=["skip", "once", "all"],
        help="an occurrence missed while the daemon was down: skip it, run the last one once "
        "(default; within --grace), or run all",
    )
    parser.add_argument(
        "--grace", metavar="INTERVAL", help="how late a missed run may still run (default 1h)"
    )
    parser.add_argument(
        "--notify",
        nargs="*",
        metavar="SINK",
        help="where its answers go besides the inbox: desktop, webhook, ntfy (the last two "
        "are set up in config.toml)" + ("; give none for the inbox only" if editing else ""),
    )
    parser.add_argument(
        "--urgent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="its failures go out even in quiet hours",
    )


def _jobs(args: argparse.Namespace) -> int:
    from rung.agent.daemon.ledger import Ledger
    from rung.config.paths import Paths

    paths = Paths.default()
    with Ledger(paths.jobs_db) as ledger:
        action = args.action
        if action in ("add", "edit"):
            return _save(args, ledger, paths)
        if action == "list":
            code = _list(ledger, as_json=args.json)
            if not args.json and ledger.jobs() and not _daemon_runs(paths):
                print(f"rung: {NOT_RUNNING}".replace("this job", "these jobs"), file=sys.stderr)
            return code
        if action == "show":
            return _show(ledger, args.name, as_json=args.json)
        if action == "history":
            return _history(ledger, args.name, args.n, as_json=args.json)
        if action == "sim":
            return _sim(ledger, args.name, args.days, args.start)
        if action == "run":
            return _run_now(ledger, paths, args.name, wait=not args.no_wait)
        if action == "remove":
            ledger.remove(args.name)
            print(f"removed job {args.name} (its history stays: `rung jobs history {args.name}`)")
        else:
            ledger.set_paused(args.name, action == "pause")
            print(f"{'paused' if action == 'pause' else 'resumed'} job {args.name}")
        _tell_daemon(paths)
        return 0


def _save(args: argparse.Namespace, ledger: Ledger, paths: Paths) -> int:
    from datetime import UTC, datetime

    from rung.agent.cli.main import load
    from rung.agent.daemon.job_form import JobForm, add_job, edit_job

    now = datetime.now(UTC)
    adding = args.action == "add"
    form = JobForm(
        name=args.name,
        prompt=args.prompt,
        cron=args.cron,
        every=args.every,
        at=args.at,
        tz=args.tz,
        tier=args.tier,
        model=args.model,
        tools=args.tools,
        missed=args.missed,
        grace=args.grace,
        notify=args.notify,
        urgent=args.urgent,
        paused=adding and args.paused,
    )
    settings = load(args).settings
    job = (add_job if adding else edit_job)(ledger, form, settings, now)
    print(f"{'added' if adding else 'changed'} job {job.name}: {job.schedule.describe()}")
    nxt = job.schedule.next_after(now)
    if job.paused:
        print("  paused: `rung jobs resume` runs it from its next occurrence")
    elif nxt is not None:
        print(f"  next: {_local(nxt.timestamp(), job)}")
    else:
        print("  it has no occurrence to come")
    if not job.tools:
        print("  it may call no tools (--tools SERVER:TOOL … lets it)")
    if not _tell_daemon(paths) and not job.paused:
        print(f"rung: {NOT_RUNNING}", file=sys.stderr)
    return 0


def _daemon_runs(paths: Paths) -> bool:
    from rung.agent.daemon.client import DaemonClient

    return DaemonClient(paths).running_pid() is not None


def _tell_daemon(paths: Paths) -> bool:
    """Tell a running daemon the jobs changed; False when none runs."""
    from rung.agent.daemon.client import running_daemon
    from rung.config.errors import DaemonError

    client = running_daemon(paths)
    if client is None:
        return False
    try:
        client.wake_jobs()
    except DaemonError:
        return False
    return True


def _local(epoch: float, job: Job) -> str:
    from datetime import UTC, datetime

    when = datetime.fromtimestamp(epoch, UTC).astimezone(job.schedule.zone())
    return when.strftime("%Y-%m-%d %H:%M %Z")


def _next(job: Job) -> str:
    from datetime import UTC, datetime

    if job.paused:
        return "paused"
    nxt = job.schedule.next_after(datetime.now(UTC))
    return _local(nxt.timestamp(), job) if nxt else "none"


def _list(ledger: Ledger, *, as_json: bool) -> int:
    jobs = ledger.jobs()
    last = ledger.last_runs()
    if as_json:
        rows = [
            {**_job_json(job), "next": _next(job), "last": _run_json(last.get(job.name))}
            for job in jobs
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not jobs:
        print('no jobs yet: rung jobs add NAME "what to do" --cron "0 8 * * *"')
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("job", "when", "next", "last run", box=None)
    for job in jobs:
        run = last.get(job.name)
        table.add_row(
            job.name,
            job.schedule.describe(),
            _next(job),
            f"{run.status} {_local(run.queued, job)}" if run else "never",
        )
    Console(soft_wrap=True).print(table)
    return 0


def _show(ledger: Ledger, name: str, *, as_json: bool) -> int:
    from datetime import UTC, datetime

    job = ledger.get(name)
    runs = ledger.history(name, limit=5)
    now = datetime.now(UTC)
    upcoming = [] if job.paused else _take(job.schedule.occurrences(now, _far(now)), 5)
    if as_json:
        data = {
            **_job_json(job),
            "upcoming": [w.isoformat() for w in upcoming],
            "runs": [r.to_json() for r in runs],
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"job {job.name}{' (paused)' if job.paused else ''}")
    print(f"  when:   {job.schedule.describe()}")
    print(f"  does:   {job.prompt}")
    print(f"  tier:   {job.tier or 'default'}   model: {job.model or 'default'}")
    print(f"  tools:  {', '.join(job.tools) or 'none'}")
    print(f"  missed: {job.missed} (grace {_seconds(job.grace_s)})")
    sinks = ", ".join(("inbox", *job.notify))
    print(f"  notify: {sinks}{' (failures urgent)' if job.urgent else ''}")
    for when in upcoming:
        print(f"  next:   {_local(when.timestamp(), job)}")
    for run in runs:
        print(f"  run {run.id}: {run.status} {_local(run.queued, job)}")
    return 0


def _history(ledger: Ledger, name: str, limit: int, *, as_json: bool) -> int:
    runs = ledger.history(name, limit=limit)
    if as_json:
        print(json.dumps([r.to_json() for r in runs], indent=2, ensure_ascii=False))
        return 0
    if not runs:
        ledger.get(name)  # a clear error for a job that never was
        print(f"job {name} has not run yet")
        return 0
    zone = _zone_of(ledger, name)
    for run in runs:
        print(_run_line(run, zone))
        if run.answer:
            print("  " + run.answer.strip().replace("\n", "\n  "))
        if run.error:
            print(f"  error: {run.error}")
        for call in run.calls:
            mark = {"ok": "ran", "error": "failed", "denied": "REFUSED"}[call.outcome]
            detail = f" ({call.detail})" if call.detail else ""
            print(f"  tool {call.name}: {mark}{detail}")
    return 0


def _run_now(ledger: Ledger, paths: Paths, name: str, *, wait: bool) -> int:
    from rung.agent.daemon.ledger import FINISHED
    from rung.config.errors import DaemonNotRunning

    ledger.get(name)
    if not _tell_daemon(paths):
        raise DaemonNotRunning(
            "the daemon is not running; only the daemon runs jobs",
            hint="`rung daemon start`, then `rung jobs run` again",
        )
    run_id = ledger.queue_now(name)
    _tell_daemon(paths)
    print(f"queued run {run_id} of job {name}", file=sys.stderr)
    if not wait:
        return 0
    try:
        while (run := ledger.run(run_id)).status not in FINISHED:
            time.sleep(WAIT_POLL_S)
    except KeyboardInterrupt:
        print(f"stopped waiting; the run goes on (`rung jobs history {name}`)", file=sys.stderr)
        return 130
    print(_run_line(run, _zone_of(ledger, name)), file=sys.stderr)
    if run.answer:
        print(run.answer)
    if run.error:
        print(f"rung: {run.error}", file=sys.stderr)
    return 0 if run.status in ("ok", "denied") else 1


def _sim(ledger: Ledger, name: str | None, days: float, start: str | None) -> int:
    from datetime import UTC, datetime, timedelta

    from rung.agent.daemon.schedule import local_zone_name, parse_moment, resolve, zone

    jobs = [ledger.get(name)] if name else ledger.jobs()
    if not jobs:
        print("no jobs to simulate")
        return 0
    begin = resolve(parse_moment(start), zone(local_zone_name())) if start else datetime.now(UTC)
    end = begin + timedelta(days=days)
    print(f"from {begin:%Y-%m-%d %H:%M} UTC, {days:g} days; nothing runs")
    for job in jobs:
        tz = job.schedule.zone()
        print(f"job {job.name}: {job.schedule.describe()}{' (paused)' if job.paused else ''}")
        offset = begin.astimezone(tz).utcoffset()
        count = 0
        for when in job.schedule.occurrences(begin, end):
            local = when.astimezone(tz)
            if local.utcoffset() != offset:
                print(
                    f"  -- clocks change: UTC{_offset(offset)} -> UTC{_offset(local.utcoffset())}"
                )
                offset = local.utcoffset()
            print(f"  {local:%a %Y-%m-%d %H:%M %Z} (UTC{_offset(local.utcoffset())})")
            count += 1
            if count >= 500:
                print("  … (first 500 shown)")
                break
        if not count:
            print("  nothing in that time")
    return 0


def _inbox(args: argparse.Namespace) -> int:
    from rung.agent.daemon.ledger import JobError, Ledger
    from rung.config.paths import Paths

    with Ledger(Paths.default().jobs_db) as ledger:
        if args.action == "read":
            if not args.ids and not args.read_all:
                raise JobError("which items?", hint="rung inbox read ID … or rung inbox read --all")
            count = ledger.mark_read(None if args.read_all else args.ids)
            print(f"marked {count} item{'s' * (count != 1)} read")
            return 0
        items = ledger.inbox(unread_only=not args.all)
        if args.json:
            print(json.dumps([_item_json(i) for i in items], indent=2, ensure_ascii=False))
            return 0
        if not items:
            print("nothing unread" if not args.all else "the inbox is empty")
            return 0
        for item in items:
            print(_item_text(item))
    return 0


# --- rendering ---------------------------------------------------------------------------


def _item_text(item: InboxItem) -> str:
    from datetime import datetime

    when = datetime.fromtimestamp(item.created).strftime("%Y-%m-%d %H:%M")
    state = "" if item.read is None else " (read)"
    run = f", run {item.run_id}" if item.run_id is not None else ""
    body = item.body.strip().replace("\n", "\n    ")
    return f"[{item.id}] {when} {item.title}{state}{run}\n    {body}"


def _item_json(item: InboxItem) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(item)


def _job_json(job: Job) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(job)


def _run_json(run: Run | None) -> dict[str, Any] | None:
    return run.to_json() if run else None


def _run_line(run: Run, zone: Any) -> str:
    from datetime import UTC, datetime

    def at(epoch: float | None) -> str:
        if epoch is None:
            return "-"
        return datetime.fromtimestamp(epoch, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    attempt = f", attempt {run.attempt}" if run.attempt > 1 else ""
    return (
        f"run {run.id} [{run.status}{attempt}] occurrence {run.occurrence}; "
        f"started {at(run.started)}, ended {at(run.ended)}"
    )


def _zone_of(ledger: Ledger, name: str) -> Any:
    from rung.config.errors import RungError

    try:
        return ledger.get(name).schedule.zone()
    except RungError:  # removed: its runs in the local zone
        return None


def _take(items: Any, n: int) -> list[Any]:
    import itertools

    return list(itertools.islice(items, n))


def _far(now: Any) -> Any:
    from datetime import timedelta

    return now + timedelta(days=3660)


def _seconds(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _offset(delta: Any) -> str:
    total = int(delta.total_seconds()) if delta is not None else 0
    sign = "+" if total >= 0 else "-"
    hours, minutes = divmod(abs(total) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
