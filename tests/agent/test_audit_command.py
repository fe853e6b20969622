"""`rung audit` as a user runs it: the log written by the real writer (`tools/audit.py`),
read back, filtered and shown; and `rung ask` leaving a line for each call it makes."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rung.tools.audit import AuditEntry, AuditLog, Decision
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

ROOT = Path(__file__).resolve().parents[2]


def log_path(home: Path) -> Path:
    return home / "state" / "rung" / "audit.jsonl"


def write(home: Path, *calls: tuple[str, str, timedelta, Decision], max_bytes: int = 10**7) -> None:
    """Calls as the hub logs them, made `ago` before now."""
    log = AuditLog(log_path(home), max_bytes=max_bytes)
    for server, tool, ago, decision in calls:
        when = (datetime.now().astimezone() - ago).isoformat(timespec="milliseconds")
        entry = AuditEntry(server, tool, {"q": tool}, when, decision)
        if decision.verdict == "allowed":
            entry.duration_ms, entry.result_bytes = 12.0, 2048
        log.write(entry)


ALLOWED = Decision("allowed", "policy", "allow")
CALLS = (
    ("box", "echo", timedelta(days=3), ALLOWED),
    ("box", "crash", timedelta(hours=1), Decision("denied", "policy", "deny")),
    ("web", "echo", timedelta(minutes=5), Decision("refused", "no one", "allow", gate="taint")),
    ("clock", "now", timedelta(0), Decision("allowed", "user", "ask", "once")),
)


def shown(result: Any) -> list[str]:
    """The calls of the table: server:tool in each row, oldest first."""
    return [line.split()[2] for line in result.out.splitlines()[1:] if line[:2] == "20"]


def test_audit_shows_a_table_and_filters_it(rung: Rung, isolated_home: Path) -> None:
    write(isolated_home, *CALLS)
    table = rung("audit")
    assert table.code == 0, table.err
    header, *rows = table.out.splitlines()
    assert header.split() == ["time", "call", "decision", "by", "took", "result"]
    assert shown(table) == ["box:echo", "box:crash", "web:echo", "clock:now"]
    assert rows[0].split()[3:] == ["allowed", "policy", "12", "ms", "2.0", "KB"]
    assert rows[2].split()[3:] == ["refused", "no", "one", "·", "gate", "-", "-"]
    assert rows[3].split()[3:6] == ["allowed", "you", "(once)"]

    assert shown(rung("audit", "--tool", "echo")) == ["box:echo", "web:echo"]
    assert shown(rung("audit", "--tool", "box:*")) == ["box:echo", "box:crash"]
    assert shown(rung("audit", "--server", "web")) == ["web:echo"]
    assert shown(rung("audit", "--since", "2d")) == ["box:crash", "web:echo", "clock:now"]
    assert shown(rung("audit", "--since", "30m", "--tool", "echo")) == ["web:echo"]
    assert shown(rung("audit", "-n", "2")) == ["web:echo", "clock:now"]
    today = datetime.now().strftime("%Y-%m-%d")
    assert "box:echo" not in shown(rung("audit", "--since", today))

    records = json.loads(rung("audit", "--json", "--server", "web").out)
    assert [(r["tool"], r["decision"], r["by"], r["gate"]) for r in records] == [
        ("echo", "refused", "no one", "taint")
    ]
    assert records[0]["arguments"] == {"q": "echo"}
    assert "No matching calls" in rung("audit", "--tool", "nothing*").out


def test_bad_input_and_a_corrupt_log_get_one_line(rung: Rung, isolated_home: Path) -> None:
    assert "No tool calls" in rung("audit").out  # no log yet
    bad = rung("audit", "--since", "last tuesday")
    assert bad.code == 2 and "--since 'last tuesday' is not a date or an age" in bad.err
    assert "Traceback" not in bad.err
    write(isolated_home, CALLS[0])
    with log_path(isolated_home).open("a") as log:
        log.write('{"time": "2026-01-02T10:00:00+00:00", "server": "box", "tool": "ec\n')  # cut
        log.write("not json at all\n\n")
        log.write('{"time": "yesterday", "server": "box", "tool": "echo", "decision": "x"}\n')
    write(isolated_home, CALLS[3])
    read = rung("audit")
    assert read.code == 0, read.err
    assert shown(read) == ["box:echo", "clock:now"]
    assert read.err == (
        "rung: skipped 3 lines of the audit log that are not a record (cut short, or written "
        "by hand)\n"
    )
    assert json.loads(rung("audit", "--json").out)[-1]["tool"] == "now"  # stdout stays JSON


def test_audit_reads_the_rotated_log_too(rung: Rung, isolated_home: Path) -> None:
    many = [("box", f"t{n}", timedelta(0), ALLOWED) for n in range(30)]
    write(isolated_home, *many, max_bytes=3_000)
    assert log_path(isolated_home).with_name("audit.jsonl.1").exists()
    records = json.loads(rung("audit", "--json", "-n", "1000").out)
    tools = [r["tool"] for r in records]
    assert tools[-1] == "t29" and tools == [f"t{n}" for n in range(int(tools[0][1:]), 30)]


def test_ask_leaves_a_line_for_each_call(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    config = isolated_home / "config" / "rung" / "mcp.json"
    config.parent.mkdir(parents=True)
    box = {"command": sys.executable, "args": ["-m", "tests.mcp_servers.toolbox"], "cwd": str(ROOT)}
    off = {name: {"enabled": False} for name in ("clock", "files", "fetch", "memory")}
    rules = {"box:add": "allow", "box:echo": "allow"}
    config.write_text(json.dumps({"mcpServers": {"box": box}, "builtins": off, "approvals": rules}))
    ollama_server.script(
        Reply(tool_calls=[{"name": "add", "arguments": {"a": 20, "b": 22}}]),
        # a result is in the turn now: echo (not read-only) needs a fresh yes; no one is here
        Reply(tool_calls=[{"name": "echo", "arguments": {"text": "the secret"}}]),
        Reply(tool_calls=[{"name": "pid", "arguments": {}}]),  # asks: no one to answer
        Reply(text="Done."),
    )
    asked = rung("ask", "--json", "add 20 and 22")
    assert asked.code == 0, asked.err
    added, echoed, pid = json.loads(rung("audit", "--json").out)
    assert (added["tool"], added["decision"], added["by"]) == ("add", "allowed", "policy")
    assert added["result_bytes"] == len("42")
    assert added["arguments"] == {"a": 20, "b": 22} and added["is_error"] is False
    assert (echoed["decision"], echoed["by"], echoed["policy"]) == ("refused", "no one", "allow")
    assert echoed["gate"].startswith("untrusted content") and echoed["duration_ms"] is None
    assert (pid["decision"], pid["by"], pid["policy"], pid["gate"]) == (
        "refused",
        "no one",
        "ask",
        "untrusted content (add) entered this turn, and pid can change things or send data out",
    )
    assert log_path(isolated_home).stat().st_mode & 0o777 == 0o600
