"""`rung memory …` through a real daemon: the daemon's memory is the one used (here it has
a data folder of its own, to tell them apart), paths are the user's, not the daemon's, and
its errors are the usual one line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from rung.config.paths import Paths
from tests.agent.daemon.conftest import start_daemon
from tests.conftest import Processes, Rung


@pytest.fixture
def user(rung: Rung, paths: Paths, processes: Processes, tmp_path: Path) -> Rung:
    """`rung` as the user types it, while a daemon with its own data folder runs."""
    env = {**rung.env, "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"]}
    start_daemon(
        processes, paths, {**env, "XDG_DATA_HOME": str(tmp_path / "daemon-data")}, warm=True
    )
    return Rung(env)


def test_memory_commands_use_the_daemons_memory_with_the_users_paths(
    user: Rung, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    (work / "notes").mkdir(parents=True)
    (work / "notes" / "bike.md").write_text("# Bike\n\nOil the chain every 300 km.\n")
    monkeypatch.chdir(work)
    added = user("memory", "add", "notes")  # relative to the user's folder
    assert added.code == 0, added.err
    assert "1 files: 1 added" in added.out
    through = json.loads(user("memory", "stats", "--json").out)
    local = json.loads(user("memory", "stats", "--local", "--json").out)
    assert through["sources"]["documents"] == 1 and local["sources"]["documents"] == 0
    assert "daemon-data" in through["folder"]
    hits = json.loads(user("memory", "search", "--json", "chain oil").out)
    assert hits[0]["source"] == str(work / "notes" / "bike.md")
    assert user("memory", "facts", "add", "I ride a blue bike").code == 0
    assert "I ride a blue bike" in user("memory", "facts").out
    exported = [json.loads(line) for line in user("memory", "export").out.splitlines()]
    assert any("Oil the chain" in json.dumps(r) for r in exported)
    forgot = user("memory", "forget", "notes/bike.md")  # a path, the user's
    assert forgot.code == 0 and "forgot notes/bike.md" in forgot.out, forgot.out
    assert json.loads(user("memory", "stats", "--json").out)["sources"]["documents"] == 0
    missing = user("memory", "add", "nowhere")
    assert missing.code != 0 and "Traceback" not in missing.err
    assert "nowhere" in missing.err + missing.out
