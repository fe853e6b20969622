"""`rung audit`: the tool calls Rung made, read back from the audit log (`tools/audit.py`).

The command line itself is defined in `cli.py` (kept light for `rung --help`)."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from datetime import datetime
from typing import Any

from rung.config.paths import Paths
from rung.tools.audit import Record, read_log, record_time


def audit_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markup import escape

    from rung.agent.cli.memory_command import parse_when

    path = Paths.default().audit_log
    since = parse_when(args.since, "--since") if args.since else None
    records, skipped = read_log(path)
    chosen = [r for r in records if _matches(r, since, args.tool, args.server)][-args.limit :]
    if args.json:
        print(json.dumps(chosen, indent=2, ensure_ascii=False))
    elif not chosen:
        what = "matching calls" if records else "tool calls"
        Console(highlight=False).print(f"No {what} in the audit log ({escape(str(path))}).")
    else:
        console = Console(highlight=False, soft_wrap=True)
        for line in table(chosen):
            console.print(line, markup=False)
        shown = f"the last {len(chosen)}" if len(chosen) == args.limit else f"{len(chosen)}"
        console.print(f"[dim]{shown} of {len(records)} calls · {escape(str(path))}[/]")
    if skipped:
        lines = "1 line" if skipped == 1 else f"{skipped} lines"
        print(
            f"rung: skipped {lines} of the audit log that {'is' if skipped == 1 else 'are'} "
            "not a record (cut short, or written by hand)",
            file=sys.stderr,
        )
    return 0


def table(records: list[Record]) -> list[str]:
    """Aligned lines: time, server:tool, decision, by whom, how long, result size."""
    rows = [("time", "call", "decision", "by", "took", "result")]
    rows += [
        (
            _local(r["time"]),
            f"{r['server']}:{r['tool']}",
            r["decision"],
            _who(r),
            _took(r.get("duration_ms")),
            _result(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]


def _matches(record: Record, since: float | None, tool: str | None, server: str | None) -> bool:
    name = record["tool"]
    if tool is not None and ":" in tool:
        name = f"{record['server']}:{record['tool']}"
    return (
        (since is None or record_time(record) >= since)
        and (tool is None or fnmatch.fnmatchcase(name, tool))
        and (server is None or fnmatch.fnmatchcase(record["server"], server))
    )


def _local(text: str) -> str:
    return datetime.fromisoformat(text).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _who(record: Record) -> str:
    by = str(record.get("by") or "-")
    if by == "user":
        by = f"you ({record['answer']})" if record.get("answer") else "you"
    return f"{by} · gate" if record.get("gate") else by


def _took(ms: Any) -> str:
    if not isinstance(ms, int | float):
        return "-"
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def _result(record: Record) -> str:
    size = record.get("result_bytes")
    text = "-" if not isinstance(size, int) else _bytes(size)
    return f"{text} ({record['error']})" if record.get("error") else text


def _bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KB" if size < 2**20 else f"{size / 2**20:.1f} MB"
