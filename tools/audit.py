"""The audit log: one JSON line for every tool call Rung makes, whatever became of it.

Each line says when, which server and tool, the arguments the model sent, what was decided
and by whom (the policy, the user's answer, the untrusted-content gate, the user's trust,
no one to ask, the tool's pin), how long the call ran, how many bytes its result had and
whether it failed. Nothing else goes in: no results, no environment, no headers. A long text
in the arguments is cut at `MAX_TEXT` characters, and arguments still over `MAX_ARGUMENTS`
bytes are left out, each with a marker saying how much.

The log is `audit.jsonl` in the state dir, 0600. Each line is one `write` to a file opened
with O_APPEND, so the lines of several Rung processes never mix. Past `MAX_BYTES` the file
is renamed `audit.jsonl.1` (the one before is dropped) and a new one begun: the log keeps
between `MAX_BYTES` and twice that, always the newest lines. One process renames; the
others, holding the same file, find it done. A log that cannot be written is said once as
a warning and the calls go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from rung.config.errors import ApprovalDenied, ToolError, ToolFailed, ToolTimeout, UserError
from rung.config.mcp_file import Policy
from rung.tools.approvals import Answer

log = logging.getLogger(__name__)

MAX_BYTES = 10 * 2**20  # then audit.jsonl becomes audit.jsonl.1
MAX_TEXT = 2000  # characters kept of one text in the arguments
MAX_ARGUMENTS = 64 * 2**10  # bytes of arguments (as JSON, after cutting texts) kept at most

Verdict = Literal["allowed", "denied", "refused", "blocked", "cancelled", "error"]
By = Literal["policy", "user", "no one", "trust", "pin", "scope"]  # scope: a job's own tools


@dataclass(frozen=True)
class Decision:
    """Whether a call may run and who said so."""

    verdict: Verdict  # refused: no one could answer; blocked: its definition changed
    by: By | None
    policy: Policy | None = None  # what the policy said (None: the pin decided first)
    answer: Answer | None = None  # the user's, when asked
    gate: str = ""  # why the untrusted-content gate wanted a fresh yes
    refusal: ApprovalDenied | None = None  # what the model and the user are told (not logged)


@dataclass
class AuditEntry:
    """One call, filled in as it goes: decided, then maybe run."""

    server: str
    tool: str
    arguments: dict[str, Any]
    time: str  # when the call came, ISO 8601 with the local offset
    decision: Decision | None = None
    duration_ms: float | None = None  # the server's time, for a call that ran
    result_bytes: int | None = None
    error: str | None = None  # failed, timeout, server, cancelled (for a call that ran)

    async def run(self, call: Awaitable[str]) -> str:
        """The call's result, timed and measured; a failure is noted, then raised on."""
        started = time.monotonic()
        try:
            text = await call
        except BaseException as exc:
            self.error = _failure(exc)
            if isinstance(exc, ToolFailed):
                self.result_bytes = _size(exc.message)
            raise
        finally:
            self.duration_ms = round((time.monotonic() - started) * 1000, 1)
        self.result_bytes = _size(text)
        return text

    def record(self) -> dict[str, Any]:
        """The line written for this call."""
        decision = self.decision or Decision("cancelled", None)
        arguments, size = logged_arguments(self.arguments)
        ran = self.duration_ms is not None
        return {
            "time": self.time,
            "pid": os.getpid(),
            "server": self.server,
            "tool": self.tool,
            "arguments": arguments,
            "arguments_bytes": size,
            "decision": decision.verdict,
            "by": decision.by,
            "policy": decision.policy,
            "answer": decision.answer,
            "gate": decision.gate or None,
            "duration_ms": self.duration_ms,
            "result_bytes": self.result_bytes,
            "is_error": (self.error is not None) if ran else None,
            "error": self.error,
        }


