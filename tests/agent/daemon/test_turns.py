"""Turns through a real daemon process over its real unix socket, against the
Ollama-protocol test server: `rung ask` answered by the daemon, the reply streamed, the
session stored, approvals asked of the client that started the turn, a client that goes
away stopping its turn, and the failures (Ollama down, the daemon gone mid-turn) each one
line while the daemon stays up."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from rung.agent.daemon.client import DaemonClient
from rung.agent.messages import FinalAnswer, TextDelta, ToolResult, TurnBegun
from rung.agent.sessions import SessionStore
from rung.config.errors import DaemonError
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.approvals import Answer, ApprovalRequest, Approver, no_one_to_ask
from tests.agent.daemon.conftest import answering, start_daemon, wait_for
from tests.conftest import Processes, Rung, RungProcess
from tests.ollama_server import OllamaTestServer, Reply

ROOT = str(Path(__file__).resolve().parents[3])


@pytest.fixture
def daemon(processes: Processes, paths: Paths) -> RungProcess:
    """`rung daemon run`, answering; killed by pid in the teardown. Forked warm: how a
    daemon's process starts is test_process.py's (and a restart after kill -9, below)."""
    return start_daemon(processes, paths, warm=True)


@pytest.fixture
def user(rung: Rung, paths: Paths) -> Rung:
    """`rung` as the user types it, with the daemon's runtime folder."""
    return Rung({**rung.env, "XDG_RUNTIME_DIR": os.environ["XDG_RUNTIME_DIR"]})


def settings(ollama_server: OllamaTestServer, **values: object) -> Settings:
    """Every tool offered: these tests are about the daemon, not about choosing among tools
    (test_tool_choice.py), which would load the embedding model in the daemon."""
    return Settings.model_validate({"ollama_host": ollama_server.url, "max_tools": 64, **values})


class Person:
    """A test double for the user at the terminal: yes, once, to every question asked."""

    def __init__(self) -> None:
        self.asked: list[ApprovalRequest] = []

    async def __call__(self, request: ApprovalRequest) -> Answer:
        self.asked.append(request)
        return "once"


async def tool_result(
    paths: Paths, question: str, settings: Settings, approver: Approver
) -> ToolResult:
    """The first tool result of a turn through the daemon, read to its end."""
    results = [
        event
        async for event in DaemonClient(paths).turn(
            question, settings, save=False, approver=approver
        )
        if isinstance(event, ToolResult)
    ]
    assert results, "no tool result"
    return results[0]


def chatbot(ollama_server: OllamaTestServer) -> Settings:
    return settings(ollama_server, default_tier="chatbot")


@pytest.fixture
def workdir(isolated_home: Path) -> Path:
    """A folder the built-in files server may write to; and a stdio server of our own."""
    folder = isolated_home / "work"
    folder.mkdir()
    config = isolated_home / "config" / "rung"
    config.mkdir(parents=True, exist_ok=True)
    box = {"command": sys.executable, "args": ["-m", "tests.mcp_servers.toolbox"], "cwd": ROOT}
    (config / "mcp.json").write_text(
        json.dumps({"builtins": {"files": {"roots": [str(folder)]}}, "mcpServers": {"box": box}})
    )
    return folder


def test_ask_is_answered_by_the_daemon_and_stored(
    user: Rung, ollama_server: OllamaTestServer, daemon: RungProcess, paths: Paths
) -> None:
    ollama_server.script(Reply(text="Hello from the daemon."))
    result = user("ask", "--json", "--tier", "chatbot", "hello?")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["answer"] == "Hello from the daemon."
    assert data["tier"] == "chatbot"
    status = DaemonClient(paths).status()
    assert status["turns"] == {"served": 1, "failed": 0}
    assert "turns    1 served, 0 failed" in user("daemon", "status").out
    with SessionStore(paths.sessions_db) as store:
        stored = store.messages(data["session_id"])
    assert [m.content for m in stored] == ["hello?", "Hello from the daemon."]
    # --local answers in this process: the daemon serves no second turn
    ollama_server.script(Reply(text="Local."))
    assert user("ask", "--local", "--tier", "chatbot", "again").out.strip() == "Local."
    assert DaemonClient(paths).status()["turns"]["served"] == 1


