"""The heartbeat: the checklist read with the engine and a JSON verdict; `ok` shows nowhere,
`notify` lands in the inbox with its run; the cheap checks (an empty checklist, nothing it
watches changed, the day's budget spent) make no model call; and the beats come inside the
active hours. In a real daemon where the user's commands are under test, in this process
with a clock the test moves for the rest (the model is the Ollama-protocol test server)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rung.agent.daemon.heartbeat import Heartbeat
from rung.agent.daemon.host import Host
from rung.agent.daemon.ledger import Ledger
from rung.agent.daemon.notifier import Notifier
from rung.agent.daemon.schedule import Hours
from rung.agent.sessions import SessionStore
from rung.config.paths import Paths
from rung.config.settings import Settings
from tests.agent.daemon.conftest import start_daemon
from tests.conftest import Processes, Rung
from tests.ollama_server import OllamaTestServer, Reply

NOTIFY = '{"verdict": "notify", "message": "The disk is almost full."}'
OK = '{"verdict": "ok", "message": ""}'


def checklist(paths: Paths, text: str) -> Path:
    paths.heartbeat_file.parent.mkdir(parents=True, exist_ok=True)
    paths.heartbeat_file.write_text(text)
    return paths.heartbeat_file


@pytest.fixture
def user(rung: Rung, paths: Paths) -> Rung:
    return Rung(
        {
            **rung.env,
            "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"],
            "RUNG_DEFAULT_TIER": "chatbot",
        }
    )


@pytest.fixture
def daemon(processes: Processes, paths: Paths, user: Rung) -> subprocess.Popen[bytes]:
    return start_daemon(processes, paths, user.env, warm=True)


def test_an_empty_checklist_asks_no_model(
    ollama_server: OllamaTestServer, daemon: subprocess.Popen[bytes], paths: Paths, user: Rung
) -> None:
    checklist(paths, "# Heartbeat\n<!-- nothing yet -->\n\n")
    result = user("heartbeat", "now")
    assert result.code == 0, result.err
    assert result.out.strip() == "skipped: the checklist is empty"
    assert ollama_server.chat_requests == []
    status = user("heartbeat")
    assert (
        "empty: no beats ask the model" in status.out
        and "0 asked the model, 1 skipped" in status.out
    )


def test_notify_lands_in_the_inbox_with_its_run(
    ollama_server: OllamaTestServer, daemon: subprocess.Popen[bytes], paths: Paths, user: Rung
) -> None:
    checklist(paths, "# Heartbeat\n- is the disk nearly full?\n")
    ollama_server.script(Reply(text="The disk is at 97%."), Reply(text=NOTIFY))
    result = user("heartbeat", "now", "--json")
    outcome = json.loads(result.out)
    assert outcome["outcome"] == "notify" and outcome["tokens"] > 0
    verdict_request = ollama_server.chat_requests[-1]
    assert verdict_request["format"]["properties"]["verdict"]["enum"] == ["ok", "notify"]
    assert "The disk is at 97%." in verdict_request["messages"][-1]["content"]
    (item,) = json.loads(user("inbox", "--json").out)
    assert (item["job"], item["body"], item["run_id"]) == (
        "heartbeat",
        "The disk is almost full.",
        outcome["run"],
    )
    history = json.loads(user("jobs", "history", "heartbeat", "--json").out)
    assert [(r["id"], r["status"]) for r in history] == [(outcome["run"], "ok")]


def test_ok_shows_nowhere(
    ollama_server: OllamaTestServer, daemon: subprocess.Popen[bytes], paths: Paths, user: Rung
) -> None:
    checklist(paths, "- anything new in ~/inbox-folder?\n")
    ollama_server.script(Reply(text="Nothing new."), Reply(text=OK))
    assert json.loads(user("heartbeat", "now", "--json").out)["outcome"] == "ok"
    assert json.loads(user("inbox", "--all", "--json").out) == []
    with SessionStore(paths.sessions_db) as store:
        assert store.list() == []  # not a session: nothing to leak into a chat
    ollama_server.assert_complete()


def test_a_verdict_that_is_not_json_fails_the_beat_with_why(
    ollama_server: OllamaTestServer, daemon: subprocess.Popen[bytes], paths: Paths, user: Rung
) -> None:
    checklist(paths, "- the backups\n")
    ollama_server.script(Reply(text="Fine."), Reply(text="ok"))
    result = user("heartbeat", "now")
    assert result.code == 1 and "did not answer with the JSON" in result.out
    assert json.loads(user("inbox", "--json").out) == []


# --- in this process, with a clock the test moves ---------------------------------------


class Clock:
    def __init__(self, when: datetime) -> None:
        self.now = when.timestamp()

    def __call__(self) -> float:
        return self.now


BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def beats(
    ollama_server: OllamaTestServer, paths: Paths
) -> AsyncIterator[tuple[Heartbeat, Ledger, Clock]]:
    settings = Settings(
        ollama_host=ollama_server.url,
        default_tier="chatbot",
        heartbeat_every=30,
        heartbeat_budget_tokens=10_000,
    )
    host = Host(settings, paths)
    clock = Clock(datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN))
    with Ledger(paths.jobs_db) as ledger:
        notifier = Notifier(ledger, {}, clock=clock)
        active = Hours.parse("08:00-22:00", BERLIN)
        yield Heartbeat(host, ledger, notifier, clock=clock, active=active), ledger, clock
    await host.close()


async def test_nothing_changed_means_no_model_call_until_something_does(
    beats: tuple[Heartbeat, Ledger, Clock], ollama_server: OllamaTestServer, paths: Paths
) -> None:
    heartbeat, ledger, clock = beats
    watched = paths.data_dir.parent / "todo.md"
    watched.write_text("- call the bank\n")
    checklist(paths, f"- anything overdue in {watched}?\n")
    ollama_server.responder = lambda body: Reply(text=OK if body.get("format") else "All fine.")
    outcomes = []
    for _ in range(6):  # a quiet morning: three hours of beats
        clock.now = heartbeat.following(clock.now)
        outcomes.append((await heartbeat.beat(slot=clock.now))["outcome"])
    assert outcomes == ["ok"] + ["skipped"] * 5
    assert len(ollama_server.chat_requests) == 2  # the first beat's turn and its verdict
    watched.write_text("- call the bank (overdue!)\n")
    clock.now = heartbeat.following(clock.now)
    assert (await heartbeat.beat(slot=clock.now))["outcome"] == "ok"
    assert len(ollama_server.chat_requests) == 4
    clock.now = datetime(2026, 6, 2, 8, 0, tzinfo=BERLIN).timestamp()  # a new day: it looks
    assert (await heartbeat.beat(slot=clock.now))["outcome"] == "ok"
    today = ledger.heartbeat_day("2026-06-01")
    assert (today.beats, today.skipped) == (2, 5)


async def test_a_spent_budget_pauses_until_tomorrow_and_says_so_once(
    beats: tuple[Heartbeat, Ledger, Clock], ollama_server: OllamaTestServer, paths: Paths
) -> None:
    heartbeat, ledger, clock = beats
    checklist(paths, "- the weather\n")
    ollama_server.responder = lambda body: Reply(
        text=OK if body.get("format") else "Sunny.", prompt_eval_count=6000, eval_count=10
    )
    assert (await heartbeat.beat(forced=True))["outcome"] == "ok"  # 12,020 tokens: spent
    for _ in range(3):
        clock.now += 1800
        outcome = await heartbeat.beat(forced=True)
        assert outcome == {"outcome": "skipped", "why": "today's budget is spent", "at": clock.now}
    assert len(ollama_server.chat_requests) == 2
    paused = [i for i in ledger.inbox() if i.title == "Heartbeat paused until tomorrow"]
    assert len(paused) == 1 and "12020 tokens of 10000" in paused[0].body
    clock.now = datetime(2026, 6, 2, 8, 0, tzinfo=BERLIN).timestamp()
    assert (await heartbeat.beat(forced=True))["outcome"] == "ok"


async def test_beats_come_inside_the_active_hours(
    beats: tuple[Heartbeat, Ledger, Clock],
) -> None:
    heartbeat, _, _ = beats
    at = datetime(2026, 6, 1, 21, 40, tzinfo=BERLIN).timestamp()
    times = []
    for _ in range(3):
        at = heartbeat.following(at)
        times.append(datetime.fromtimestamp(at, BERLIN).strftime("%d %H:%M"))
    assert times == ["02 08:00", "02 08:30", "02 09:00"]  # 22:00 is past the active hours
