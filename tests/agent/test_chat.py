"""`rung chat` end to end: a real pseudo-terminal, the real CLI, the Ollama-protocol server."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from rung.agent.sessions import SessionStore
from tests.agent.daemon.conftest import lock_holders, paths, through_daemon  # noqa: F401
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

PROMPT = "›"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x08\r]")


def plain(text: str) -> str:
    """Screen output without colours and cursor movement."""
    return ANSI.sub("", text)


class Chat:
    """`rung chat` in a pseudo-terminal. `prompt()` waits for the next input prompt and
    returns what was shown since (colours stripped)."""

    def __init__(self, rung: Rung, *args: str) -> None:
        env = dict(rung.env, PROMPT_TOOLKIT_NO_CPR="1")
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "rung.agent.cli", "chat", *args],
            env=env,
            encoding="utf-8",
            dimensions=(40, 100),
            timeout=20,
        )

    def expect(self, text: str) -> str:
        self.child.expect_exact(text)
        return plain(str(self.child.before))

    def prompt(self) -> str:
        return self.expect(PROMPT)

    def say(self, text: str) -> None:
        """Type a line and press Enter; consume prompt_toolkit's echo of the accepted line."""
        self.child.send(text + "\r")
        self.child.expect_exact("\r\r\n")

    def close(self) -> int:
        self.child.sendeof()
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus or 0)


@pytest.fixture(params=["local", "daemon"])
def rung(request: pytest.FixtureRequest, rung: Rung) -> Rung:
    """Every chat test twice: the chat in its own process, and the chat run by a daemon
    (`rung chat` while `rung daemon run` runs), which must behave the same."""
    if request.param == "local":
        return rung
    return request.getfixturevalue("through_daemon")  # type: ignore[no-any-return]


@pytest.fixture
def chat(rung: Rung) -> Iterator[Chat]:
    chat = Chat(rung)
    yield chat
    if chat.child.isalive():
        chat.child.terminate(force=True)


def test_chat_streams_a_markdown_reply_and_leaves_on_ctrl_d(
    chat: Chat, ollama_server: OllamaTestServer
) -> None:
    banner = chat.prompt()
    assert "Rung" in banner and "qwen3:4b" in banner
    ollama_server.script(Reply(text="Here is **bold** advice:\n\n- first point\n- second point"))
    chat.say("give me advice")
    screen = chat.prompt()
    assert "Here is bold advice:" in screen  # rendered: no ** left
    assert "• first point" in screen and "• second point" in screen
    assert chat.close() == 0
    ollama_server.assert_complete()


def test_slash_commands(chat: Chat, ollama_server: OllamaTestServer) -> None:
    chat.prompt()
    chat.say("/help")
    out = chat.prompt()
    for command in ("/new", "/sessions", "/resume", "/model", "/tier", "/clear", "/usage", "/exit"):
        assert command in out
    chat.say("/frobnicate")
    assert "Unknown command /frobnicate" in chat.prompt()
    chat.say("/sesions")
    assert "Did you mean /sessions?" in chat.prompt()
    chat.say("/usage")
    assert "No turn yet" in chat.prompt()

    ollama_server.script(Reply(text="four", prompt_eval_count=77))
    chat.say("2+2?")
    chat.prompt()
    chat.say("/usage")
    usage = chat.prompt()
    assert "prompt 77 tokens" in usage and "100.0 tokens/s" in usage
    assert "first token after" in usage

    chat.say("/tier chatbot")
    assert "chatbot" in chat.prompt()
    ollama_server.script(Reply(text="no tools here"))
    chat.say("hi")
    chat.prompt()
    assert not ollama_server.chat_requests[-1].get("tools")
    assert ollama_server.chat_requests[-1]["messages"][1]["content"] == "2+2?"  # carried over
    chat.say("/exit")
    chat.child.expect(pexpect.EOF)


