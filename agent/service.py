"""`rung daemon install`: the daemon as a service of the user's own service manager — a
systemd user unit on Linux, a launchd agent on macOS — so it starts at login (or boot, with
lingering), restarts when it fails (not in a loop), and is stopped when it hangs or grows."""

from __future__ import annotations

import os
import plistlib
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rung.config.settings import SECRETS

UNIT_NAME = "rung.service"
LAUNCHD_LABEL = "rung.daemon"
MEMORY_MAX = "2G"  # far above a healthy daemon (about 0.5 GB with the embedding model)
WATCHDOG_S = 60  # the daemon pings every 30 s while its event loop runs
PASSED_ON = ("OLLAMA_HOST",)  # besides RUNG_*: the settings this shell gives Rung


@dataclass(frozen=True)
class Service:
    path: Path  # where the file goes
    text: str
    how: list[str]  # what to do next, a line each


def daemon_argv(config: str | None) -> list[str]:
    """The command a service manager runs: this Python, so this install of Rung."""
    argv = [sys.executable, "-m", "rung.agent.cli", "daemon", "run"]
    if config:
        argv += ["--config", str(Path(config).resolve())]
    return argv


def passed_on(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of this shell that are Rung's settings, for the service to have too;
    not the secrets (a unit file is readable by others: those belong in config.toml)."""
    secrets = {f"RUNG_{name.upper()}" for name in SECRETS}
    return {
        k: v
        for k, v in sorted(environ.items())
        if (k.startswith("RUNG_") or k in PASSED_ON) and k not in secrets
    }


def systemd_unit(argv: Sequence[str], env: Mapping[str, str], memory_max: str) -> str:
    lines = [
        "# Rung's background daemon, written by `rung daemon install`.",
        "[Unit]",
        "Description=Rung, the background assistant",
        "After=network.target",
        # at most 5 starts in 5 minutes: a daemon that cannot start does not loop
        "StartLimitIntervalSec=300",
        "StartLimitBurst=5",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={' '.join(_systemd_quote(a) for a in argv)}",
        "Restart=on-failure",
        "RestartSec=5s",
        "TimeoutStartSec=60s",
        "TimeoutStopSec=15s",
        f"WatchdogSec={WATCHDOG_S}s",
        f"MemoryMax={memory_max}",
        "Environment=PYTHONUNBUFFERED=1",
        *(f"Environment={_systemd_quote(f'{k}={v}')}" for k, v in env.items()),
        "",
        "[Install]",
        "WantedBy=default.target",
    ]
    return "\n".join(lines) + "\n"


def _systemd_quote(word: str) -> str:
    """One word of a unit file's command line or Environment=: % doubled (systemd's
    specifiers), and double quotes around anything with a space, a quote or a backslash."""
    word = word.replace("%", "%%")
    if re.search(r'[\s"\\]', word) or not word:
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def launchd_plist(argv: Sequence[str], env: Mapping[str, str], log: Path) -> str:
    plist = {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restarted when it fails, not when stopped
        "ThrottleInterval": 10,  # and no faster than every 10 s
        "ProcessType": "Background",
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
        "EnvironmentVariables": {"PYTHONUNBUFFERED": "1", **env},
    }
    return plistlib.dumps(plist).decode()


def service_for(
    platform: str,
    *,
    config: str | None,
    environ: Mapping[str, str],
    memory_max: str,
    log: Path,
) -> Service:
    argv = daemon_argv(config)
    env = passed_on(environ)
    home = Path(environ.get("HOME") or Path.home())
    if platform == "darwin":
        path = home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"
        return Service(
            path,
            launchd_plist(argv, env, log),
            [
                "Load it (it starts now and at each login): "
                f"launchctl bootstrap gui/$(id -u) {path}",
                f"Stop and unload it: launchctl bootout gui/$(id -u)/{LAUNCHD_LABEL}",
            ],
        )
    config_home = Path(environ.get("XDG_CONFIG_HOME") or home / ".config")
    path = config_home / "systemd" / "user" / UNIT_NAME
    return Service(
        path,
        systemd_unit(argv, env, memory_max),
        [
            "Enable and start it: systemctl --user daemon-reload && "
            "systemctl --user enable --now rung",
            "Keep it running after you log out: loginctl enable-linger $USER",
            "Its log: journalctl --user -u rung (or rung daemon logs -f)",
        ],
    )


def install(service: Service, *, env: Mapping[str, str]) -> list[str]:
    """Write the service's file (atomically); the lines that say what was done and what next."""
    existed = service.path.exists()
    if existed and service.path.read_text(encoding="utf-8") == service.text:
        done = f"{service.path} is up to date."
    else:
        service.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = service.path.with_name(f".{service.path.name}.{os.getpid()}")
        temporary.write_text(service.text, encoding="utf-8")
        os.replace(temporary, service.path)
        done = f"{'Updated' if existed else 'Wrote'} {service.path}."
    lines = [done]
    if env:
        lines.append(f"It runs with these settings of this shell: {', '.join(env)}.")
    return [*lines, *service.how]