class AuditLog:
    """Where the calls are written; `AuditLog(None)` writes nothing (tests, benchmarks)."""

    def __init__(self, path: Path | None, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._warned = False

    @contextlib.contextmanager
    def call(self, server: str, tool: str, arguments: dict[str, Any]) -> Iterator[AuditEntry]:
        """An entry to fill in during the call; written when the call ends, however it ends."""
        now = datetime.now().astimezone().isoformat(timespec="milliseconds")
        entry = AuditEntry(server, tool, arguments, now)
        try:
            yield entry
        except BaseException as exc:
            if entry.decision is None:  # ended while it was being decided (asked, say)
                cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
                entry.decision = Decision("cancelled" if cancelled else "error", None)
            raise
        finally:
            self.write(entry)

    def write(self, entry: AuditEntry) -> None:
        if self.path is None:
            return
        line = json.dumps(entry.record(), ensure_ascii=False, default=str) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            append_line(self.path, line.encode("utf-8", "backslashreplace"), self.max_bytes)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning(
                    "cannot write the audit log %s (%s): tool calls are not being recorded",
                    self.path,
                    exc.strerror or exc,
                )


def append_line(path: Path, line: bytes, max_bytes: int) -> None:
    """`line` at the end of `path` in one O_APPEND write; a file it would take past
    `max_bytes` is first renamed PATH.1 (by one process: the others find it done)."""
    fd = _open(path)
    try:
        size = os.fstat(fd).st_size
        if size and size + len(line) > max_bytes:
            fcntl.flock(fd, fcntl.LOCK_EX)  # on the full file: one renamer at a time
            if _same_file(path, fd):
                os.replace(path, rotated(path))
            os.close(fd)
            fd = _open(path)
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def rotated(path: Path) -> Path:
    """Where the older lines go: audit.jsonl.1."""
    return path.with_name(path.name + ".1")


def logged_arguments(arguments: Any) -> tuple[Any, int]:
    """The arguments as they are logged (long texts cut, very large ones left out, with a
    marker saying how much), and their full size in bytes as JSON."""
    size = _size(json.dumps(arguments, ensure_ascii=False, default=str))
    if size <= MAX_TEXT:
        return arguments, size
    cut = _cut(arguments)
    kept = _size(json.dumps(cut, ensure_ascii=False, default=str))
    if kept > MAX_ARGUMENTS:
        return f"[Rung left out these arguments: {size:,} bytes of JSON]", size
    return cut, size


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + f"…[Rung cut {len(value) - MAX_TEXT:,} characters]"
    if isinstance(value, dict):
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


def _failure(exc: BaseException) -> str:
    """A failed call's kind, in one word (its message may hold what the tool returned)."""
    if isinstance(exc, ToolFailed):
        return "failed"
    if isinstance(exc, ToolTimeout):
        return "timeout"
    if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
        return "cancelled"
    return "server" if isinstance(exc, ToolError) else "error"


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _open(path: Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _same_file(path: Path, fd: int) -> bool:
    """`path` still names the file open as `fd` (no one has renamed it yet)."""
    try:
        here, held = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (held.st_dev, held.st_ino)


Record = dict[str, Any]  # one line of the log, as JSON


def read_log(path: Path) -> tuple[list[Record], int]:
    """Every record of the log, oldest first (the rotated file, then the current one), and
    how many lines were not records (cut short, or written by hand)."""
    records: list[Record] = []
    skipped = 0
    for part in (rotated(path), path):
        try:
            data = part.read_bytes()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise UserError(
                f"cannot read the audit log {part}: {exc.strerror or exc}",
                hint="check that file and its permissions",
            ) from None
        for raw in data.splitlines():
            record = _record(raw)
            if record is None:
                skipped += bool(raw.strip())
            else:
                records.append(record)
    return records, skipped


def record_time(record: Record) -> float:
    return datetime.fromisoformat(record["time"]).timestamp()


def _record(raw: bytes) -> Record | None:
    try:
        record = json.loads(raw)
        fields = [record[k] for k in ("time", "server", "tool", "decision")]
        record_time(record)
    except (ValueError, TypeError, KeyError):  # not JSON, not an object, a field missing
        return None
    if not all(isinstance(f, str) for f in fields):
        return None
    return record  # type: ignore[no-any-return]
