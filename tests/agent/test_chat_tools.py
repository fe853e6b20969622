"""`rung chat` with MCP tools: a real stdio server, the approval prompt, the status."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.agent.prompt import unmarked
from tests.agent.daemon.conftest import lock_holders, paths, through_daemon  # noqa: F401
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

ROOT = Path(__file__).resolve().parents[2]


def write_mcp_json(home: Path, **extra: object) -> Path:
    path = home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    box = {"command": sys.executable, "args": ["-m", "tests.mcp_servers.toolbox"], "cwd": str(ROOT)}
    path.write_text(json.dumps({"mcpServers": {"box": box}, **extra}))
    return path


@pytest.fixture(params=["local", "daemon"])
def rung(request: pytest.FixtureRequest, rung: Rung) -> Rung:
    """Every test twice: the chat in its own process, and run by a daemon."""
    if request.param == "local":
        return rung
    return request.getfixturevalue("through_daemon")  # type: ignore[no-any-return]


@pytest.fixture
def tool_chat(rung: Rung, isolated_home: Path) -> Iterator[Chat]:
    write_mcp_json(isolated_home)
    # Every tool offered: these tests are about approvals, not about choosing among tools
    # (test_tool_choice.py), which would load the embedding model at the first message.
    chat = Chat(Rung(dict(rung.env, RUNG_MAX_TOOLS="64")))
    chat.prompt()
    yield chat
    if chat.child.isalive():
        chat.child.terminate(force=True)


def wait_ready(chat: Chat, server: str = "box") -> str:
    """Ask /tools until the server shows ready (it starts in the background)."""
    for _ in range(100):
        chat.say("/tools")
        screen = chat.prompt()
        if f"{server} ready" in screen:
            return screen
        assert f"{server} failed" not in screen, screen
    raise AssertionError(f"{server} never became ready")


def echo_call(text: str = "ping") -> Reply:
    return Reply(tool_calls=[{"name": "echo", "arguments": {"text": text}}])


def test_tools_show_their_server_and_state(tool_chat: Chat) -> None:
    screen = wait_ready(tool_chat)
    assert "echo, add" in screen
    assert "clock ready" in screen  # the built-ins start too


def test_allow_always_runs_the_call_and_is_saved(
    tool_chat: Chat, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    wait_ready(tool_chat)
    ollama_server.script(echo_call(), Reply(text="It said ping."))
    tool_chat.say("echo ping")
    asked = tool_chat.expect("a = always")
    assert "echo (box)" in asked  # the user sees which server a tool comes from
    assert "Allow echo from server box?" in asked and '"text": "ping"' in asked
    tool_chat.say("a")
    screen = tool_chat.prompt()
    assert "allowed from now on" in screen and "It said ping." in screen
    assert unmarked(ollama_server.chat_requests[1]["messages"][-1]["content"]) == "ping"
    saved = json.loads((isolated_home / "config" / "rung" / "mcp.json").read_text())
    assert saved["approvals"] == {"box:echo": "allow"}
    assert "mcpServers" in saved  # nothing else lost
    # the echo's result is in the conversation now: a call that can act asks afresh
    ollama_server.script(echo_call("pong"), Reply(text="Said pong."))
    tool_chat.say("echo pong")
    asked = tool_chat.expect("n = no")
    assert "Careful: untrusted content (echo) entered this turn" in asked
    assert "a = always" not in asked  # for this call only
    tool_chat.say("y")
    assert "Said pong." in tool_chat.prompt()
    # allowed from now on: in a new conversation the next call does not ask
    tool_chat.say("/new")
    tool_chat.prompt()
    ollama_server.script(echo_call(), Reply(text="Again ping."))
    tool_chat.say("once more")
    screen = tool_chat.prompt()
    assert "Allow" not in screen and "Again ping." in screen
    ollama_server.assert_complete()


def test_a_denied_call_never_runs_and_the_model_is_told(
    tool_chat: Chat, ollama_server: OllamaTestServer
) -> None:
    wait_ready(tool_chat)
    ollama_server.script(echo_call(), Reply(text="Understood."))
    tool_chat.say("echo ping")
    tool_chat.expect("a = always")
    tool_chat.say("n")
    screen = tool_chat.prompt()
    assert "denied" in screen and "Understood." in screen
    told = ollama_server.chat_requests[1]["messages"][-1]
    assert told["role"] == "tool" and "did not run" in told["content"]


def test_a_failing_server_is_shown_with_its_log_and_the_chat_goes_on(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    path = isolated_home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"mcpServers": {"broken": {"command": "no-such-command-xyz"}}}))
    chat = Chat(rung)
    try:
        chat.prompt()
        for _ in range(100):
            chat.say("/tools")
            screen = chat.prompt()
            if "broken failed" in screen:
                break
        assert "no-such-command-xyz" in screen and "broken.log" in screen
        ollama_server.script(Reply(text="Still here."))
        chat.say("hello")
        assert "Still here." in chat.prompt()
    finally:
        chat.child.terminate(force=True)


def test_prompt_lists_and_sends_an_mcp_prompt(
    tool_chat: Chat, ollama_server: OllamaTestServer
) -> None:
    wait_ready(tool_chat)
    tool_chat.say("/prompt")
    assert "greet person=…" in tool_chat.prompt()
    tool_chat.say("/prompt greet")
    assert "needs person" in tool_chat.prompt()
    ollama_server.script(Reply(text="Hello Ann!"))
    tool_chat.say('/prompt greet "Ann"')
    assert "Hello Ann!" in tool_chat.prompt()
    assert ollama_server.chat_requests[0]["messages"][-1]["content"] == "Please greet Ann warmly."


def test_attach_adds_a_resource_to_the_next_message(
    tool_chat: Chat, ollama_server: OllamaTestServer
) -> None:
    wait_ready(tool_chat)
    tool_chat.say("/attach")
    assert "note://today" in tool_chat.prompt()
    tool_chat.say("/attach note://today")
    assert "Attached note://today" in tool_chat.prompt()
    ollama_server.script(Reply(text="Milk."))
    tool_chat.say("what should I buy?")
    assert "Milk." in tool_chat.prompt()
    sent = ollama_server.chat_requests[0]["messages"][-1]["content"]
    assert "[untrusted data from resource note://today, " in sent  # data, marked
    assert "\nBuy milk.\n[end " in sent
    assert sent.endswith("what should I buy?")
    tool_chat.say("/attach note://nothing")
    assert "no server has the resource note://nothing" in tool_chat.prompt()


def test_a_scaffolded_server_is_callable_from_a_chat(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    assert rung("tools", "new", "wc", "--dir", str(tmp_path)).code == 0
    chat = Chat(rung)
    try:
        chat.prompt()
        wait_ready(chat, "wc")
        ollama_server.script(
            Reply(tool_calls=[{"name": "count_words", "arguments": {"text": "a b c"}}]),
            Reply(text="Three words."),
        )
        chat.say("how many words in 'a b c'?")
        assert "Allow count_words from server wc?" in chat.expect("a = always")
        chat.say("y")
        assert "Three words." in chat.prompt()
        assert unmarked(ollama_server.chat_requests[1]["messages"][-1]["content"]) == "3"
    finally:
        chat.child.terminate(force=True)


def test_ctrl_c_still_stops_a_reply_after_an_approval(
    tool_chat: Chat, ollama_server: OllamaTestServer
) -> None:
    wait_ready(tool_chat)
    ollama_server.script(Reply(tool_calls=[{"name": "hang", "arguments": {}}]))
    tool_chat.say("wait forever")
    tool_chat.expect("a = always")
    tool_chat.say("y")
    tool_chat.expect("allowed once")
    tool_chat.child.sendintr()  # the call hangs for call_timeout (60 s) unless Ctrl-C works
    assert "stopped" in tool_chat.prompt()
    ollama_server.script(Reply(text="Back."))
    tool_chat.say("hello")
    assert "Back." in tool_chat.prompt()
