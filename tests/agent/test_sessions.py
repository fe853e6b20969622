"""The session store, on real SQLite files: round trips, lookups, export, and kill -9."""

from __future__ import annotations

import inspect
import re
import signal
import sqlite3
import stat
import sys
import textwrap
from contextlib import closing
from datetime import UTC
from pathlib import Path
from subprocess import PIPE, Popen

import pytest

from rung.agent.messages import Message, ToolCall
from rung.agent.sessions import SessionStore
from rung.config.errors import SessionError


def make_turn(i: int) -> list[Message]:
    """Turn ``i`` of the crash tests: 22 messages, about 400 kB, all derived from ``i``.

    Big enough that the writer spends most of its time inside the turn's transaction, so
    the kills below land mid-write.
    """
    calls = [ToolCall(f"call-{i}-{n}", "notes.read", {"note": n}) for n in range(10)]
    results = [
        Message(
            "tool",
            f"note {n} of turn {i} " + "x" * 40_000,
            tool_name="notes.read",
            tool_call_id=c.id,
        )
        for n, c in enumerate(calls)
    ]
    return [
        Message("user", f"question {i}"),
        Message("assistant", "", tool_calls=calls, thinking=f"thinking {i}"),
        *results,
        Message("assistant", f"answer {i}"),
    ]


TURN_SIZE = len(make_turn(0))


# A writer in another process. It prints "open <first turn>", then "done <turn>" once each
# turn is committed; it stops after `limit` turns (0: never, until it is killed). Traced, it
# also prints "sql <VERB>" as each SQL statement starts, so that a test can kill it at a
# chosen statement inside a turn's transaction (this reaches into the store's private
# connection: instrumentation of the test's own child, not something Rung code does).
CHILD = "\n".join(
    [
        "import sys",
        "from pathlib import Path",
        "from rung.agent.messages import Message, ToolCall",
        "from rung.agent.sessions import SessionStore",
        inspect.getsource(make_turn),
        textwrap.dedent(
            """
            store = SessionStore(Path(sys.argv[1]))
            sid, limit, trace = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "trace"
            i = len(store.messages(sid)) // len(make_turn(0))
            if trace:
                store._conn.set_trace_callback(lambda sql: print("sql", sql.split()[0], flush=True))
            print("open", i, flush=True)
            while not limit or i < limit:
                store.add_turn(sid, make_turn(i), model="m", tier="agent")
                print("done", i, flush=True)
                i += 1
            store.close()
            """
        ),
    ]
)


def start_writer(db: Path, sid: str, *, limit: int = 0, trace: bool = False) -> Popen[str]:
    return Popen(
        [sys.executable, "-c", CHILD, str(db), sid, str(limit), "trace" if trace else "-"],
        stdout=PIPE,
        stderr=PIPE,
        text=True,
    )


def read_line(proc: Popen[str]) -> tuple[str, str]:
    """The next line the writer printed, as (what, value); fails the test if it died."""
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        pytest.fail(f"the writer died (exit {proc.returncode}):\n{proc.stderr.read()}")
    what, value = line.split()
    return what, value


def sample_turns() -> tuple[list[Message], list[Message]]:
    first = [
        Message("user", "What's in my notes about Zürich?"),
        Message(
            "assistant",
            "Let me look.",
            tool_calls=[
                ToolCall("c1", "notes.search", {"query": "Zürich", "limit": 3}),
                ToolCall("c2", "web.fetch", {}, error="arguments were not JSON"),
            ],
            thinking="the user wants notes",
        ),
        Message("tool", "1. Trip to Zürich, May", tool_name="notes.search", tool_call_id="c1"),
        Message("tool", "error: bad arguments", tool_name="web.fetch", tool_call_id="c2"),
        Message("assistant", "You planned a trip to Zürich in May."),
    ]
    second = [
        Message("user", "And after that?"),
        Message("assistant", "After May you", interrupted=True),
    ]
    return first, second


# --- round trips ---------------------------------------------------------------------------


def test_turns_round_trip_with_every_message_field(tmp_path: Path) -> None:
    db = tmp_path / "data" / "rung" / "sessions.sqlite3"  # parents do not exist yet
    first, second = sample_turns()
    with SessionStore(db) as store:
        sid = store.new_id()
        store.add_turn(sid, first, model="qwen3:4b", tier="agent")
        store.add_turn(sid, second, model="llama3.2", tier="chatbot")
        assert store.messages(sid) == first + second

    with SessionStore(db) as store:  # and from a fresh open of the file
        assert store.messages(sid) == first + second
        info = store.get(sid)
    assert info.id == sid
    assert info.title == "What's in my notes about Zürich?"
    assert (info.model, info.tier) == ("llama3.2", "chatbot")  # those of the latest turn
    assert (info.turns, info.messages) == (2, 7)
    assert info.created_at.tzinfo is not None
    assert info.created_at.utcoffset() == UTC.utcoffset(None)
    assert info.created_at <= info.updated_at


