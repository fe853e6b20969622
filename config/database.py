"""One SQLite file that several processes share and that a kill cannot corrupt: the base of
the session store and the job ledger.

The file is created 0600 (SQLite gives -wal and -shm the same mode) and used in WAL mode
with ``synchronous=FULL``: every write is one ``BEGIN IMMEDIATE … COMMIT`` transaction, so a
crash or ``kill -9`` loses at most the transaction in flight, and leaves a file SQLite
recovers on the next open. Writers queue on the write lock for up to ``BUSY_TIMEOUT_S``;
readers never wait. The schema carries ``PRAGMA user_version``: ``migrations[n]`` takes it
from version n - 1 to n, applied on open inside one transaction. Every SQLite error
becomes the subclass's own `RungError`, with what to do."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from rung.config.errors import RungError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0


class SqliteFile:
    """A subclass names what it is (`what`, for messages), its `error` class and its
    `migrations`."""

    what: ClassVar[str] = "database"
    error: ClassVar[type[RungError]] = RungError
    migrations: ClassVar[Mapping[int, tuple[str, ...]]] = {}

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # one connection, shared by threads, one user at a time
        self._conn: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise self.error(
                f"the {self.what} {self.path} is a directory, not a file",
                hint=move_aside(self.path),
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            raise self.error(
                f"cannot create the {self.what} {self.path}: {exc.strerror or exc}",
                hint=f"check that {self.path.parent} is a writable directory",
            ) from exc
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise self.error(
                    f"the {self.what} {self.path} cannot use SQLite's WAL journal ({mode})",
                    hint="keep the data dir on a local file system (not NFS)",
                )
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from exc
            raise
        self._conn = conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return max(self.migrations, default=0)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        latest = self.schema_version
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == latest:
            return
        with immediate(conn):  # one process migrates; the others wait, then see it
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > latest:
                raise self.error(
                    f"the {self.what} {self.path} was written by a newer Rung "
                    f"(schema {version}, this one knows {latest})",
                    hint="upgrade Rung (pip install -U rung)",
                )
            for target in range(version + 1, latest + 1):
                log.info("migrating the %s %s to schema %d", self.what, self.path, target)
                for statement in self.migrations[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise self.error(f"the {self.what} {self.path} is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: the write lock is taken at BEGIN, so it never deadlocks."""
        with self._connection() as conn, immediate(conn):
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query inside sees the same snapshot."""
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.rollback()

    def _error(self, exc: sqlite3.Error) -> RungError:
        """A clear error for what SQLite reported."""
        name = getattr(exc, "sqlite_errorname", "")
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return self.error(
                f"the {self.what} {self.path} stayed locked for {BUSY_TIMEOUT_S:g} s",
                hint="another Rung process is writing to it; try again",
            )
        if name.startswith("SQLITE_FULL"):
            return self.error(f"the disk holding {self.path} is full", hint="free some space")
        if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
            return self.error(
                f"cannot open the {self.what} {self.path} for writing: {exc}",
                hint=f"check the permissions of {self.path} and its directory",
            )
        return self.error(
            f"cannot read the {self.what} {self.path}: {exc}", hint=move_aside(self.path)
        )


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction: the write lock taken at BEGIN (so it never deadlocks), committed
    at the end, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def move_aside(path: Path) -> str:
    return f"move it aside (mv '{path}' '{path}.broken'); Rung then starts a new one"
