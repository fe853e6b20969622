"""The audit log on its own: what a line holds, long arguments, rotation, a log that cannot
be written, and two processes appending at once (real processes)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rung.tools.audit import MAX_TEXT, AuditEntry, AuditLog, Decision, append_line, rotated

ROOT = Path(__file__).resolve().parents[2]


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def call(log: AuditLog, arguments: dict[str, Any], decision: Decision | None = None) -> None:
    with log.call("box", "echo", arguments) as entry:
        entry.decision = decision or Decision("allowed", "policy", "allow")


def test_long_texts_are_cut_and_huge_arguments_left_out_with_a_marker(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    call(log, {"text": "x" * 50_000, "n": 3})
    call(log, {"items": ["y" * 1_500] * 100})  # no one text is long; all of them are
    cut, left_out = lines(log.path)  # type: ignore[arg-type]
    assert cut["arguments"]["n"] == 3
    assert cut["arguments"]["text"] == "x" * MAX_TEXT + "…[Rung cut 48,000 characters]"
    assert cut["arguments_bytes"] == len(json.dumps({"text": "x" * 50_000, "n": 3}))
    assert left_out["arguments"].startswith("[Rung left out these arguments: 15")
    assert left_out["arguments_bytes"] > 150_000


def test_a_call_ended_while_it_was_decided_is_logged_as_cancelled(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with pytest.raises(KeyboardInterrupt), log.call("box", "echo", {}):
        raise KeyboardInterrupt  # Ctrl-C at the approval prompt
    [record] = lines(tmp_path / "audit.jsonl")
    assert (record["decision"], record["by"], record["is_error"]) == ("cancelled", None, None)


def test_a_full_log_is_renamed_and_the_newest_lines_kept(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, max_bytes=4_000)
    for n in range(40):
        call(log, {"n": n})
    current, older = lines(path), lines(rotated(path))
    assert current[-1]["arguments"] == {"n": 39}  # the newest line is in the current file
    numbers = [r["arguments"]["n"] for r in [*older, *current]]
    assert numbers == list(range(numbers[0], 40))  # in order, none missing in between
    assert numbers[0] > 0  # the oldest were dropped with the generation before
    assert path.stat().st_size <= 4_000 and rotated(path).stat().st_size <= 4_000


def test_a_log_that_cannot_be_written_is_said_once_and_calls_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").write_text("a file where the folder should be")
    log = AuditLog(tmp_path / "state" / "audit.jsonl")
    with caplog.at_level(logging.WARNING, logger="rung.tools.audit"):
        call(log, {"n": 1})
        call(log, {"n": 2})
    [warning] = caplog.records
    assert "cannot write the audit log" in warning.getMessage()
    assert "not being recorded" in warning.getMessage()


WRITER = """
import sys
from pathlib import Path
from rung.tools.audit import append_line
path, who, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # go
for n in range(count):
    line = f'{{"who": "{who}", "n": {n}, "pad": "' + who * 20000 + '"}' + "\\n"
    append_line(path, line.encode(), 10**12)
"""


def test_two_processes_appending_at_once_never_mix_their_lines(tmp_path: Path) -> None:
    path, count = tmp_path / "audit.jsonl", 150
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), who, str(count)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for who in "ab"
    ]
    try:
        for writer in writers:  # both started and waiting: then both go at once
            assert writer.stdout is not None and writer.stdout.readline() == "ready\n"
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        assert [writer.wait(timeout=30) for writer in writers] == [0, 0]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait()
            if writer.stdout is not None:
                writer.stdout.close()
    records = lines(path)  # every line whole JSON: none cut into by the other writer
    for who in "ab":
        mine = [r for r in records if r["who"] == who]
        assert [r["n"] for r in mine] == list(range(count))
        assert all(r["pad"] == who * 20000 for r in mine)


def test_one_write_per_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    append_line(path, b'{"a": 1}\n', 100)
    append_line(path, b'{"a": 2}\n', 100)
    assert path.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_entry_that_ran_records_its_size_and_failure() -> None:
    entry = AuditEntry("box", "echo", {}, "2026-01-02T10:00:00.000+00:00")
    entry.decision = Decision("allowed", "user", "ask", "once", "untrusted content entered")
    entry.duration_ms, entry.result_bytes, entry.error = 12.5, 40, "failed"
    record = entry.record()
    assert record["gate"] == "untrusted content entered" and record["answer"] == "once"
    assert (record["is_error"], record["error"], record["result_bytes"]) == (True, "failed", 40)