async def test_the_reply_streams_before_it_ends(
    ollama_server: OllamaTestServer, daemon: RungProcess, paths: Paths
) -> None:
    resume = threading.Event()
    ollama_server.script(Reply(text="one two three four", pause_after=1, resume=resume))
    seen: list[str] = []
    final = None
    async for event in DaemonClient(paths).turn(
        "count", chatbot(ollama_server), save=False, approver=no_one_to_ask
    ):
        if isinstance(event, TextDelta):
            seen.append(event.text)
            resume.set()  # the model goes on only once the first word reached us
        elif isinstance(event, FinalAnswer):
            final = event
    assert seen[0] == "one "
    assert final is not None and final.message.content == "one two three four"


async def test_a_client_that_goes_away_stops_its_turn_and_it_is_kept(
    ollama_server: OllamaTestServer, daemon: RungProcess, paths: Paths
) -> None:
    never = threading.Event()
    ollama_server.script(Reply(text="a long answer that never ends", pause_after=2, resume=never))
    session = None
    turn = DaemonClient(paths).turn(
        "tell me",
        chatbot(ollama_server),
        save=True,
        approver=no_one_to_ask,
    )
    async for event in turn:
        if isinstance(event, TurnBegun):
            session = event.session_id
        if isinstance(event, TextDelta):
            break  # as Ctrl-C does: the connection closes
    await turn.aclose()
    assert session is not None

    def interrupted() -> bool:
        with SessionStore(paths.sessions_db) as store:
            try:
                messages = store.messages(session)
            except Exception:
                return False
        return bool(messages) and messages[-1].interrupted

    wait_for(interrupted, "the stopped turn to be stored as interrupted")
    with SessionStore(paths.sessions_db) as store:
        assert store.messages(session)[-1].content.startswith("a long")
    never.set()
    assert answering(paths) == daemon.pid  # and it serves on


async def test_an_approval_goes_to_the_client_that_started_the_turn(
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
    workdir: Path,
) -> None:
    person = Person()
    ollama_server.script(
        Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "a.txt", "content": "hi"}}]),
        Reply(text="Written."),
    )
    result = await tool_result(paths, "write hi to a.txt", settings(ollama_server), person)
    assert [(r.server, r.tool) for r in person.asked] == [("files", "write_file")]
    assert not result.is_error
    assert (workdir / "a.txt").read_text() == "hi"


async def test_a_client_that_cannot_answer_gets_the_call_refused(
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
    workdir: Path,
) -> None:
    ollama_server.script(
        Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "b.txt", "content": "x"}}]),
        Reply(text="I could not write it."),
    )
    result = await tool_result(paths, "write x to b.txt", settings(ollama_server), no_one_to_ask)
    assert result.is_error and result.refused
    assert not (workdir / "b.txt").exists()


def test_ollama_down_is_the_usual_line_and_the_daemon_stays_up(
    user: Rung, daemon: RungProcess, paths: Paths
) -> None:
    down = Rung({**user.env, "RUNG_OLLAMA_HOST": "http://127.0.0.1:9"})
    through_daemon = down("ask", "--tier", "chatbot", "hello?")
    local = down("ask", "--local", "--tier", "chatbot", "hello?")
    assert through_daemon.code == local.code != 0
    assert through_daemon.err == local.err  # word for word what a local run says
    assert "Traceback" not in through_daemon.err
    assert answering(paths) == daemon.pid
    assert DaemonClient(paths).status()["turns"]["failed"] == 1