def test_new_ids_are_short_lowercase_hex_and_unique() -> None:
    ids = {SessionStore.new_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{8}", i) for i in ids)


def test_title_is_the_first_user_message_on_one_line_cut_with_an_ellipsis(
    tmp_path: Path,
) -> None:
    long = "Please summarise\n\nthe following   meeting notes from Tuesday, " + "word " * 30
    with SessionStore(tmp_path / "s.db") as store:
        store.add_turn("aaaa0001", [Message("user", long)], model="m", tier="chatbot")
        title = store.get("aaaa0001").title
        # A session whose first turn has no user message takes its title from a later one.
        store.add_turn("aaaa0002", [Message("assistant", "hello")], model="m", tier="chatbot")
        assert store.get("aaaa0002").title == "(untitled)"
        store.add_turn("aaaa0002", [Message("user", "later")], model="m", tier="chatbot")
        assert store.get("aaaa0002").title == "later"
    assert "\n" not in title
    assert title.startswith("Please summarise the following meeting notes from Tuesday,")
    assert title.endswith("…")
    assert len(title) <= 60


def test_messages_of_a_session_without_turns_are_empty(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        assert store.messages(store.new_id()) == []


def test_a_turn_that_cannot_be_stored_writes_nothing(tmp_path: Path) -> None:
    bad = Message("assistant", "", tool_calls=[ToolCall("c", "t", {"x": object()})])
    with SessionStore(tmp_path / "s.db") as store:
        with pytest.raises(TypeError):
            store.add_turn("abcd0000", [Message("user", "hi"), bad], model="m", tier="agent")
        assert store.list() == []
        assert store.messages("abcd0000") == []
        with pytest.raises(ValueError, match="at least one message"):
            store.add_turn("abcd0000", [], model="m", tier="agent")


# --- lookups, list, delete -------------------------------------------------------------------


def _add(store: SessionStore, sid: str, text: str = "hi") -> None:
    store.add_turn(sid, [Message("user", text), Message("assistant", "ok")], model="m", tier="t")


def test_get_takes_an_exact_id_or_a_unique_prefix(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        for sid in ("abc12345", "abd12345", "ffff0000"):
            _add(store, sid, f"about {sid}")
        assert store.get("abc12345").id == "abc12345"
        assert store.get("abc").id == "abc12345"
        assert store.get("ff").title == "about ffff0000"
        assert store.get(" ABD1 ").id == "abd12345"  # typed loosely

        with pytest.raises(SessionError) as ambiguous:
            store.get("ab")
        assert "abc12345" in str(ambiguous.value) and "abd12345" in str(ambiguous.value)
        assert "ffff0000" not in str(ambiguous.value)
        assert ambiguous.value.hint

        with pytest.raises(SessionError) as missing:
            store.get("zz")
        assert str(missing.value) == "no session 'zz'"
        assert missing.value.hint == "rung sessions list shows them"

        with pytest.raises(SessionError, match="at least 2 characters"):
            store.get("a")  # one character never matches a prefix, even a unique one


def test_list_puts_the_most_recently_updated_first(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        assert store.list() == []
        for sid in ("aaaaaaaa", "bbbbbbbb", "cccccccc"):
            _add(store, sid)
        _add(store, "aaaaaaaa")  # updated again: now the newest
        assert [s.id for s in store.list()] == ["aaaaaaaa", "cccccccc", "bbbbbbbb"]
        assert [s.id for s in store.list(limit=2)] == ["aaaaaaaa", "cccccccc"]
        assert [s.turns for s in store.list()] == [2, 1, 1]
        assert [s.messages for s in store.list()] == [4, 2, 2]


def test_delete_removes_the_session_and_its_messages_only(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        _add(store, "aaaaaaaa")
        _add(store, "bbbbbbbb")
        store.delete("aaaaaaaa")
        assert [s.id for s in store.list()] == ["bbbbbbbb"]
        assert store.messages("aaaaaaaa") == []
        assert len(store.messages("bbbbbbbb")) == 2
        with pytest.raises(SessionError, match="no session 'aaaaaaaa'"):
            store.get("aaaaaaaa")
        with pytest.raises(SessionError, match="no session 'aaaaaaaa'"):
            store.delete("aaaaaaaa")
        store.delete("bb")  # a unique prefix, as everywhere
        assert store.list() == []


# --- export ----------------------------------------------------------------------------------


def test_export_markdown_is_a_readable_transcript(tmp_path: Path) -> None:
    first, second = sample_turns()
    with SessionStore(tmp_path / "s.db") as store:
        store.add_turn("abcdef01", first, model="qwen3:4b", tier="agent")
        store.add_turn("abcdef01", second, model="qwen3:4b", tier="agent")
        text = store.export_markdown("abcdef")
        created = store.get("abcdef01").created_at

    assert text.startswith("# What's in my notes about Zürich?\n")
    assert f"{created:%Y-%m-%d}" in text
    assert "qwen3:4b" in text and "abcdef01" in text
    assert text.count("## You") == 2
    assert text.count("## Assistant") == 2  # one per reply, tool steps included
    assert text.index("## You") < text.index("## Assistant") < text.index("Let me look.")
    assert "**Tool call:** `notes.search`" in text
    assert '```json\n{\n  "query": "Zürich",\n  "limit": 3\n}\n```' in text
    assert "arguments were not JSON" in text
    assert "<summary>Result of <code>notes.search</code></summary>" in text
    assert "```text\n1. Trip to Zürich, May\n```" in text
    assert "After May you\n\n*(interrupted)*" in text
    assert "the user wants notes" not in text  # thinking is left out


def test_export_fences_survive_backticks_in_tool_results(tmp_path: Path) -> None:
    result = "here is code:\n```python\nprint(1)\n```\n## You\nfake heading"
    turn = [
        Message("user", "run it"),
        Message("assistant", "", tool_calls=[ToolCall("c", "shell", {"cmd": "cat x"})]),
        Message("tool", result, tool_call_id="c"),  # no tool_name: taken from the call
        Message("assistant", "done"),
    ]
    with SessionStore(tmp_path / "s.db") as store:
        store.add_turn("abcdef01", turn, model="m", tier="agent")
        text = store.export_markdown("abcdef01")
    assert f"````text\n{result}\n````" in text
    assert "<code>shell</code>" in text


def test_export_of_a_missing_session_is_a_session_error(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store, pytest.raises(SessionError):
        store.export_markdown("nope")


# --- the file --------------------------------------------------------------------------------


def test_a_file_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    db.write_bytes(b"this is not a database, just some text that got here\n" * 100)
    with pytest.raises(SessionError) as err:
        SessionStore(db)
    assert str(db) in err.value.message
    assert "move it aside" in err.value.hint and str(db) in err.value.hint


def test_a_damaged_database_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite3"
    with SessionStore(db) as store:
        for n in range(50):
            _add(store, f"{n:08x}", "some words " * 200)
    data = bytearray(db.read_bytes())
    data[4096:12288] = b"\xa5" * 8192  # scribble over the pages after the header
    db.write_bytes(bytes(data))
    # At open or at the first read, never a traceback.
    with pytest.raises(SessionError) as err, SessionStore(db) as store:
        for info in store.list():
            store.messages(info.id)
    assert str(db) in err.value.message
    assert "move it aside" in err.value.hint


def test_a_store_from_a_newer_rung_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SessionStore(db).close()
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(SessionError, match="newer Rung") as err:
        SessionStore(db)
    assert "upgrade" in err.value.hint


def test_the_file_is_private_and_uses_wal(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SessionStore(db) as store:
        _add(store, "aaaaaaaa")
        with closing(sqlite3.connect(db)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA user_version").fetchone()[0] >= 1
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.db")
    store.close()
    store.close()  # twice is fine
    with pytest.raises(SessionError, match="closed"):
        store.list()


# --- several writers ---------------------------------------------------------------------------


def test_two_stores_on_one_file_see_each_others_turns(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SessionStore(db) as chat, SessionStore(db) as ask:
        _add(chat, "aaaaaaaa", "from chat")
        assert ask.get("aaaaaaaa").title == "from chat"
        _add(ask, "bbbbbbbb", "from ask")
        _add(ask, "aaaaaaaa", "more")  # both write to the same session
        assert [s.id for s in chat.list()] == ["aaaaaaaa", "bbbbbbbb"]
        assert chat.get("aaaaaaaa").turns == 2
        assert [m.content for m in chat.messages("aaaaaaaa")] == ["from chat", "ok", "more", "ok"]


def test_two_processes_write_at_the_same_time(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    turns = 30
    with start_writer(db, "bbbbbbbb", limit=turns) as proc:
        try:
            assert read_line(proc) == ("open", "0")
            with SessionStore(db) as store:
                for i in range(turns):  # while the other process writes its own
                    store.add_turn("aaaaaaaa", make_turn(i), model="m", tier="agent")
            assert [read_line(proc) for _ in range(turns)] == [
                ("done", str(i)) for i in range(turns)
            ]
            assert proc.wait() == 0
        finally:
            proc.kill()
    with SessionStore(db) as store:
        for sid in ("aaaaaaaa", "bbbbbbbb"):
            assert store.get(sid).turns == turns
            assert store.messages(sid) == [m for i in range(turns) for m in make_turn(i)]


# --- kill -9 -----------------------------------------------------------------------------------


def check_whole(db: Path, sid: str) -> int:
    """Every stored turn of the crash tests is complete and in order; returns how many."""
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        sizes = conn.execute(
            "SELECT turn, count(*) FROM messages WHERE session_id = ? GROUP BY turn", (sid,)
        ).fetchall()
    assert all(count == TURN_SIZE for _, count in sizes), sizes
    with SessionStore(db) as store:
        messages = store.messages(sid)
        stored = len(messages) // TURN_SIZE
        assert messages == [m for i in range(stored) for m in make_turn(i)]
        if stored:
            assert store.get(sid).turns == stored
    return stored


# Where each kill lands: after this many committed turns, and then this many SQL statements
# into the next turn. A turn runs BEGIN, 3 statements on the session row, one INSERT per
# message, COMMIT: so 0 is between turns, 1 just after BEGIN, 4 + TURN_SIZE at COMMIT.
KILL_POINTS = [(0, 0), (1, 0), (0, 1), (2, 5), (1, 4 + TURN_SIZE // 2), (0, 4 + TURN_SIZE),
               (3, 5 + TURN_SIZE), (0, 2), (5, 3)]  # fmt: skip


def test_kill_9_loses_at_most_the_turn_in_flight(tmp_path: Path) -> None:
    db, sid = tmp_path / "sessions.sqlite3", "c0ffee00"
    stored = 0
    for commits, statements in KILL_POINTS:
        with start_writer(db, sid, trace=True) as proc:
            try:
                assert read_line(proc) == ("open", str(stored))  # resumes after what survived
                reported: list[int] = []
                while len(reported) < commits:
                    what, value = read_line(proc)
                    if what == "done":
                        reported.append(int(value))
                for _ in range(statements):
                    assert read_line(proc)[0] == "sql"
                proc.send_signal(signal.SIGKILL)
                proc.wait()
            finally:
                proc.kill()
        assert proc.returncode == -signal.SIGKILL
        assert reported == list(range(stored, stored + commits))
        before = stored
        stored = check_whole(db, sid)
        # Every reported turn is there (and any later one that made it is whole: above).
        assert stored >= before + commits


# --- search ----------------------------------------------------------------------------------


def test_search_finds_sessions_by_any_words_said_in_them(tmp_path: Path) -> None:
    from rung.agent.sessions import MARK

    with SessionStore(tmp_path / "s.db") as store:
        store.add_turn(
            "aaaaaaaa",
            [Message("user", "Plan my trip to Kyoto"), Message("assistant", "Day one: temples.")],
            model="m",
            tier="agent",
        )
        store.add_turn(
            "aaaaaaaa",
            [Message("user", "And the food?"), Message("assistant", "Try the okonomiyaki.")],
            model="m",
            tier="agent",
        )
        calls = [ToolCall("c1", "files.read", {})]
        store.add_turn(
            "bbbbbbbb",
            [
                Message("user", "What is in notes.txt?"),
                Message("assistant", "", tool_calls=calls),
                Message("tool", "okonomiyaki recipe", tool_name="files.read", tool_call_id="c1"),
                Message("assistant", "A recipe."),
            ],
            model="m",
            tier="agent",
        )
        [found] = store.search("okonomiyaki")  # a tool's output is not what was said
        assert found.session.id == "aaaaaaaa" and found.session.title == "Plan my trip to Kyoto"
        assert f"{MARK[0]}okonomiyaki{MARK[1]}" in found.snippet
        assert [f.session.id for f in store.search("TEMPLES day")] == ["aaaaaaaa"]  # any order
        assert [f.session.id for f in store.search("okonom")] == ["aaaaaaaa"]  # as you type
        assert store.search("kyoto recipe") == []  # every word, in one message
        assert store.search('"); DROP TABLE messages; --') == []
        assert store.search("  ") == [] and store.search("***") == []
        store.delete("aaaaaaaa")
        assert store.search("okonomiyaki") == []
        assert [f.session.id for f in store.search("recipe")] == ["bbbbbbbb"]


def test_a_store_of_an_older_rung_is_searchable_after_it_opens(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with SessionStore(path) as store:
        _add(store, "aaaaaaaa")
    with closing(sqlite3.connect(path)) as conn:  # as schema 2 left it
        for statement in (
            "DROP TRIGGER message_words_added",
            "DROP TRIGGER message_words_deleted",
            "DROP TABLE message_words",
            "PRAGMA user_version = 2",
        ):
            conn.execute(statement)
        conn.commit()
    with SessionStore(path) as store:
        said = store.messages("aaaaaaaa")[0].content
        assert [f.session.id for f in store.search(said)] == ["aaaaaaaa"]
