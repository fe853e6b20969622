"""`rung daemon install`: the systemd user unit (checked by systemd-analyze where it is
installed) and the launchd agent, written where each service manager looks for them."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rung.agent.service import service_for, systemd_unit
from rung.config.paths import Paths
from tests.conftest import Rung


def unit_values(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def test_install_writes_a_user_unit_and_says_how_to_enable_it(
    paths: Paths, isolated_home: Path
) -> None:
    rung = Rung({**os.environ, "RUNG_MODEL": "tiny:1b", "RUNG_WEBHOOK_SECRET": "hunter2"})
    result = rung("daemon", "install")
    assert result.code == 0, result.err
    unit = Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user" / "rung.service"
    assert f"Wrote {unit}." in result.out
    assert "systemctl --user enable --now rung" in result.out
    assert "loginctl enable-linger" in result.out
    assert "RUNG_MODEL" in result.out
    values = unit_values(unit.read_text())
    assert values["Type"] == ["notify"] and values["Restart"] == ["on-failure"]
    assert values["StartLimitBurst"] and values["WatchdogSec"] == ["60s"]
    assert values["MemoryMax"] == ["2G"]
    assert values["ExecStart"] == [f"{sys.executable} -m rung.agent.cli daemon run"]
    assert "RUNG_MODEL=tiny:1b" in values["Environment"]
    assert "hunter2" not in unit.read_text()  # a secret stays in config.toml
    again = rung("daemon", "install")
    assert "is up to date" in again.out
    printed = rung("daemon", "install", "--print", "--memory-max", "512M")
    assert "MemoryMax=512M" in printed.out and "up to date" not in printed.out
    assert "MemoryMax=2G" in unit.read_text()  # --print writes nothing


def test_a_bad_memory_size_is_one_line(paths: Paths) -> None:
    result = Rung(dict(os.environ))("daemon", "install", "--memory-max", "lots")
    assert result.code == 2 and "is not a size like 2G" in result.err
    assert "Traceback" not in result.err


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian package: systemd)",
)
def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "rung.agent.cli", "daemon", "run", "--config", "/a b/50%.toml"]
    unit = tmp_path / "rung.service"
    unit.write_text(systemd_unit(argv, {"RUNG_MODEL": 'say "hi"'}, "2G"))
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"},
        timeout=60,
    )
    problems = [
        line
        for line in checked.stderr.splitlines()
        if "rung.service" in line and "Failed to" not in line  # no user manager here
    ]
    assert problems == [], checked.stderr


def test_macos_gets_a_launchd_agent(tmp_path: Path) -> None:
    service = service_for(
        "darwin",
        config=None,
        environ={"HOME": str(tmp_path), "OLLAMA_HOST": "http://box:11434", "PATH": "/bin"},
        memory_max="2G",
        log=tmp_path / "daemon.log",
    )
    assert service.path == tmp_path / "Library" / "LaunchAgents" / "rung.daemon.plist"
    plist = plistlib.loads(service.text.encode())
    assert plist["ProgramArguments"][-2:] == ["daemon", "run"]
    assert plist["KeepAlive"] == {"SuccessfulExit": False}
    assert plist["EnvironmentVariables"]["OLLAMA_HOST"] == "http://box:11434"
    assert "PATH" not in plist["EnvironmentVariables"]
    assert any("launchctl bootstrap" in line for line in service.how)
