"""Jobs in a real daemon process, against the Ollama-protocol test server: a job fires on
its schedule and lands in the inbox, `rung jobs run` waits for its answer, a run calls its
own tools without asking and nothing else, each occurrence runs once across kill -9 and
restarts, what was missed while the daemon was down is recorded and run per policy, and a
model that is down fails the run with its reason while the daemon goes on."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rung.agent.daemon.ledger import FINISHED, Ledger, Run
from rung.agent.daemon.scheduler import LATE_S
from rung.agent.daemon.sinks import signature
from rung.agent.sessions import SessionStore
from rung.config.paths import Paths
from tests.agent.daemon.conftest import Receiver, answering, start_daemon, wait_for
from tests.conftest import Processes, Rung
from tests.ollama_server import OllamaTestServer, Reply


@pytest.fixture
def user(rung: Rung, paths: Paths) -> Rung:
    """`rung` as the user types it, with the daemon's runtime folder; every tool offered
    (these tests are not about choosing among tools, which would load the embedding model)."""
    return Rung(
        {**rung.env, "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"], "RUNG_MAX_TOOLS": "64"}
    )


@pytest.fixture
def workdir(isolated_home: Path) -> Path:
    """A folder the built-in files server may read and write."""
    folder = isolated_home / "work"
    folder.mkdir()
    (folder / "notes.txt").write_text("buy milk\n")
    config = isolated_home / "config" / "rung"
    config.mkdir(parents=True, exist_ok=True)
    (config / "mcp.json").write_text(json.dumps({"builtins": {"files": {"roots": [str(folder)]}}}))
    return folder


def daemon(processes: Processes, paths: Paths, user: Rung, **env: str) -> subprocess.Popen[bytes]:
    return start_daemon(processes, paths, {**user.env, **env}, warm=True)


def runs(paths: Paths, job: str) -> list[Run]:
    """The job's runs, oldest first, as the ledger has them."""
    with Ledger(paths.jobs_db) as ledger:
        return list(reversed(ledger.history(job)))


def settled(paths: Paths, job: str, count: int = 1) -> list[Run] | None:
    """The job's runs once at least `count` exist and all have finished."""
    found = runs(paths, job)
    if len(found) >= count and all(r.status in FINISHED for r in found):
        return found
    return None


