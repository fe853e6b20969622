"""The jobs, their runs and the inbox: one SQLite file (`jobs.sqlite3` in the data dir).

Exactly once per occurrence: `runs` has one row per (job, occurrence), unique, and a run is
claimed by inserting its row (status `queued`) in the same transaction that moves the job's
`checked_until` past it. Whatever happens after — a restart, `kill -9`, an edit of the job,
a second scheduler — the insert of the same occurrence is ignored, so it is never queued
twice. A run moves queued → running → ok | failed | denied; a run found `running` when the
daemon starts was cut off by a kill, and is marked `interrupted`. A failed or interrupted run
is retried (its own row, its `attempt` counting) by claiming it back to `queued` with a
conditional update, which only one caller can win.

Statuses: queued, running, ok (the job answered), denied (it answered, with tool calls
refused), failed (no answer: the model or the daemon failed it), missed (its time passed
while the daemon was down, and its policy did not run it), interrupted (a kill stopped it).

The `terminal` commands read and edit this file directly (the daemon picks an edit up at its
next tick, or at once when told); only the daemon runs jobs."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from rung.agent.daemon.schedule import Schedule, occurrence_key
from rung.config.database import SqliteFile
from rung.config.errors import RungError, UserError

Missed = Literal["skip", "once", "all"]
MISSED: tuple[Missed, ...] = ("skip", "once", "all")
Status = Literal["queued", "running", "ok", "denied", "failed", "missed", "interrupted"]
FINISHED: tuple[Status, ...] = ("ok", "denied", "failed", "missed", "interrupted")
HEARTBEAT = "heartbeat"  # the job name of the heartbeat's runs
SYSTEM = "rung"  # the job name of the daemon's own notices (a sink that fails)
RESERVED = (HEARTBEAT, SYSTEM)  # names no job may take
MANUAL = "manual"  # the occurrence of a run asked for with `rung jobs run`: "manual 2026-…Z"


class JobError(UserError):
    """A job that does not exist, or cannot be made as asked."""


class LedgerError(RungError):
    """The job ledger cannot be read or written."""


MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE jobs (
            name          TEXT PRIMARY KEY,
            spec          TEXT NOT NULL,      -- JSON: what to do, when, with what
            paused        INTEGER NOT NULL DEFAULT 0,
            created       REAL NOT NULL,      -- epoch seconds
            updated       REAL NOT NULL,
            checked_until REAL NOT NULL       -- occurrences up to here have been seen
        )
        """,
        """
        CREATE TABLE runs (
            id          INTEGER PRIMARY KEY,
            job         TEXT NOT NULL,
            occurrence  TEXT NOT NULL,        -- its UTC instant, or "manual <instant>"
            status      TEXT NOT NULL,
            attempt     INTEGER NOT NULL DEFAULT 1,
            queued      REAL NOT NULL,
            started     REAL,
            ended       REAL,
            retry_at    REAL,                 -- failed or interrupted: when to try again
            answer      TEXT NOT NULL DEFAULT '',
            calls       TEXT NOT NULL DEFAULT '[]',   -- JSON: each tool call and its outcome
            error       TEXT NOT NULL DEFAULT '',
            session     TEXT,
            pid         INTEGER,              -- the daemon that ran it
            UNIQUE (job, occurrence)
        )
        """,
        "CREATE INDEX runs_by_status ON runs (status, id)",
        """
        CREATE TABLE inbox (
            id       INTEGER PRIMARY KEY,
            run_id   INTEGER,
            job      TEXT NOT NULL,
            title    TEXT NOT NULL,
            body     TEXT NOT NULL,
            urgent   INTEGER NOT NULL DEFAULT 0,
            created  REAL NOT NULL,
            read     REAL
        )
        """,
        "CREATE INDEX inbox_unread ON inbox (read, id)",
        """
        CREATE TABLE deliveries (
            id        INTEGER PRIMARY KEY,
            item      INTEGER NOT NULL REFERENCES inbox (id) ON DELETE CASCADE,
            sink      TEXT NOT NULL,
            attempts  INTEGER NOT NULL DEFAULT 0,
            next_at   REAL NOT NULL,
            held      INTEGER NOT NULL DEFAULT 0,  -- by quiet hours: goes out in a digest
            sent      REAL,
            gave_up   REAL,
            error     TEXT NOT NULL DEFAULT '',
            UNIQUE (item, sink)
        )
        """,
        "CREATE INDEX deliveries_due ON deliveries (sent, gave_up, next_at)",
        """
        CREATE TABLE heartbeat (
            day         TEXT PRIMARY KEY,            -- the local date
            beats       INTEGER NOT NULL DEFAULT 0,  -- beats that asked the model
            skipped     INTEGER NOT NULL DEFAULT 0,  -- beats the cheap checks answered
            tokens      INTEGER NOT NULL DEFAULT 0,
            cpu_s       REAL NOT NULL DEFAULT 0,
            paused_said INTEGER NOT NULL DEFAULT 0,  -- the spent budget was told
            fingerprint TEXT,                        -- what it watched at its last model call
            last        TEXT                         -- JSON: the last beat's outcome
        )
        """,
    ),
}


