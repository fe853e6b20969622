"""The session store: chat sessions in one SQLite file under the data dir.

Every turn is written in one transaction (`rung.config.database`: WAL, synchronous=FULL),
so a crash or ``kill -9`` at any moment loses at most the turn in flight, never an earlier
one. Several processes may hold the file at once (``rung ask`` while ``rung chat`` runs).
``MIGRATIONS`` lists the schema's steps from one version to the next.
"""

from __future__ import annotations

import builtins
import json
import re
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rung.agent.messages import Message, ToolCall
from rung.config.database import SqliteFile, move_aside
from rung.config.errors import SessionError

TITLE_CHARS = 60
MIN_PREFIX = 2
LIST_HINT = "rung sessions list shows them"

_SAID = "role IN ('user', 'assistant')"  # the messages a search looks in (no tool output)

# MIGRATIONS[n] takes the schema from version n - 1 to version n.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            title       TEXT NOT NULL,             -- '' until a user message arrives
            created_at  TEXT NOT NULL,             -- ISO 8601, UTC, microseconds
            updated_at  TEXT NOT NULL,
            updated_seq INTEGER NOT NULL,          -- commit order, for a stable list order
            model       TEXT NOT NULL,
            tier        TEXT NOT NULL,
            turns       INTEGER NOT NULL DEFAULT 0
        )
        """,
        "CREATE INDEX sessions_by_update ON sessions (updated_seq)",
        """
        CREATE TABLE messages (
            id           INTEGER PRIMARY KEY,      -- order within a session
            session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
            turn         INTEGER NOT NULL,         -- 0, 1, … within its session
            role         TEXT NOT NULL,
            content      TEXT NOT NULL,
            tool_calls   TEXT NOT NULL,            -- JSON list of ToolCall dicts
            tool_name    TEXT,
            tool_call_id TEXT,
            thinking     TEXT NOT NULL,
            interrupted  INTEGER NOT NULL
        )
        """,
        "CREATE INDEX messages_by_session ON messages (session_id, id)",
    ),
    2: ("ALTER TABLE messages ADD COLUMN created_at TEXT",),  # NULL for turns from before
    3: (  # the words of what was said (yours and the answers), for `search`
        "CREATE VIRTUAL TABLE message_words USING fts5(content, content='messages',"
        " content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER message_words_added AFTER INSERT ON messages WHEN new.{_SAID} BEGIN"
        " INSERT INTO message_words (rowid, content) VALUES (new.id, new.content); END",
        f"CREATE TRIGGER message_words_deleted AFTER DELETE ON messages WHEN old.{_SAID} BEGIN"
        " INSERT INTO message_words (message_words, rowid, content)"
        " VALUES ('delete', old.id, old.content); END",
        f"INSERT INTO message_words (rowid, content) SELECT id, content FROM messages"
        f" WHERE {_SAID}",  # what was stored before
    ),
}
MARK = ("\ue000", "\ue001")  # around each matched word in a search's snippet

_INFO_COLUMNS = """
    s.id, s.title, s.created_at, s.updated_at, s.model, s.tier, s.turns,
    (SELECT count(*) FROM messages m WHERE m.session_id = s.id)
