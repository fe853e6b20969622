"""Jobs and the heartbeat under a soak: exactly once across kill -9, a daemon that does
not grow, and a heartbeat that asks no model on a day with nothing to report.

1. Kills: jobs firing every second (half `--missed all`, half `--missed once`) in a real
   daemon process that is killed with SIGKILL at random moments and started again, until
   500 scripted runs have answered (the Ollama-protocol test server answers), with
   `rung heartbeat now` beats in between; once it stays down for 40 s, so that what passes
   is missed and recorded, and run per policy. Then one clean start settles what the kills
   left, and the ledger is checked: rows for one (job, occurrence) more than once
   (duplicates), occurrences of a job's schedule with no row at all (losses, against the
   job's own schedule over the time the ledger covered), runs still queued or running, runs
   notified twice, and how many runs a kill cut off mid-turn (before the answer was
   stored), which are asked again as the job's policy says.
2. Steady: one daemon process, no kills, 300 more job runs and 200 heartbeats; its
   resident memory and open descriptors after a warm-up of 100 runs and at the end
   (target: under 10 % growth each).
3. A quiet day: the heartbeat every 30 minutes through 08:00-22:00 with a checklist whose
   file never changes, in this process with a moving clock: the model calls with the cheap
   checks (Rung) against the same beats without them (every beat asks: the baseline).

    python -m bench.jobs [--quick]
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Report, Target, parse_args, publish
from bench.daemon import daemon, process_state, scratch_env
from rung.agent.daemon.ledger import FINISHED, HEARTBEAT, Ledger
from rung.agent.daemon.schedule import occurrence_key
from rung.config.paths import Paths
from tests.ollama_server import OllamaTestServer, Reply

JOBS = 8
LONG_OUTAGE_S = 40.0  # past LATE_S: what passes is missed, and run per each job's policy
GROWTH_TARGET = 10.0  # % RSS and descriptors, steady phase
VERDICT_OK = '{"verdict": "ok", "message": ""}'
RUN_ID = re.compile(r"\[Scheduled job '[^']+', run (\d+)")


def responder(body: dict[str, Any]) -> Reply:
    if body.get("format"):
        return Reply(text=VERDICT_OK)
    return Reply(text="Done, nothing new.")


def rung(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rung.agent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def answered(paths: Paths) -> int:
    """Job runs that have answered (ok or denied)."""
    with Ledger(paths.jobs_db) as ledger, ledger._read() as db:
        row = db.execute(
            "SELECT count(*) FROM runs WHERE status IN ('ok', 'denied') AND job != ?",
            (HEARTBEAT,),
        ).fetchone()
    return int(row[0])


def beat(paths: Paths) -> bool:
    """A heartbeat now, through the daemon's client; False when the daemon went away."""
    from rung.agent.daemon.client import DaemonClient
    from rung.config.errors import DaemonError

    try:
        DaemonClient(paths).beat()
    except DaemonError:
        return False
    return True


def kills_phase(env: dict[str, str], paths: Paths, target_runs: int, beats: int) -> dict[str, Any]:
    rng = random.Random(15)
    kills = 0
    heartbeats = 0
    started = time.perf_counter()
    while answered(paths) < target_runs:
        with daemon(env) as proc:
            deadline = time.monotonic() + rng.uniform(0.5, 4.0)  # a random moment
            while time.monotonic() < deadline and proc.poll() is None:
                if heartbeats < beats and rng.random() < 0.5:
                    heartbeats += beat(paths)
                else:
                    time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        kills += 1
        if kills == 3:  # one long outage: occurrences pass while nothing runs them
            time.sleep(LONG_OUTAGE_S)
    with daemon(env):  # a clean start settles what the last kill left
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _unsettled(paths):
            time.sleep(0.1)
        for n in range(JOBS):
            rung(env, "jobs", "pause", f"j{n}")
        while time.monotonic() < deadline and _unsettled(paths):
            time.sleep(0.1)
    return {
        "kills": kills,
        "answered": answered(paths),
        "heartbeats": heartbeats,
        "seconds": time.perf_counter() - started,
        **check_ledger(paths),
    }


def _unsettled(paths: Paths) -> bool:
    with Ledger(paths.jobs_db) as ledger, ledger._read() as db:
        row = db.execute(
            "SELECT count(*) FROM runs WHERE status IN ('queued', 'running') "
            "OR (status IN ('interrupted', 'failed') AND retry_at IS NOT NULL)"
        ).fetchone()
    return bool(row[0])