@dataclass(frozen=True)
class Job:
    name: str
    prompt: str
    schedule: Schedule
    tier: str | None = None  # None: the settings' default tier
    model: str | None = None
    tools: tuple[str, ...] = ()  # "server:tool" globs it may call unattended
    missed: Missed = "once"
    grace_s: float = 3600.0  # a missed occurrence older than this is not caught up (once)
    notify: tuple[str, ...] = ()  # sinks besides the inbox
    urgent: bool = False  # its failures go out even in quiet hours
    paused: bool = False
    created: float = 0.0
    updated: float = 0.0
    checked_until: float = 0.0

    def spec(self) -> str:
        fields = asdict(self)
        for key in ("name", "paused", "created", "updated", "checked_until"):
            del fields[key]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Job:
        name, spec, paused, created, updated, checked_until = row
        fields = json.loads(spec)
        fields["schedule"] = Schedule(**fields["schedule"])
        fields["tools"] = tuple(fields.get("tools", ()))
        fields["notify"] = tuple(fields.get("notify", ()))
        return cls(
            name=name,
            paused=bool(paused),
            created=created,
            updated=updated,
            checked_until=checked_until,
            **fields,
        )


@dataclass(frozen=True)
class ToolUse:
    """One tool call of a run: what it called, and whether it ran."""

    name: str
    arguments: dict[str, Any]
    outcome: Literal["ok", "error", "denied"]
    detail: str = ""  # the refusal (what would let it), or the error


@dataclass(frozen=True)
class Run:
    id: int
    job: str
    occurrence: str
    status: Status
    attempt: int
    queued: float
    started: float | None = None
    ended: float | None = None
    retry_at: float | None = None
    answer: str = ""
    calls: tuple[ToolUse, ...] = field(default_factory=tuple)
    error: str = ""
    session: str | None = None

    @property
    def denied(self) -> list[ToolUse]:
        return [c for c in self.calls if c.outcome == "denied"]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["denied"] = [asdict(c) for c in self.denied]
        return data


_RUN_COLUMNS = (
    "id, job, occurrence, status, attempt, queued, started, ended, retry_at, answer, calls, "
    "error, session"
)


def _run(row: Sequence[Any]) -> Run:
    (run_id, job, occurrence, status, attempt, queued, started, ended, retry_at, answer) = row[:10]
    calls, error, session = row[10:]
    return Run(
        run_id,
        job,
        occurrence,
        status,
        attempt,
        queued,
        started,
        ended,
        retry_at,
        answer,
        calls=tuple(ToolUse(**c) for c in json.loads(calls)),
        error=error,
        session=session,
    )