async def test_a_daemon_that_vanishes_mid_turn_is_one_line(
    ollama_server: OllamaTestServer, daemon: RungProcess, paths: Paths
) -> None:
    never = threading.Event()
    ollama_server.script(Reply(text="half of it", pause_after=1, resume=never))
    turn = DaemonClient(paths).turn(
        "hi", chatbot(ollama_server), save=False, approver=no_one_to_ask
    )
    with pytest.raises(DaemonError) as raised:
        async for event in turn:
            if isinstance(event, TextDelta):
                os.kill(daemon.pid, signal.SIGKILL)
    assert raised.value.message.startswith("the daemon went away during the turn")
    never.set()


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (its tool servers, and theirs)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_sigterm_mid_turn_stops_within_10_s_with_the_turn_kept_and_servers_stopped(
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
    workdir: Path,
) -> None:
    never = threading.Event()
    ollama_server.script(Reply(text="thinking about it for ever", pause_after=1, resume=never))
    turn = DaemonClient(paths).turn(
        "hello", settings(ollama_server), save=True, approver=no_one_to_ask
    )
    session, servers, stopped_in = None, set(), 0.0
    with pytest.raises(DaemonError):
        async for event in turn:
            if isinstance(event, TurnBegun):
                session = event.session_id
            if isinstance(event, TextDelta) and not servers:
                servers = descendants(daemon.pid)
                assert servers  # the agent tier's stdio server runs
                started = time.monotonic()
                daemon.send_signal(signal.SIGTERM)
                await asyncio.to_thread(daemon.wait, 15)
                stopped_in = time.monotonic() - started
    never.set()
    assert daemon.returncode == 0 and stopped_in < 10
    assert not [pid for pid in servers if alive(pid)]
    assert session is not None
    with SessionStore(paths.sessions_db) as store:
        kept = store.messages(session)
    assert kept[-1].interrupted and kept[-1].content.startswith("thinking")
    assert not paths.daemon_socket.exists()


async def test_clients_at_once_each_get_their_answer_and_every_session_is_stored(
    ollama_server: OllamaTestServer, daemon: RungProcess, paths: Paths
) -> None:
    ollama_server.responder = lambda body: Reply(text=f"echo: {body['messages'][-1]['content']}")

    async def client(name: str, turns: int) -> list[tuple[str | None, str]]:
        done = []
        for n in range(turns):
            question = f"{name} {n}"
            async for event in DaemonClient(paths).turn(
                question, chatbot(ollama_server), save=True, approver=no_one_to_ask
            ):
                if isinstance(event, TurnBegun):
                    session = event.session_id
                if isinstance(event, FinalAnswer):
                    assert event.message.content == f"echo: {question}"  # its own answer
                    done.append((session, question))
        return done

    await client("warm-up", 2)
    descriptors = len(os.listdir(f"/proc/{daemon.pid}/fd"))
    answered = [
        pair
        for done in await asyncio.gather(*(client(f"c{i}", 8) for i in range(4)))
        for pair in done
    ]
    assert len(answered) == 32
    with SessionStore(paths.sessions_db) as store:
        for session, question in answered:
            assert session is not None and store.messages(session)[0].content == question
    # the clients' connections close as the daemon's loop gets to them: then it holds no
    # more descriptors than before
    wait_for(
        lambda: len(os.listdir(f"/proc/{daemon.pid}/fd")) <= descriptors,
        "the daemon's descriptors to come back to what they were",
    )


def test_the_memory_is_let_go_of_between_the_daemons_turns(
    user: Rung, ollama_server: OllamaTestServer, daemon: RungProcess
) -> None:
    ollama_server.script(Reply(text="Noted."))
    asked = user("ask", "--json", "--tier", "assistant", "my bike is blue")
    assert asked.code == 0, asked.err
    assert not [n for n in json.loads(asked.out)["notices"] if "without memory" in n]
    stats = user("memory", "stats", "--json")  # in its own process: the store is free
    assert stats.code == 0, stats.err
    assert json.loads(stats.out)["chunks"]["conversations"] >= 1  # the daemon recorded it


