"""The heartbeat's checklist (`heartbeat.md` in the config folder): the lines that ask for
something, the files and folders it names, and a fingerprint of all of it, which changes
when any of them does (and each day)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rung.agent.daemon.ledger import HeartbeatDay
    from rung.config.settings import Settings

TEMPLATE = """\
# Heartbeat

<!-- The daemon reads this every heartbeat_every minutes inside active_hours and tells you
only what needs your attention. One thing to keep an eye on per line; name the files or
folders to watch by their path (~/notes/todo.md). Nothing but comments and headings: no
heartbeat at all (and no model calls). `rung heartbeat` shows what it did today. -->
"""
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_PATH = re.compile(r"(?<![\w/])(~/[^\s`'\"),;]+|/[^\s`'\"),;]+)")
MAX_FOLDER_ENTRIES = 1000


def checklist_text(path: Path) -> str:
    """The checklist's lines that ask for something ('' when there are none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    lines = [line.rstrip() for line in _COMMENT.sub("", text).splitlines()]
    return "\n".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))


def watched(checklist: str) -> list[Path]:
    """The files and folders the checklist names by path (~/… or /…)."""
    return [Path(os.path.expanduser(m.rstrip(".,:;?!"))) for m in _PATH.findall(checklist)]


def fingerprint(checklist: str, day: str) -> str:
    digest = hashlib.sha256(f"{day}\n{checklist}".encode())
    for path in watched(checklist):
        digest.update(f"\n{path}".encode())
        with contextlib.suppress(OSError):
            info = path.stat()
            digest.update(f" {info.st_size} {info.st_mtime_ns}".encode())
            if path.is_dir():
                for n, entry in enumerate(sorted(os.scandir(path), key=lambda e: e.name)):
                    if n >= MAX_FOLDER_ENTRIES:
                        break
                    with contextlib.suppress(OSError):
                        stat = entry.stat()
                        digest.update(f" {entry.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def summary(
    settings: Settings, path: Path, today: HeartbeatDay, next_beat: float | None
) -> dict[str, Any]:
    """What `rung heartbeat` and the daemon's status say of the heartbeat."""
    return {
        "every_min": settings.heartbeat_every,
        "active_hours": settings.active_hours,
        "checklist": str(path),
        "checklist_empty": not checklist_text(path),
        "next": next_beat,
        "today": {
            "beats": today.beats,
            "skipped": today.skipped,
            "tokens": today.tokens,
            "cpu_s": round(today.cpu_s, 3),
            "budget_tokens": settings.heartbeat_budget_tokens,
            "budget_cpu_s": settings.heartbeat_budget_cpu_s,
        },
        "last": today.last,
    }