@dataclass(frozen=True)
class InboxItem:
    id: int
    run_id: int | None
    job: str
    title: str
    body: str
    urgent: bool
    created: float
    read: float | None


@dataclass(frozen=True)
class Delivery:
    """An inbox item on its way to one sink."""

    id: int
    sink: str
    attempts: int
    held: bool  # quiet hours held it: it goes out in a digest
    item: InboxItem


class Ledger(SqliteFile):
    what = "job ledger"
    error = LedgerError
    migrations = MIGRATIONS

    # --- jobs -------------------------------------------------------------------------

    def add(self, job: Job, now: float | None = None) -> Job:
        """Store a new job; occurrences count from `now`. JobError when the name is taken."""
        now = time.time() if now is None else now
        job = replace(job, created=now, updated=now, checked_until=now)
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO jobs (name, spec, paused, created, updated, checked_until) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (job.name, job.spec(), int(job.paused), now, now, now),
                )
        except LedgerError as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise JobError(
                    f"a job named {job.name!r} exists",
                    hint=f"`rung jobs edit {job.name} …` changes it; or pick another name",
                ) from None
            raise
        return job

    def update(self, job: Job, now: float | None = None) -> Job:
        """Store a changed job (its history and the occurrences seen are kept)."""
        now = time.time() if now is None else now
        with self._write() as conn:
            found = conn.execute(
                "UPDATE jobs SET spec = ?, paused = ?, updated = ? WHERE name = ?",
                (job.spec(), int(job.paused), now, job.name),
            ).rowcount
        if not found:
            raise _no_job(job.name)
        return replace(job, updated=now)

    def set_paused(self, name: str, paused: bool, now: float | None = None) -> None:
        """Pause or resume a job. A resumed job's occurrences count from now: what passed
        while it was paused was meant not to run."""
        now = time.time() if now is None else now
        with self._write() as conn:
            found = conn.execute(
                "UPDATE jobs SET paused = ?, updated = ?, "
                "checked_until = CASE WHEN ? THEN checked_until ELSE max(checked_until, ?) END "
                "WHERE name = ?",
                (int(paused), now, int(paused), now, name),
            ).rowcount
        if not found:
            raise _no_job(name)

    def remove(self, name: str) -> None:
        """Delete a job; its runs stay in the history."""
        with self._write() as conn:
            if not conn.execute("DELETE FROM jobs WHERE name = ?", (name,)).rowcount:
                raise _no_job(name)

    def get(self, name: str) -> Job:
        with self._read() as conn:
            row = conn.execute(
                "SELECT name, spec, paused, created, updated, checked_until FROM jobs "
                "WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise _no_job(name)
        return Job.from_row(row)

    def jobs(self) -> list[Job]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT name, spec, paused, created, updated, checked_until FROM jobs ORDER BY name"
            ).fetchall()
        return [Job.from_row(row) for row in rows]

    def version(self) -> int:
        """Changes when any process commits to the file (SQLite's data_version)."""
        with self._connection() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    # --- claiming occurrences ---------------------------------------------------------

    def claim(
        self,
        name: str,
        *,
        seen_until: float,
        run: Iterable[datetime],
        missed: Iterable[datetime],
        now: float,
    ) -> list[int]:
        """In one transaction: record `missed` occurrences, queue `run` ones, and move the
        job's `checked_until` to `seen_until`; the ids of the runs queued here. An
        occurrence already in the ledger is left as it is (never queued twice); a job
        whose `checked_until` moved on meanwhile is left alone."""
        with self._write() as conn:
            row = conn.execute("SELECT checked_until FROM jobs WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] >= seen_until:
                return []
            conn.executemany(
                "INSERT OR IGNORE INTO runs (job, occurrence, status, queued, ended) "
                "VALUES (?, ?, 'missed', ?, ?)",
                [(name, occurrence_key(w), now, now) for w in missed],
            )
            queued = [self._queue(conn, name, occurrence_key(w), now) for w in run]
            conn.execute("UPDATE jobs SET checked_until = ? WHERE name = ?", (seen_until, name))
        return [run_id for run_id in queued if run_id is not None]

    def queue_now(self, name: str, now: float | None = None) -> int:
        """Queue a run of the job now, outside its schedule (`rung jobs run`)."""
        now = time.time() if now is None else now
        self.get(name)
        stamp = datetime.fromtimestamp(now, UTC)
        with self._write() as conn:
            for extra in range(100):  # two in one second: the next free key
                key = f"{MANUAL} {occurrence_key(stamp)}" + (f"+{extra}" if extra else "")
                run_id = self._queue(conn, name, key, now)
                if run_id is not None:
                    return run_id
        raise LedgerError(f"cannot queue {name!r}: too many runs asked for at once")

    def claim_running(self, name: str, key: str, now: float, pid: int) -> int | None:
        """Claim an occurrence and start it at once (a heartbeat's beat); None when it was
        claimed before."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO runs (job, occurrence, status, queued, started, pid) "
                "VALUES (?, ?, 'running', ?, ?, ?)",
                (name, key, now, now, pid),
            )
        return cursor.lastrowid if cursor.rowcount else None

    @staticmethod
    def _queue(conn: sqlite3.Connection, name: str, key: str, now: float) -> int | None:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO runs (job, occurrence, status, queued) "
            "VALUES (?, ?, 'queued', ?)",
            (name, key, now),
        )
        return cursor.lastrowid if cursor.rowcount else None

    def recover(self, now: float, pid: int) -> list[Run]:
        """At the daemon's start: the runs a kill cut off (`running`, by another process)
        marked interrupted; those are returned."""
        with self._write() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = 'running' "
                "AND coalesce(pid, -1) != ?",
                (pid,),
            ).fetchall()
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended = ?, "
                "error = 'the daemon stopped during the run' "
                "WHERE status = 'running' AND coalesce(pid, -1) != ?",
                (now, pid),
            )
        return [replace(_run(row), status="interrupted") for row in rows]

    def set_session(self, run_id: int, session: str) -> None:
        with self._write() as conn:
            conn.execute("UPDATE runs SET session = ? WHERE id = ?", (session, run_id))

    def schedule_retry(self, run_id: int, at: float) -> None:
        with self._write() as conn:
            conn.execute("UPDATE runs SET retry_at = ? WHERE id = ?", (at, run_id))

    def retry_due(self, now: float) -> list[int]:
        """Failed or interrupted runs whose retry time has come, claimed back to queued
        (each by one caller only), their attempt counted."""
        with self._write() as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM runs WHERE status IN ('failed', 'interrupted') "
                    "AND retry_at IS NOT NULL AND retry_at <= ? ORDER BY id",
                    (now,),
                )
            ]
            for run_id in ids:
                conn.execute(
                    "UPDATE runs SET status = 'queued', attempt = attempt + 1, queued = ?, "
                    "retry_at = NULL, started = NULL, ended = NULL WHERE id = ?",
                    (now, run_id),
                )
        return ids

    def next_retry(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT min(retry_at) FROM runs WHERE status IN ('failed', 'interrupted')"
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def queued(self) -> list[Run]:
        """The queue, oldest first: what a restart picks up again."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = 'queued' ORDER BY id"
            ).fetchall()
        return [_run(row) for row in rows]

    def start(self, run_id: int, now: float, pid: int) -> bool:
        """Mark a queued run running (False when it is not queued: someone else has it)."""
        with self._write() as conn:
            return bool(
                conn.execute(
                    "UPDATE runs SET status = 'running', started = ?, pid = ? "
                    "WHERE id = ? AND status = 'queued'",
                    (now, pid, run_id),
                ).rowcount
            )

    def finish(
        self,
        run_id: int,
        status: Status,
        *,
        now: float,
        answer: str = "",
        calls: Sequence[ToolUse] = (),
        error: str = "",
        session: str | None = None,
        retry_at: float | None = None,
    ) -> Run:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, ended = ?, answer = ?, calls = ?, error = ?, "
                "session = ?, retry_at = ? WHERE id = ?",
                (
                    status,
                    now,
                    answer,
                    json.dumps([asdict(c) for c in calls], ensure_ascii=False),
                    error,
                    session,
                    retry_at,
                    run_id,
                ),
            )
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        return _run(row)

    def run(self, run_id: int) -> Run:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
        if row is None:
            raise JobError(f"there is no run {run_id}", hint="`rung jobs history NAME` lists them")
        return _run(row)

    def history(self, name: str, limit: int | None = None) -> list[Run]:
        """The job's runs, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE job = ? ORDER BY id DESC LIMIT ?",
                (name, -1 if limit is None else limit),
            ).fetchall()
        return [_run(row) for row in rows]

    def last_runs(self) -> dict[str, Run]:
        """Each job's latest run."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM runs WHERE id IN "
                "(SELECT max(id) FROM runs WHERE status != 'missed' GROUP BY job)"
            ).fetchall()
        return {run.job: run for run in map(_run, rows)}

    # --- the inbox ----------------------------------------------------------------------

    def post(
        self,
        job: str,
        title: str,
        body: str,
        *,
        run_id: int | None,
        urgent: bool = False,
        sinks: Sequence[str] = (),
        held_until: float | None = None,
        now: float | None = None,
    ) -> int:
        """An inbox item, and in the same transaction one delivery per sink: due now, or
        held (quiet hours) until `held_until`."""
        now = time.time() if now is None else now
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO inbox (run_id, job, title, body, urgent, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, job, title, body, int(urgent), now),
            )
            item = cursor.lastrowid
            conn.executemany(
                "INSERT INTO deliveries (item, sink, next_at, held) VALUES (?, ?, ?, ?)",
                [(item, sink, held_until or now, int(held_until is not None)) for sink in sinks],
            )
        assert item is not None
        return item

    def due(self, now: float) -> list[Delivery]:
        """Deliveries whose time has come, oldest first."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT d.id, d.sink, d.attempts, d.held, i.id, i.run_id, i.job, i.title, "
                "i.body, i.urgent, i.created, i.read FROM deliveries d "
                "JOIN inbox i ON i.id = d.item WHERE d.sent IS NULL AND d.gave_up IS NULL "
                "AND d.next_at <= ? ORDER BY d.id",
                (now,),
            ).fetchall()
        return [Delivery(row[0], row[1], row[2], bool(row[3]), _item(row[4:])) for row in rows]

    def next_delivery(self) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT min(next_at) FROM deliveries WHERE sent IS NULL AND gave_up IS NULL"
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def delivered(self, ids: Sequence[int], now: float) -> None:
        with self._write() as conn:
            conn.executemany(
                "UPDATE deliveries SET sent = ?, attempts = attempts + 1, error = '' WHERE id = ?",
                [(now, i) for i in ids],
            )

    def undelivered(
        self, ids: Sequence[int], error: str, *, retry_at: float | None, now: float
    ) -> None:
        """A failed try: again at `retry_at`, or never (None)."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE deliveries SET attempts = attempts + 1, error = ?, next_at = ?, "
                "gave_up = ? WHERE id = ?",
                [(error, retry_at or now, None if retry_at else now, i) for i in ids],
            )

    def sink_health(self) -> dict[str, dict[str, Any]]:
        """Per sink: deliveries waiting, given up on, and the last error of one not sent."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT sink, sum(sent IS NULL AND gave_up IS NULL), sum(gave_up IS NOT NULL), "
                "(SELECT error FROM deliveries e WHERE e.sink = d.sink AND e.sent IS NULL "
                "AND e.error != '' ORDER BY e.id DESC LIMIT 1) FROM deliveries d GROUP BY sink"
            ).fetchall()
        return {
            sink: {"waiting": waiting, "gave_up": gave_up, "last_error": error or None}
            for sink, waiting, gave_up, error in rows
        }

    def inbox(self, *, unread_only: bool = True, limit: int = 100) -> list[InboxItem]:
        """Unread first, then newest first."""
        where = "WHERE read IS NULL" if unread_only else ""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, run_id, job, title, body, urgent, created, read FROM inbox "
                f"{where} ORDER BY read IS NOT NULL, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_item(row) for row in rows]

    def mark_read(self, ids: Iterable[int] | None, now: float | None = None) -> int:
        """Mark items read (`None`: every unread one); how many were unread."""
        now = time.time() if now is None else now
        with self._write() as conn:
            if ids is None:
                return conn.execute("UPDATE inbox SET read = ? WHERE read IS NULL", (now,)).rowcount
            wanted = list(ids)
            known = {
                row[0]
                for row in conn.execute(
                    f"SELECT id FROM inbox WHERE id IN ({','.join('?' * len(wanted))})", wanted
                )
            }
            missing = [i for i in wanted if i not in known]
            if missing:
                raise JobError(
                    f"there is no inbox item {missing[0]}", hint="`rung inbox --all` lists them"
                )
            return sum(
                conn.execute(
                    "UPDATE inbox SET read = ? WHERE id = ? AND read IS NULL", (now, i)
                ).rowcount
                for i in wanted
            )

    # --- the heartbeat ------------------------------------------------------------------

    def heartbeat_day(self, day: str) -> HeartbeatDay:
        with self._read() as conn:
            row = conn.execute(
                "SELECT day, beats, skipped, tokens, cpu_s, paused_said, last FROM heartbeat "
                "WHERE day = ?",
                (day,),
            ).fetchone()
        if row is None:
            return HeartbeatDay(day)
        day, beats, skipped, tokens, cpu_s, paused_said, last = row
        return HeartbeatDay(
            day,
            beats,
            skipped,
            tokens,
            cpu_s,
            bool(paused_said),
            json.loads(last) if last else None,
        )

    def heartbeat_note(
        self,
        day: str,
        last: dict[str, Any],
        *,
        asked: bool,
        tokens: int = 0,
        cpu_s: float = 0.0,
        fingerprint: str | None = None,
        paused_said: bool = False,
    ) -> None:
        """Count a beat into its day: one that asked the model (its cost, and what it
        watched then) or one the cheap checks answered."""
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO heartbeat (day) VALUES (?)", (day,))
            conn.execute(
                "UPDATE heartbeat SET beats = beats + ?, skipped = skipped + ?, "
                "tokens = tokens + ?, cpu_s = cpu_s + ?, "
                "fingerprint = coalesce(?, fingerprint), last = ?, "
                "paused_said = max(paused_said, ?) WHERE day = ?",
                (
                    int(asked),
                    int(not asked),
                    tokens,
                    cpu_s,
                    fingerprint,
                    json.dumps(last),
                    int(paused_said),
                    day,
                ),
            )

    def heartbeat_fingerprint(self) -> str | None:
        """What the heartbeat watched at its last model call."""
        with self._read() as conn:
            row = conn.execute(
                "SELECT fingerprint FROM heartbeat WHERE fingerprint IS NOT NULL "
                "ORDER BY day DESC LIMIT 1"
            ).fetchone()
        return row[0] if row else None

    def unread(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM inbox WHERE read IS NULL").fetchone()[0])


@dataclass(frozen=True)
class HeartbeatDay:
    day: str
    beats: int = 0
    skipped: int = 0
    tokens: int = 0
    cpu_s: float = 0.0
    paused_said: bool = False
    last: dict[str, Any] | None = None


def _item(row: Sequence[Any]) -> InboxItem:
    item, run_id, job, title, body, urgent, created, read = row
    return InboxItem(item, run_id, job, title, body, bool(urgent), created, read)


def _no_job(name: str) -> JobError:
    return JobError(f"there is no job named {name!r}", hint="`rung jobs list` shows the jobs")