def test_sessions_new_and_resume(
    chat: Chat, rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    chat.prompt()
    ollama_server.script(Reply(text="The answer is 42."), Reply(text="Fresh start."))
    chat.say("what is the answer?")
    chat.prompt()
    chat.say("/new")
    assert "New session" in chat.prompt()
    chat.say("hello again")
    chat.prompt()
    assert ollama_server.chat_requests[-1]["messages"][1:] == [
        {"role": "user", "content": "hello again"}
    ]
    chat.say("/sessions")
    listing = chat.prompt()
    assert "what is the answer?" in listing and "hello again" in listing
    store = SessionStore(isolated_home / "data" / "rung" / "sessions.sqlite3")
    first = next(s for s in store.list() if s.title == "what is the answer?")
    store.close()
    chat.say(f"/resume {first.id}")
    resumed = chat.prompt()
    assert f"Resumed session {first.id}" in resumed and "The answer is 42." in resumed
    ollama_server.script(Reply(text="You asked about the answer."))
    chat.say("what did I ask?")
    chat.prompt()
    sent = [m["content"] for m in ollama_server.chat_requests[-1]["messages"]]
    assert sent[1:] == ["what is the answer?", "The answer is 42.", "what did I ask?"]
    chat.say("/resume nope")
    assert "no session 'nope'" in chat.prompt()
    assert chat.close() == 0


def test_ctrl_c_stops_the_reply_and_keeps_the_chat(
    chat: Chat, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    chat.prompt()
    resume = threading.Event()
    words = "one two three four five six seven eight"
    ollama_server.script(Reply(text=words, pause_after=3, resume=resume))
    chat.say("count slowly")
    chat.expect("three")
    chat.child.sendintr()
    out = chat.prompt()
    resume.set()
    assert "stopped" in out
    ollama_server.script(Reply(text="still here"))
    chat.say("are you there?")
    assert "still here" in chat.prompt()
    assert chat.close() == 0
    store = SessionStore(isolated_home / "data" / "rung" / "sessions.sqlite3")
    [info] = store.list()
    messages = store.messages(info.id)
    store.close()
    assert [(m.role, m.content.strip(), m.interrupted) for m in messages] == [
        ("user", "count slowly", False),
        ("assistant", "one two three", True),
        ("user", "are you there?", False),
        ("assistant", "still here", False),
    ]


def test_missing_model_is_offered_for_download(rung: Rung, ollama_server: OllamaTestServer) -> None:
    ollama_server.pullable.append("gemma3:1b")
    chat = Chat(rung, "--model", "gemma3:1b")
    try:
        chat.prompt()
        chat.say("hi")
        chat.expect("ollama pull gemma3:1b")
        chat.expect("Download gemma3:1b now")
        ollama_server.script(Reply(text="Hello from gemma."))
        chat.say("y")
        chat.expect("Pulled gemma3:1b")
        assert "Hello from gemma." in chat.prompt()
        assert chat.close() == 0
    finally:
        chat.child.terminate(force=True)


def test_declining_the_download_keeps_the_chat(rung: Rung, ollama_server: OllamaTestServer) -> None:
    chat = Chat(rung, "--model", "nothere:1b")
    try:
        chat.prompt()
        chat.say("hi")
        chat.expect("Download nothere:1b now")
        chat.say("n")
        chat.prompt()
        chat.say("/model")
        shown = chat.prompt()
        assert "Model: nothere:1b" in shown and "Installed: qwen3:4b" in shown
        assert ollama_server.chat_requests == []
        assert chat.close() == 0
    finally:
        chat.child.terminate(force=True)


def test_errors_in_chat_are_one_line_and_the_chat_goes_on(
    chat: Chat, ollama_server: OllamaTestServer
) -> None:
    chat.prompt()
    ollama_server.script(Reply(text="a b c d", drop_after=2), Reply(text="recovered"))
    chat.say("first")
    out = chat.prompt()
    assert "broke off mid-reply" in out and "Traceback" not in out
    chat.say("second")
    assert "recovered" in chat.prompt()
    assert chat.close() == 0


def test_model_switch_carries_the_conversation(chat: Chat, ollama_server: OllamaTestServer) -> None:
    from tests.ollama_server import ModelInfo

    ollama_server.models.append(ModelInfo("llama3.2:3b", family="llama"))
    chat.prompt()
    ollama_server.script(Reply(text="Noted."), Reply(text="You said hello."))
    chat.say("hello")
    chat.prompt()
    chat.say("/model llama3.2:3b")
    assert "Now using llama3.2:3b" in chat.prompt()
    chat.say("what did I say?")
    chat.prompt()
    last = ollama_server.chat_requests[-1]
    assert last["model"] == "llama3.2:3b"
    assert [m["content"] for m in last["messages"][1:]] == ["hello", "Noted.", "what did I say?"]
    chat.say("/model nothere:9b")
    assert "Download nothere:9b now" in chat.expect("[Y/n]")
    chat.say("n")
    chat.say("/model")
    assert "Model: llama3.2:3b" in chat.prompt()
    assert chat.close() == 0