def check_ledger(paths: Paths) -> dict[str, Any]:
    with Ledger(paths.jobs_db) as ledger:
        jobs = ledger.jobs()
        with ledger._read() as db:
            rows = db.execute("SELECT job, occurrence, status FROM runs").fetchall()
    with Ledger(paths.jobs_db) as ledger, ledger._read() as db:
        notices = Counter(
            row[0] for row in db.execute("SELECT run_id FROM inbox WHERE run_id IS NOT NULL")
        )
    keys = Counter((job, occurrence) for job, occurrence, _ in rows)
    duplicates = sum(n - 1 for n in keys.values() if n > 1)
    losses = 0
    for job in jobs:
        start = datetime.fromtimestamp(job.created, UTC)
        end = datetime.fromtimestamp(job.checked_until, UTC)
        expected = {occurrence_key(w) for w in job.schedule.occurrences(start, end)}
        have = {occ for name, occ, _ in rows if name == job.name}
        losses += len(expected - have)
    statuses = Counter(status for _, _, status in rows if status)
    left = sum(1 for _, _, s in rows if s not in FINISHED)
    return {
        "duplicates": duplicates,
        "notified_twice": sum(1 for n in notices.values() if n > 1),
        "losses": losses,
        "left_unfinished": left,
        "statuses": dict(statuses),
    }


def reexecuted(server: OllamaTestServer) -> int:
    """Runs the model answered more than once (each turn's request names its run)."""
    seen = Counter(
        m.group(1)
        for body in server.chat_requests
        if not body.get("format")
        and (m := RUN_ID.search(str((body.get("messages") or [{}])[-1].get("content", ""))))
    )
    return sum(1 for n in seen.values() if n > 1)


def steady_phase(env: dict[str, str], paths: Paths, runs: int, beats: int) -> dict[str, Any]:
    for n in range(JOBS):
        rung(env, "jobs", "resume", f"j{n}")
    with daemon(env) as proc:
        base = answered(paths)
        warm_at = base + runs // 3  # the allocator's arenas settle in the first runs
        while answered(paths) < warm_at:
            beat(paths)
        warm = process_state(proc.pid)
        done_beats = 0
        while answered(paths) < base + runs or done_beats < beats:
            if done_beats < beats:
                done_beats += beat(paths)
            else:
                time.sleep(0.05)
        end = process_state(proc.pid)
        for n in range(JOBS):
            rung(env, "jobs", "pause", f"j{n}")
    return {"warm": warm, "end": end, "runs": runs, "beats": done_beats}


async def quiet_day(root: Path, server: OllamaTestServer, *, cheap: bool) -> int:
    """Model calls in one day of beats with nothing changing."""
    from zoneinfo import ZoneInfo

    from rung.agent.daemon.heartbeat import Heartbeat
    from rung.agent.daemon.host import Host
    from rung.agent.daemon.notifier import Notifier
    from rung.agent.daemon.schedule import Hours
    from rung.config.settings import Settings

    folder = root / ("cheap" if cheap else "every")
    paths = Paths(config_dir=folder / "config", data_dir=folder / "data", state_dir=folder / "s")
    watched = folder / "todo.md"
    folder.mkdir(parents=True)
    watched.write_text("- renew the passport\n")
    paths.config_dir.mkdir(parents=True)
    paths.heartbeat_file.write_text(f"- anything due in {watched}?\n")
    zone = ZoneInfo("Europe/Berlin")
    now = [datetime(2026, 6, 1, 7, 59, tzinfo=zone).timestamp()]
    settings = Settings(ollama_host=server.url, default_tier="chatbot", heartbeat_every=30)
    host = Host(settings, paths)
    before = len(server.chat_requests)
    with Ledger(paths.jobs_db) as ledger:
        notifier = Notifier(ledger, {}, clock=lambda: now[0])
        heartbeat = Heartbeat(
            host, ledger, notifier, clock=lambda: now[0], active=Hours.parse("08:00-22:00", zone)
        )
        end = datetime(2026, 6, 1, 22, 0, tzinfo=zone).timestamp()
        while (slot := heartbeat.following(now[0])) < end:
            now[0] = slot
            await heartbeat.beat(slot=slot, forced=not cheap)
    await host.close()
    return len(server.chat_requests) - before