"""


@dataclass(frozen=True)
class SessionInfo:
    id: str  # 8 lowercase hex characters
    title: str  # the first user message, on one line, cut to about 60 characters
    created_at: datetime  # timezone-aware UTC
    updated_at: datetime
    model: str  # of the latest turn
    tier: str
    turns: int
    messages: int


@dataclass(frozen=True)
class Found:
    """A session a search found: the best-matching words of it, each match between the
    MARK characters."""

    session: SessionInfo
    snippet: str


@dataclass(frozen=True)
class StoredTurn:
    session_id: str
    turn: int  # 0, 1, … within the session
    title: str  # the session's
    ended_at: datetime  # when it was written (older turns: the session's last update)
    messages: builtins.list[Message]


class SessionStore(SqliteFile):
    """Chat sessions in one SQLite file; safe across processes and against kill -9."""

    what = "session store"
    error = SessionError
    migrations = MIGRATIONS

    # --- the API ----------------------------------------------------------------------

    @staticmethod
    def new_id() -> str:
        """A fresh session id: 8 lowercase hex characters (short enough to type)."""
        return secrets.token_hex(4)

    def add_turn(
        self, session_id: str, messages: builtins.list[Message], *, model: str, tier: str
    ) -> None:
        """Append one turn in one transaction, creating the session on its first turn."""
        if not session_id:
            raise ValueError("a session id is needed")
        if not messages:
            raise ValueError("a turn needs at least one message")
        rows = [_message_row(m) for m in messages]  # before the lock: a bad message fails here
        title = next((_title(m.content) for m in messages if m.role == "user"), "")
        now = _now()
        with self._write() as conn:
            seq = conn.execute("SELECT coalesce(max(updated_seq), 0) + 1 FROM sessions").fetchone()
            found = conn.execute(
                "SELECT turns FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if found is None:
                turn = 0
                conn.execute(
                    "INSERT INTO sessions (id, title, created_at, updated_at, updated_seq,"
                    " model, tier, turns) VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                    (session_id, title, now, now, seq[0], model, tier),
                )
            else:
                turn = int(found[0])
                conn.execute(
                    "UPDATE sessions SET title = CASE WHEN title = '' THEN ? ELSE title END,"
                    " updated_at = ?, updated_seq = ?, model = ?, tier = ?, turns = turns + 1"
                    " WHERE id = ?",
                    (title, now, seq[0], model, tier, session_id),
                )
            conn.executemany(
                "INSERT INTO messages (session_id, turn, role, content, tool_calls, tool_name,"
                " tool_call_id, thinking, interrupted, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(session_id, turn, *row, now) for row in rows],
            )

    def get(self, id_or_prefix: str) -> SessionInfo:
        """The session with this id, or the one session whose id starts with it."""
        with self._read() as conn:
            return self._resolve(conn, id_or_prefix)

    def messages(self, session_id: str) -> builtins.list[Message]:
        """The messages of a session, in order; none for an id that has no turn yet."""
        with self._read() as conn:
            return self._messages(conn, session_id)

    def turn_keys(self) -> set[tuple[str, int]]:
        """(session id, turn) of every stored turn."""
        with self._read() as conn:
            rows = conn.execute("SELECT DISTINCT session_id, turn FROM messages").fetchall()
        return {(sid, int(turn)) for sid, turn in rows}

    def turns(self, keys: Iterable[tuple[str, int]]) -> Iterator[StoredTurn]:
        """The turns with these keys (those still stored), in the order asked."""
        for session_id, turn in keys:
            with self._read() as conn:
                head = conn.execute(
                    "SELECT s.title, coalesce(max(m.created_at), s.updated_at) FROM sessions s"
                    " JOIN messages m ON m.session_id = s.id WHERE s.id = ? AND m.turn = ?",
                    (session_id, turn),
                ).fetchone()
                rows = conn.execute(
                    "SELECT role, content, tool_calls, tool_name, tool_call_id, thinking,"
                    " interrupted FROM messages WHERE session_id = ? AND turn = ? ORDER BY id",
                    (session_id, turn),
                ).fetchall()
            if rows and head[1] is not None:
                yield StoredTurn(
                    session_id,
                    turn,
                    head[0] or "(untitled)",
                    datetime.fromisoformat(head[1]),
                    [self._message(row) for row in rows],
                )

    def list(self, limit: int | None = None) -> builtins.list[SessionInfo]:
        """Sessions, the most recently updated first."""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_INFO_COLUMNS} FROM sessions s ORDER BY s.updated_seq DESC LIMIT ?",
                (-1 if limit is None else max(limit, 0),),
            ).fetchall()
        return [_info(row) for row in rows]

    def search(self, text: str, limit: int = 50) -> builtins.list[Found]:
        """The sessions whose messages (yours and the answers) hold every word of `text`
        (the last one as a prefix, as you type), the best-matching first."""
        words = re.findall(r"\w+", text.lower())
        if not words:
            return []
        query = " ".join([*(f'"{w}"' for w in words[:-1]), f'"{words[-1]}"*'])
        with self._read() as conn:
            rows = conn.execute(
                "SELECT m.session_id, snippet(message_words, 0, ?, ?, '…', 16)"
                " FROM message_words JOIN messages m ON m.id = message_words.rowid"
                " WHERE message_words MATCH ?"
                " ORDER BY bm25(message_words) LIMIT 2000",
                (*MARK, query),
            ).fetchall()
            best: dict[str, str] = {}
            for session_id, snippet in rows:
                best.setdefault(session_id, snippet)
                if len(best) == limit:
                    break
            infos = {
                row[0]: _info(row)
                for row in conn.execute(
                    f"SELECT {_INFO_COLUMNS} FROM sessions s WHERE s.id IN"
                    f" ({','.join('?' * len(best))})",
                    list(best),
                )
            }
        return [Found(infos[sid], snippet) for sid, snippet in best.items() if sid in infos]

    def delete(self, session_id: str) -> None:
        """Delete a session (by id or unique prefix) and its messages."""
        with self._write() as conn:
            info = self._resolve(conn, session_id)
            conn.execute("DELETE FROM messages WHERE session_id = ?", (info.id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (info.id,))

    def export_markdown(self, session_id: str) -> str:
        """A readable Markdown transcript of a session (by id or unique prefix)."""
        with self._read() as conn:
            info = self._resolve(conn, session_id)
            messages = self._messages(conn, info.id)
        return render_markdown(info, messages)

    # --- inside -----------------------------------------------------------------------

    def _resolve(self, conn: sqlite3.Connection, id_or_prefix: str) -> SessionInfo:
        key = id_or_prefix.strip()
        row = conn.execute(
            f"SELECT {_INFO_COLUMNS} FROM sessions s WHERE s.id = ?", (key,)
        ).fetchone()
        if row is not None:
            return _info(row)
        if len(key) < MIN_PREFIX:
            raise SessionError(
                f"no session '{id_or_prefix}': give at least {MIN_PREFIX} characters of its id",
                hint=LIST_HINT,
            )
        prefix = key.lower()
        rows = conn.execute(
            f"SELECT {_INFO_COLUMNS} FROM sessions s"
            " WHERE substr(s.id, 1, length(?1)) = ?1 ORDER BY s.updated_seq DESC",
            (prefix,),
        ).fetchall()
        if not rows:
            raise SessionError(f"no session '{id_or_prefix}'", hint=LIST_HINT)
        if len(rows) > 1:
            shown = ", ".join(f"{r[0]} ({r[1] or 'untitled'})" for r in rows[:5])
            more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            raise SessionError(
                f"'{id_or_prefix}' matches {len(rows)} sessions: {shown}{more}",
                hint="give more characters of the id",
            )
        return _info(rows[0])

    def _messages(self, conn: sqlite3.Connection, session_id: str) -> builtins.list[Message]:
        rows = conn.execute(
            "SELECT role, content, tool_calls, tool_name, tool_call_id, thinking, interrupted"
            " FROM messages WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()
        return [self._message(row) for row in rows]

    def _message(self, row: tuple[Any, ...]) -> Message:
        role, content, calls_json, tool_name, tool_call_id, thinking, interrupted = row
        try:
            calls = [ToolCall(**c) for c in json.loads(calls_json)]
        except (ValueError, TypeError) as exc:
            raise SessionError(
                f"a message in the session store {self.path} has unreadable tool calls",
                hint=move_aside(self.path),
            ) from exc
        return Message(
            role=role,
            content=content,
            tool_calls=calls,
            tool_name=tool_name,
            tool_call_id=tool_call_id,
            thinking=thinking,
            interrupted=bool(interrupted),
        )


# --- rows and values ----------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _title(text: str) -> str:
    line = " ".join(text.split())
    if len(line) <= TITLE_CHARS:
        return line
    return line[: TITLE_CHARS - 1].rstrip() + "…"


def _message_row(m: Message) -> tuple[Any, ...]:
    calls = json.dumps([_call_dict(c) for c in m.tool_calls], ensure_ascii=False)
    return (
        m.role,
        m.content,
        calls,
        m.tool_name,
        m.tool_call_id,
        m.thinking,
        int(m.interrupted),
    )


def _call_dict(call: ToolCall) -> dict[str, Any]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments, "error": call.error}


def _info(row: tuple[Any, ...]) -> SessionInfo:
    sid, title, created, updated, model, tier, turns, count = row
    return SessionInfo(
        id=sid,
        title=title or "(untitled)",
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
        model=model,
        tier=tier,
        turns=int(turns),
        messages=int(count),
    )


# --- Markdown export ----------------------------------------------------------------------


def render_markdown(info: SessionInfo, messages: builtins.list[Message]) -> str:
    """A transcript: "## You" / "## Assistant" sections, tool calls and results, no thinking."""
    out = [
        f"# {info.title}",
        "",
        f"- Session: `{info.id}`",
        f"- Date: {info.created_at:%Y-%m-%d %H:%M} UTC",
        f"- Model: {info.model} (tier: {info.tier})",
        f"- Turns: {info.turns}",
    ]
    names = {c.id: c.name for m in messages for c in m.tool_calls}
    side = ""
    for m in messages:
        heading = {"user": "You", "system": "System"}.get(m.role, "Assistant")
        if heading != side:
            out += ["", f"## {heading}"]
            side = heading
        if m.role == "tool":
            name = m.tool_name or names.get(m.tool_call_id or "", "tool")
            out += [
                "",
                "<details>",
                f"<summary>Result of <code>{name}</code></summary>",
                "",
                _fenced(m.content, "text"),
                "",
                "</details>",
            ]
            continue
        if m.content.strip():
            out += ["", m.content.strip()]
        for call in m.tool_calls:
            args = json.dumps(call.arguments, indent=2, ensure_ascii=False)
            out += ["", f"**Tool call:** `{call.name}`", "", _fenced(args, "json")]
            if call.error:
                out += ["", f"*(unusable arguments: {call.error})*"]
        if m.interrupted:
            out += ["", "*(interrupted)*"]
    return "\n".join(out) + "\n"


def _fenced(text: str, lang: str) -> str:
    """A code block whose fence is longer than any run of backticks in the text."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip(chr(10))}\n{fence}"