async def test_an_edited_rule_counts_from_the_next_turn_and_changed_servers_restart(
    user: Rung,
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
    workdir: Path,
) -> None:
    person = Person()

    async def write(name: str) -> ToolResult:
        ollama_server.script(
            Reply(tool_calls=[{"name": "write_file", "arguments": {"path": name, "content": "x"}}]),
            Reply(text="Done."),
        )
        return await tool_result(paths, f"write {name}", settings(ollama_server), person)

    assert not (await write("one.txt")).is_error and len(person.asked) == 1
    servers = descendants(daemon.pid)
    assert user("tools", "deny", "files:write_file").code == 0
    denied = await write("two.txt")
    assert denied.is_error and "the policy denies it" in denied.content
    assert len(person.asked) == 1 and not (workdir / "two.txt").exists()  # not even asked
    assert descendants(daemon.pid) == servers  # a rule is no reason to restart the servers
    assert user("tools", "disable", "box").code == 0
    await write("three.txt")
    # the old hub stops once its last turn is over: the box server with it
    wait_for(lambda: not [pid for pid in servers if alive(pid)], "the box server to stop")


async def test_a_tool_server_that_dies_is_restarted_and_the_daemon_stays_up(
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
    workdir: Path,
) -> None:
    yes = Person()

    async def call(tool: str) -> ToolResult:
        ollama_server.script(
            Reply(tool_calls=[{"name": tool, "arguments": {}}]), Reply(text="Done.")
        )
        return await tool_result(paths, f"call {tool}", settings(ollama_server), yes)

    first = await call("pid")
    crashed = await call("crash")
    assert crashed.is_error and "stopped during the call" in crashed.content
    again = await call("pid")  # the hub restarted it; the call waits for it
    assert not again.is_error and again.content != first.content
    assert answering(paths) == daemon.pid


async def test_kill_9_mid_turn_loses_only_that_turn_and_the_next_start_is_clean(
    processes: Processes,
    ollama_server: OllamaTestServer,
    daemon: RungProcess,
    paths: Paths,
) -> None:
    ollama_server.script(Reply(text="Kept."))
    begun = [
        e
        async for e in DaemonClient(paths).turn(
            "first", chatbot(ollama_server), save=True, approver=no_one_to_ask
        )
        if isinstance(e, TurnBegun)
    ]
    kept = begun[0].session_id
    assert kept is not None
    never = threading.Event()
    ollama_server.script(Reply(text="lost in flight", pause_after=1, resume=never))
    with pytest.raises(DaemonError):
        async for event in DaemonClient(paths).turn(
            "second", chatbot(ollama_server), save=True, approver=no_one_to_ask
        ):
            if isinstance(event, TextDelta):
                daemon.kill()
    never.set()
    daemon.wait()
    start_daemon(processes, paths)  # the next one
    ollama_server.script(Reply(text="Back."))
    answers = [
        e.message.content
        async for e in DaemonClient(paths).turn(
            "third", chatbot(ollama_server), save=True, approver=no_one_to_ask
        )
        if isinstance(e, FinalAnswer)
    ]
    assert answers == ["Back."]
    with SessionStore(paths.sessions_db) as store:
        assert [m.content for m in store.messages(kept)] == ["first", "Kept."]
        assert len(store.list()) == 2  # the turn in flight is the only one lost


def test_tools_list_shows_the_daemons_servers(
    user: Rung, daemon: RungProcess, paths: Paths, workdir: Path
) -> None:
    assert DaemonClient(paths).status()["servers"] == []
    listed = user("tools", "list")
    assert listed.code == 0, listed.err
    assert "box ready" in listed.out and "echo" in listed.out
    servers = {s["name"]: s["state"] for s in DaemonClient(paths).status()["servers"]}
    assert servers["box"] == "ready"  # started by the daemon, and kept for its turns
    local = user("tools", "list", "--local")
    assert local.code == 0 and "box ready" in local.out
    assert local.out.replace(" ", "") == listed.out.replace(" ", "")  # the same listing


def test_a_missing_model_is_the_usual_line(user: Rung, daemon: RungProcess, paths: Paths) -> None:
    through_daemon = user("ask", "--model", "nothere:1b", "hello?")
    local = user("ask", "--local", "--model", "nothere:1b", "hello?")
    assert through_daemon.code == local.code != 0
    assert through_daemon.err == local.err and "ollama pull nothere:1b" in local.err
    assert answering(paths) == daemon.pid
