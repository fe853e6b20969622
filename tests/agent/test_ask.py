"""`rung ask` says every decision in both modes: each [rung] line of text mode is a notice of
`--json` (failed and skipped tool servers included), and a memory held by another Rung
process is one line, once, with the answer given without memory."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.config.paths import Paths
from rung.memory.embedder import Embedder
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

HOLDER = "Rung (pid 4242)"


def rung_lines(stderr: str) -> list[str]:
    return [line.removeprefix("[rung] ") for line in stderr.splitlines() if line.startswith("[")]


def test_json_notices_hold_every_line_text_mode_shows_failed_servers_included(
    rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    mcp = isolated_home / "config" / "rung" / "mcp.json"
    mcp.parent.mkdir(parents=True)
    servers = {"broken": {"command": "rung-test-no-such-command"}, "shapeless": {"args": ["x"]}}
    mcp.write_text(json.dumps({"mcpServers": servers}))
    rung = Rung(dict(rung.env, RUNG_MAX_TOOLS="64"))  # every tool offered: no model to load

    ollama_server.script(Reply(text="Fine without them."))
    text = rung("ask", "--tier", "agent", "--no-save", "hello")
    ollama_server.script(Reply(text="Fine without them."))
    result = rung("ask", "--tier", "agent", "--no-save", "--json", "hello")

    assert text.code == 0 and result.code == 0, text.err + result.err
    shown = rung_lines(text.err)
    [failed] = [line for line in shown if line.startswith("tool server broken failed: ")]
    assert "cannot start rung-test-no-such-command: No such file or directory" in failed
    assert "broken.log" in failed  # where to look
    assert any(line.startswith("tool server shapeless skipped: ") for line in shown)
    assert json.loads(result.out)["notices"] == shown
    assert result.err == ""  # --json: everything is in the JSON


@pytest.fixture
def held_memory() -> Iterator[Path]:
    """The memory store's lock, held as another Rung process holds it while it runs."""
    folder = Paths.default().memory_dir / "chroma"
    folder.mkdir(parents=True)
    fd = os.open(folder / "rung.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, HOLDER.encode())
        yield folder
    finally:
        os.close(fd)


def test_a_memory_in_use_by_another_rung_is_one_line_and_the_answer_comes_without_it(
    rung: Rung, ollama_server: OllamaTestServer, held_memory: Path, embedder: Embedder
) -> None:
    said = (
        f"Answering without memory: the memory store in {held_memory} is in use by {HOLDER}; "
        "wait for it to finish (one Rung process at a time may use the memory)"
    )
    ollama_server.script(Reply(text="Hello without memory."))
    text = rung("ask", "--tier", "assistant", "hello")
    assert text.code == 0, text.err
    assert text.out == "Hello without memory.\n"
    assert text.err == f"[rung] {said}\n"  # once, no traceback, no other line
    sent = ollama_server.chat_requests[-1]["messages"]
    assert "[untrusted data" not in sent[-1]["content"]  # nothing recalled

    ollama_server.script(Reply(text="Hello without memory."))
    result = rung("ask", "--tier", "assistant", "--json", "hello")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["notices"] == [said] and data["memories"] == []
    assert result.err == ""


def test_a_chat_whose_memory_is_in_use_says_so_once_and_answers(
    rung: Rung, ollama_server: OllamaTestServer, held_memory: Path
) -> None:
    ollama_server.script(Reply(text="First answer."), Reply(text="Second answer."))
    chat = Chat(rung, "--tier", "assistant")
    try:
        chat.say("hello")
        screen = chat.prompt()
        chat.say("again")
        screen += chat.prompt()
    finally:
        chat.close()
    assert "First answer." in screen and "Second answer." in screen
    assert screen.count("Answering without memory") == 1  # said once, not every turn
    assert f"is in use by {HOLDER}" in screen and "Traceback" not in screen