def _key(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soon(seconds: float = 1.5) -> str:
    """A moment a little ahead, as `--at` takes it (UTC, to the second)."""
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def echo(ollama_server: OllamaTestServer) -> None:
    ollama_server.responder = lambda body: Reply(
        text=f"Done: {body['messages'][-1]['content'][-20:]}"
    )


def test_a_job_fires_on_its_schedule_and_lands_in_the_inbox(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    echo(ollama_server)
    daemon(processes, paths, user)
    added = user("jobs", "add", "greet", "Say good morning", "--at", soon(), "--tz", "UTC")
    assert added.code == 0, added.err
    assert "not running" not in added.err
    (run,) = wait_for(lambda: settled(paths, "greet"), "the job to run")
    assert run.status == "ok" and run.attempt == 1
    assert run.answer.startswith("Done:") and run.answer.endswith("Say good morning")
    asked = ollama_server.chat_requests[-1]["messages"][-1]["content"]
    assert "Scheduled job 'greet'" in asked and "No one is watching" in asked
    assert run.session is not None
    with SessionStore(paths.sessions_db) as store:  # the run is a session (`chat --resume`)
        assert store.get(run.session).turns == 1
    inbox = user("inbox", "--json")
    (item,) = json.loads(inbox.out)
    assert (item["job"], item["run_id"], item["body"]) == ("greet", run.id, run.answer)
    assert user("inbox", "read", "--all").out.strip() == "marked 1 item read"
    assert user("inbox").out.strip() == "nothing unread"
    status = json.loads(user("daemon", "status", "--json").out)
    assert status["jobs"]["jobs"] == 1 and status["jobs"]["inbox_unread"] == 0


def test_jobs_run_waits_for_the_answer(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    echo(ollama_server)
    assert user("jobs", "add", "weekly", "Plan the week", "--cron", "0 9 * * 1").code == 0
    listed = user("jobs", "list")
    assert "weekly" in listed.out and "nothing runs these jobs" in listed.err  # said, not hidden
    refused = user("jobs", "run", "weekly")
    assert refused.code == 3 and "daemon is not running" in refused.err
    assert runs(paths, "weekly") == []  # nothing queued for a daemon that is not there
    daemon(processes, paths, user)
    result = user("jobs", "run", "weekly")
    assert result.code == 0, result.err
    assert result.out.strip().endswith("Plan the week")
    (run,) = runs(paths, "weekly")
    assert run.occurrence.startswith("manual ") and run.status == "ok"
    history = user("jobs", "history", "weekly")
    assert f"run {run.id} [ok]" in history.out


def test_a_run_uses_its_own_tools_without_asking_and_nothing_else(
    ollama_server: OllamaTestServer,
    processes: Processes,
    paths: Paths,
    user: Rung,
    workdir: Path,
) -> None:
    ollama_server.script(
        Reply(
            tool_calls=[{"name": "write_file", "arguments": {"path": "todo.txt", "content": "ok"}}]
        ),
        Reply(tool_calls=[{"name": "read_file", "arguments": {"path": "notes.txt"}}]),
        Reply(text="Wrote the list; could not read the notes."),
    )
    daemon(processes, paths, user)
    added = user(
        "jobs",
        "add",
        "todo",
        "Write the to-do list",
        "--every",
        "1d",
        "--tools",
        "files:write_file",
    )
    assert added.code == 0, added.err
    result = user("jobs", "run", "todo")  # an approval would wait 300 s: the test would time out
    assert result.code == 0, result.err
    assert (workdir / "todo.txt").read_text() == "ok"  # `ask` by policy, granted to the job
    (run,) = runs(paths, "todo")
    assert run.status == "denied"
    assert [(c.name, c.outcome) for c in run.calls] == [
        ("write_file", "ok"),
        ("read_file", "denied"),  # `allow` by policy, but not the job's
    ]
    told = ollama_server.chat_requests[-1]["messages"][-1]
    assert told["role"] == "tool" and "not among the tools it may use" in told["content"]
    history = json.loads(user("jobs", "history", "todo", "--json").out)
    assert [d["name"] for d in history[0]["denied"]] == ["read_file"]
    assert "tool read_file: REFUSED" in user("jobs", "history", "todo").out
    (item,) = json.loads(user("inbox", "--json").out)
    assert "Refused unattended: read_file" in item["body"]
    ollama_server.assert_complete()


@pytest.mark.parametrize(
    ("crash", "missed", "status", "attempts", "model_calls"),
    [
        ("jobs.claimed", "once", "ok", 1, 1),  # queued, not started: the queue survives
        ("jobs.started", "once", "ok", 2, 1),  # cut off before the model: retried once
        ("jobs.answered", "once", "ok", 1, 1),  # after the answer was stored: recorded
        ("jobs.started", "skip", "interrupted", 1, 0),  # a job that skips what it misses
    ],
)
def test_kill_9_at_each_step_never_runs_an_occurrence_twice(
    ollama_server: OllamaTestServer,
    processes: Processes,
    paths: Paths,
    user: Rung,
    crash: str,
    missed: str,
    status: str,
    attempts: int,
    model_calls: int,
) -> None:
    echo(ollama_server)
    first = daemon(processes, paths, user, RUNG_CRASH_AT=crash)
    at = soon()
    assert (
        user("jobs", "add", "j", "Do it", "--at", at, "--tz", "UTC", "--missed", missed).code == 0
    )
    first.wait(timeout=20)
    assert first.returncode == -9  # it killed itself where the test said
    assert answering(paths) is None
    second = daemon(processes, paths, user)
    (run,) = wait_for(lambda: settled(paths, "j"), "the run to be settled after the restart")
    assert run.occurrence == at.replace(" ", "T") + "Z"
    assert (run.status, run.attempt) == (status, attempts)
    assert len(ollama_server.chat_requests) == model_calls
    second.terminate()
    assert second.wait(timeout=15) == 0
    daemon(processes, paths, user)  # and once more: nothing is run again
    user("jobs", "list")
    assert [(r.status, r.attempt) for r in runs(paths, "j")] == [(status, attempts)]


def test_what_was_missed_while_down_is_recorded_and_run_once(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    echo(ollama_server)
    assert user("jobs", "add", "tick", "Check", "--cron", "* * * * *").code == 0
    down_since = time.time() - 600  # as if the daemon stopped ten minutes ago
    with Ledger(paths.jobs_db) as ledger, ledger._write() as db:
        db.execute("UPDATE jobs SET checked_until = ?", (down_since,))
    started = time.time()
    proc = daemon(processes, paths, user)
    found = wait_for(lambda: settled(paths, "tick", 9), "the missed runs to be recorded")
    assert {r.status for r in found} <= {"ok", "missed"}
    # Late at the first tick: past by more than LATE_S. Of those, the latest one runs (the
    # `once` policy), unless a minute that came since is on time and runs instead; every
    # other one is recorded as missed. (A slow machine may see a new minute come as well:
    # that one runs on time, as it should.)
    found = sorted(found, key=lambda r: r.occurrence)
    late = [r for r in found if r.occurrence < _key(started - LATE_S)]
    late_ran = [r for r in late if r.status == "ok"]
    assert len(late) >= 8 and len(late_ran) <= 1
    if late_ran:
        assert late_ran[0] == late[-1]  # the latest one ran
    else:
        assert any(r.status == "ok" for r in found if r not in late)  # an on-time one did
    proc.terminate()
    assert proc.wait(timeout=15) == 0
    before = {r.occurrence: r.status for r in found}
    daemon(processes, paths, user)
    after = {r.occurrence: r.status for r in runs(paths, "tick")}
    assert {k: after[k] for k in before} == before  # nothing claimed again


def test_a_model_that_is_down_fails_the_run_with_why_and_the_daemon_goes_on(
    processes: Processes, paths: Paths, user: Rung
) -> None:
    proc = daemon(processes, paths, user, RUNG_OLLAMA_HOST="http://127.0.0.1:9")
    assert user("jobs", "add", "j", "Do it", "--every", "1d").code == 0
    result = user("jobs", "run", "j")
    assert result.code == 1
    (run,) = runs(paths, "j")
    assert run.status == "failed" and "Ollama" in run.error
    assert run.retry_at is not None and run.retry_at > time.time() + 10  # with backoff
    assert "Ollama" in result.err and "Traceback" not in result.err
    assert json.loads(user("inbox", "--json").out) == []  # said once no retry is left
    assert answering(paths) == proc.pid


def test_a_jobs_answer_goes_to_its_sinks_with_its_run_id(
    ollama_server: OllamaTestServer,
    processes: Processes,
    paths: Paths,
    user: Rung,
    receiver: Receiver,
) -> None:
    echo(ollama_server)
    hook = {"RUNG_WEBHOOK_URL": f"{receiver.url}/hook", "RUNG_WEBHOOK_SECRET": "s3cret"}
    unset = user("jobs", "add", "news", "News?", "--every", "1d", "--notify", "webhook")
    assert unset.code == 2 and "webhook_url and webhook_secret" in unset.err
    configured = Rung({**user.env, **hook})
    added = configured("jobs", "add", "news", "News?", "--every", "1d", "--notify", "webhook")
    assert added.code == 0, added.err
    daemon(processes, paths, configured)
    assert configured("jobs", "run", "news").code == 0
    (run,) = runs(paths, "news")
    ((path, headers, body),) = wait_for(lambda: receiver.posts or None, "the webhook's POST")
    assert path == "/hook" and json.loads(body)["run_ids"] == [run.id]
    assert headers["X-Rung-Signature"] == signature(body, "s3cret")
    status = json.loads(configured("daemon", "status", "--json").out)
    assert status["jobs"]["sinks"]["webhook"] == {"waiting": 0, "gave_up": 0, "last_error": None}


async def test_a_failure_is_notified_once_no_retry_is_left(paths: Paths) -> None:
    """In this process, with a real host whose model is down: the runs before the last
    retry say nothing; the last one posts the failure, urgent for an urgent job."""
    from rung.agent.daemon.host import Host
    from rung.agent.daemon.job_run import JobRunner
    from rung.agent.daemon.ledger import Job
    from rung.agent.daemon.notifier import Notifier
    from rung.agent.daemon.schedule import Schedule
    from rung.agent.daemon.scheduler import RETRY_BACKOFF_S
    from rung.config.settings import Settings

    host = Host(Settings(ollama_host="http://127.0.0.1:9", default_tier="chatbot"), paths)
    with Ledger(paths.jobs_db) as ledger:
        notifier = Notifier(ledger, {}, clock=time.time)
        runner = JobRunner(host, ledger, notifier, time.time)
        job = ledger.add(Job("j", "Do it", Schedule("every", "1d", "UTC"), urgent=True))
        for attempt in range(1, len(RETRY_BACKOFF_S) + 2):
            run_id = ledger.queue_now("j")
            with ledger._write() as db:
                db.execute("UPDATE runs SET attempt = ? WHERE id = ?", (attempt, run_id))
            assert ledger.start(run_id, time.time(), os.getpid())
            await runner(job, ledger.run(run_id))
            run = ledger.run(run_id)
            assert run.status == "failed" and "Ollama" in run.error
            last = attempt > len(RETRY_BACKOFF_S)
            assert (run.retry_at is None) == last
            assert len(ledger.inbox()) == (1 if last else 0)
        (item,) = ledger.inbox()
        assert item.title == "j failed" and item.urgent and item.run_id == run.id
    await host.close()


def test_after_untrusted_content_a_runs_own_tool_that_writes_is_refused(
    ollama_server: OllamaTestServer,
    processes: Processes,
    paths: Paths,
    user: Rung,
    workdir: Path,
) -> None:
    """The gate of "safe by default" holds in a job: what a file said may not steer a
    write, even with a tool the job may use; no one is there to say yes."""
    ollama_server.script(
        Reply(tool_calls=[{"name": "read_file", "arguments": {"path": "notes.txt"}}]),
        Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "x.txt", "content": "!"}}]),
        Reply(text="Read the notes; the write was refused."),
    )
    daemon(processes, paths, user)
    assert (
        user("jobs", "add", "tidy", "Tidy my notes", "--every", "1d", "--tools", "files:*").code
        == 0
    )
    assert user("jobs", "run", "tidy").code == 0
    (run,) = runs(paths, "tidy")
    assert [(c.name, c.outcome) for c in run.calls] == [
        ("read_file", "ok"),
        ("write_file", "denied"),
    ]
    assert not (workdir / "x.txt").exists()


