"""The web page's first paint with a full store: 1,000 sessions, 100 jobs (each with runs)
and 10,000 inbox items, against the same pages on an empty store (the baseline), in the
same run; and the time the chat's session search takes to answer (every session matching).

A real daemon process serves each; a headless chromium (Debian's, through chromium-driver)
logged in by the one-time link opens each page in turn, and the page's own paint timing
(`first-contentful-paint`) is read back: navigation start to the first text on screen. Each
page is opened 15 times; each page's median and worst are reported (target: every page's
median under 200 ms).

    python -m bench.web [--quick]
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Report, Target, median, parse_args, publish
from bench.daemon import daemon, scratch_env
from tests.ollama_server import OllamaTestServer, Reply

TARGET_MS = 200.0
PAGES = ["/", "/inbox", "/inbox?all=1", "/jobs", "/jobs/job-7", "/runs/1", "/new-job", "/doctor"]
LAST = {"/doctor"}  # its checks go on after it paints: opened after the others, not among them
SEARCH = "/api/v1/sessions?q=garden%20quest"  # the chat's session search: every session matches


def fill(env: dict[str, str], sessions: int, jobs: int, items: int) -> None:
    """A store as a long-time user's: sessions, jobs with runs, an inbox."""
    from rung.agent.daemon.ledger import Job, Ledger
    from rung.agent.daemon.schedule import Schedule
    from rung.agent.messages import Message
    from rung.agent.sessions import SessionStore
    from rung.config.paths import Paths

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        paths = Paths.default()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with SessionStore(paths.sessions_db) as store:
        for n in range(sessions):
            turn = [
                Message("user", f"Question {n} about the garden"),
                Message("assistant", "An answer."),
            ]
            store.add_turn(SessionStore.new_id(), turn, model="qwen3:4b", tier="agent")
    now = time.time()
    with Ledger(paths.jobs_db) as ledger:
        for n in range(jobs):
            ledger.add(Job(f"job-{n}", f"Task {n}", Schedule("cron", f"{n % 60} 8 * * *", "UTC")))
        with ledger._write() as db:
            db.executemany(
                "INSERT INTO runs (job, occurrence, status, queued, started, ended, answer) "
                "VALUES (?, ?, 'ok', ?, ?, ?, ?)",
                [
                    (
                        f"job-{n % jobs}",
                        f"2026-11-{1 + n // jobs:02d}T08:00:00Z",
                        now,
                        now,
                        now,
                        "All **good**.",
                    )
                    for n in range(jobs * 20)
                ],
            )
            db.executemany(
                "INSERT INTO inbox (run_id, job, title, body, created, read) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        1 + n % (jobs * 20),
                        f"job-{n % jobs}",
                        f"job-{n % jobs}",
                        f"Finding {n}: nothing new.",
                        now - n,
                        None if n % 3 else now,
                    )
                    for n in range(items)
                ],
            )


def paint_times(env: dict[str, str], repeats: int) -> dict[str, list[float]]:
    from selenium import webdriver

    from rung.agent.daemon.client import DaemonClient
    from rung.config.paths import Paths

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        page = DaemonClient(Paths.default()).web()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run"):
        options.add_argument(flag)
    options.add_argument("--window-size=1200,900")
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(10)
    times: dict[str, list[float]] = {path: [] for path in PAGES}

    def paint(path: str) -> None:
        driver.get(page["url"] + path)
        # the paint entry can come just after the load event: ask the observer
        painted = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "new PerformanceObserver((list) => {"
            "  const p = list.getEntriesByName('first-contentful-paint')[0];"
            "  if (p) done(p.startTime);"
            "}).observe({type: 'paint', buffered: true});"
        )
        times[path].append(float(painted))

    try:
        driver.get(page["login"])
        for _ in range(repeats):
            for path in PAGES:
                if path not in LAST:
                    paint(path)
        times[SEARCH] = [
            float(
                driver.execute_async_script(
                    "const done = arguments[arguments.length - 1];"
                    "const start = performance.now();"
                    f"fetch('{SEARCH}').then((r) => r.json())"
                    ".then(() => done(performance.now() - start));"
                )
            )
            for _ in range(repeats * 2)
        ]
        for _ in range(repeats):
            for path in sorted(LAST):
                paint(path)
    finally:
        driver.quit()
    return times


def measure(
    root: Path, server: OllamaTestServer, *, full: bool, repeats: int, quick: bool
) -> dict[str, list[float]]:
    env = scratch_env(root, server)
    env["RUNG_WEB_PORT"] = "0"
    if full:
        fill(env, 200 if quick else 1000, 100, 2000 if quick else 10_000)
    else:
        fill(env, 1, 8, 1)  # the pages the list opens must exist
    with daemon(env):
        return paint_times(env, repeats)


def report(quick: bool) -> Report:
    repeats = 5 if quick else 15
    base = Path(tempfile.mkdtemp(prefix="rung-bw-", dir="/tmp"))
    try:
        with OllamaTestServer() as server:
            server.responder = lambda body: Reply(text="ok")
            empty = measure(base / "empty", server, full=False, repeats=repeats, quick=quick)
            full = measure(base / "full", server, full=True, repeats=repeats, quick=quick)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    rows = [
        [
            path,
            f"{median(empty[path]):.0f} ms",
            f"{median(full[path]):.0f} ms",
            f"{max(full[path]):.0f} ms",
        ]
        for path in PAGES
    ]
    rows.append(
        [
            "session search (the chat's list, as you type: the answer's time)",
            f"{median(empty[SEARCH]):.0f} ms",
            f"{median(full[SEARCH]):.0f} ms",
            f"{max(full[SEARCH]):.0f} ms",
        ]
    )
    full_pages = {path: full[path] for path in PAGES}
    worst = max(max(v) for v in full_pages.values())
    slowest = max(median(v) for v in full_pages.values())
    return Report(
        name="web",
        title="The web page: first contentful paint, empty store (baseline) and full store",
        columns=["page", "empty store, median", "full store, median", "full store, worst"],
        rows=rows,
        targets=[
            Target("the slowest page's median first paint, full store", slowest, TARGET_MS, "ms")
        ],
        notes=[
            "full store: 1,000 sessions, 100 jobs with 2,000 runs, 10,000 inbox items"
            if not quick
            else "quick: 200 sessions, 100 jobs, 2,000 inbox items",
            f"{repeats} loads of each page, in a headless chromium logged in by the link",
        ],
        data={"empty_ms": empty, "full_ms": full, "worst_ms": worst, "slowest_median_ms": slowest},
    )


def main() -> int:
    args = parse_args(__doc__ or "")
    return publish(lambda: report(args.quick))


if __name__ == "__main__":
    sys.exit(main())