def report(quick: bool) -> Report:
    target_runs, beats = (60, 20) if quick else (500, 200)
    steady_runs, steady_beats = (40, 20) if quick else (300, 200)
    root = Path(tempfile.mkdtemp(prefix="rung-bj-", dir="/tmp"))
    try:
        with OllamaTestServer() as server:
            server.responder = responder
            env = scratch_env(root, server)
            env["RUNG_DEFAULT_TIER"] = "chatbot"
            env["TZ"] = "UTC"
            saved = dict(os.environ)
            os.environ.update(env)  # this process's client finds the daemon's socket
            paths = Paths.default()
            paths.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
            paths.heartbeat_file.write_text("- is anything overdue?\n")
            for n in range(JOBS):
                missed = "all" if n % 2 else "once"
                made = rung(
                    env, "jobs", "add", f"j{n}", f"Task {n}", "--every", "1s", "--missed", missed
                )
                if made.returncode != 0:
                    raise SystemExit(made.stderr)
            kills = kills_phase(env, paths, target_runs, beats)
            kills["reexecuted"] = reexecuted(server)
            steady = steady_phase(env, paths, steady_runs, steady_beats)
            day = {
                "with_cheap_checks": asyncio.run(quiet_day(root, server, cheap=True)),
                "every_beat_asks": asyncio.run(quiet_day(root, server, cheap=False)),
            }
            os.environ.clear()
            os.environ.update(saved)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    (warm_rss, warm_fds), (end_rss, end_fds) = steady["warm"], steady["end"]
    rss_growth = (end_rss - warm_rss) / warm_rss * 100
    fds_growth = (end_fds - warm_fds) / warm_fds * 100
    calls_past_first = max(0, day["with_cheap_checks"] - 2)  # the first beat: turn + verdict
    rows = [
        ["runs answered with kills", str(kills["answered"]), f"{kills['kills']} kills"],
        ["heartbeats with kills", str(kills["heartbeats"]), ""],
        ["ledger rows per status", "", json.dumps(kills["statuses"])],
        ["duplicated occurrences", str(kills["duplicates"]), "target 0"],
        ["occurrences lost", str(kills["losses"]), "target 0"],
        ["runs left queued or running", str(kills["left_unfinished"]), "target 0"],
        ["runs notified twice", str(kills["notified_twice"]), "target 0"],
        ["runs a kill cut off mid-turn, asked again", str(kills["reexecuted"]), "attempt 2"],
        [
            "steady: RSS after warm-up / end",
            f"{warm_rss / 2**20:.1f} MB",
            f"{end_rss / 2**20:.1f} MB",
        ],
        ["steady: descriptors after warm-up / end", str(warm_fds), str(end_fds)],
        ["quiet day: model calls, every beat asks (baseline)", str(day["every_beat_asks"]), ""],
        ["quiet day: model calls, with the cheap checks", str(day["with_cheap_checks"]), ""],
    ]
    return Report(
        name="jobs",
        title="Jobs and the heartbeat: a soak with kill -9, a steady daemon, a quiet day",
        columns=["what", "count", "detail"],
        rows=rows,
        targets=[
            Target("occurrences run or recorded twice", kills["duplicates"], 1, "rows"),
            Target("occurrences lost", kills["losses"], 1, "occurrences"),
            Target("runs notified twice", kills["notified_twice"], 1, "runs"),
            Target("runs left unfinished after a clean start", kills["left_unfinished"], 1, "runs"),
            Target("the daemon's memory growth, steady", rss_growth, GROWTH_TARGET, "%"),
            Target("the daemon's descriptors growth, steady", fds_growth, GROWTH_TARGET, "%"),
            Target(
                "heartbeat model calls past the first beat on a quiet day",
                calls_past_first,
                1,
                "calls",
            ),
        ],
        notes=[
            f"kills phase: {kills['seconds']:.0f} s, {kills['kills']} SIGKILLs at random moments",
            f"steady phase: {steady['runs']} runs and {steady['beats']} heartbeats in one process",
        ],
        data={"kills": kills, "steady": steady, "quiet_day": day},
    )


def main() -> int:
    args = parse_args(__doc__ or "")
    return publish(lambda: report(args.quick))


if __name__ == "__main__":
    sys.exit(main())