def test_one_turn_at_a_time_per_model_in_order(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    held = threading.Event()
    ollama_server.script(Reply(text="first", release=held), Reply(text="second"))
    daemon(processes, paths, user)
    for name in ("a", "b"):
        assert user("jobs", "add", name, f"job {name}", "--every", "1d").code == 0
        assert user("jobs", "run", name, "--no-wait").code == 0
    wait_for(lambda: [r.status for r in runs(paths, "a")] == ["running"], "a to be running")
    assert [r.status for r in runs(paths, "b")] == ["queued"]  # the model is busy with a
    held.set()
    (a,) = wait_for(lambda: settled(paths, "a"), "a to end")
    (b,) = wait_for(lambda: settled(paths, "b"), "b to end")
    assert (a.answer, b.answer) == ("first", "second")
    assert a.ended is not None and b.started is not None and b.started >= a.ended


def test_a_missing_model_fails_the_run_with_the_pull_and_other_jobs_go_on(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    echo(ollama_server)
    daemon(processes, paths, user)
    assert user("jobs", "add", "gone", "Hi", "--every", "1d", "--model", "nosuch:1b").code == 0
    assert user("jobs", "add", "fine", "Hi", "--every", "1d").code == 0
    assert user("jobs", "run", "gone").code == 1
    (failed,) = runs(paths, "gone")
    assert failed.status == "failed" and "nosuch:1b" in failed.error and "pull" in failed.error
    assert user("jobs", "run", "fine").code == 0


def test_editing_a_job_keeps_its_history_and_sim_shows_the_dst_change(
    ollama_server: OllamaTestServer, processes: Processes, paths: Paths, user: Rung
) -> None:
    echo(ollama_server)
    daemon(processes, paths, user)
    add = ("jobs", "add", "daily", "Report", "--cron", "0 8 * * *", "--tz", "Europe/Berlin")
    assert user(*add).code == 0
    assert user("jobs", "run", "daily").code == 0
    edited = user("jobs", "edit", "daily", "--cron", "30 7 * * *", "--prompt", "Short report")
    assert edited.code == 0 and "30 7 * * *" in edited.out
    show = json.loads(user("jobs", "show", "daily", "--json").out)
    assert show["prompt"] == "Short report" and len(show["runs"]) == 1
    sim = user("jobs", "sim", "daily", "--from", "2027-03-27 00:00", "--days", "2")
    assert sim.code == 0
    lines = [line.strip() for line in sim.out.splitlines()]
    assert "Sat 2027-03-27 07:30 CET (UTC+01:00)" in lines
    assert "-- clocks change: UTC+01:00 -> UTC+02:00" in lines
    assert "Sun 2027-03-28 07:30 CEST (UTC+02:00)" in lines
    assert runs(paths, "daily")[0].answer.endswith("Report")  # the run before the edit
