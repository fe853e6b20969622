"""Compaction keeps what matters: a planted fact outlives it, and is recalled from memory.

Real Chroma, the real embedding model, the real session store; `ScriptedModel` is a test
double for the model (it also writes the summary when asked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.agent.compaction import SUMMARY_HEADER, split, user_facts
from rung.agent.conversation import Conversation
from rung.agent.messages import Message, Notice
from rung.agent.recall import Recall
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

FILLER = "Tell me more about the history of bicycles, in detail. " * 12


@pytest.fixture
def memory(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with Memory(MemoryConfig(folder=tmp_path / "memory"), embedder) as m:
        yield m


def test_the_users_statements_about_themselves_are_found() -> None:
    old = [
        Message("user", "Hi! My locker code is 7731. I work night shifts at the hospital."),
        Message("assistant", "Noted."),
        Message("user", "What is the weather like? I think it rains."),
        Message("user", "[Wednesday 2026-11-25 09:30 CET]\n\nI moved to Porto in March."),
    ]
    assert user_facts(old) == [
        "My locker code is 7731",
        "I work night shifts at the hospital",
        "I moved to Porto in March",
    ]


def test_the_last_turns_are_kept_whole() -> None:
    history = [Message("user" if i % 2 == 0 else "assistant", str(i)) for i in range(8)]
    parts = split(history, keep=2)
    assert [m.content for m in parts.recent] == ["4", "5", "6", "7"]
    assert split(history[:4], keep=2).old == []


@pytest.mark.timeout(120)
async def test_a_planted_fact_outlives_compaction_and_comes_back_from_memory(
    memory: Memory, tmp_path: Path
) -> None:
    sessions = SessionStore(tmp_path / "sessions.sqlite3")
    recall = Recall(memory, sessions)
    model = ScriptedModel(
        "Got it.",  # turn 1: the planted fact
        *["Bicycles began with the draisine in 1817. " * 20] * 5,  # turns 2-6 fill the window
        "- The user asked about the history of bicycles.\n- Locker code mentioned.",  # summary
        "Your locker code is 7731 [m1].",  # the question after compaction
    )
    conversation = Conversation(
        model,
        num_ctx=4096,
        tier="assistant",
        store=sessions,
        recall=recall,
        system=lambda: {"persona": "You are Wren."},
    )
    [e async for e in conversation.send("Please note: my locker code is 7731.")]
    notices = []
    for _ in range(5):
        notices += [e async for e in conversation.send(FILLER) if isinstance(e, Notice)]
    compaction = [n.text for n in notices if n.text.startswith("Compacted")]
    assert compaction == [] or len(compaction) == 1
    if not compaction:  # the window did not fill by itself: compact on demand
        compaction = [await conversation.compact()]
    assert "saved 1 fact and the summary to memory first" in compaction[0]
    assert conversation.history[0].content.startswith(SUMMARY_HEADER)

    events = [e async for e in conversation.send("what is my locker code?")]
    sent = model.sent[-1].messages
    assert sent[0].content == "You are Wren."  # the persona survived, untouched
    assert "<memory>" in sent[-1].content  # ... and the code came back from memory
    assert "fact about the user" in sent[-1].content and "locker code is 7731" in sent[-1].content
    assert not any("7731" in m.content for m in sent[1:-1] if m.role == "user" and
                   not m.content.startswith(SUMMARY_HEADER))  # fmt: skip
    assert events
    recall.close()
    assert {f.text for f in memory.facts()} == {"My locker code is 7731"}
    summaries = [s for s in memory.turns_known() if s.endswith("#-1")]
    assert summaries == [f"session:{conversation.session_id}#-1"]
    assert len(sessions.messages(conversation.session_id)) == 14  # every turn kept
    sessions.close()


def test_compact_in_chat(rung: Rung, ollama_server: OllamaTestServer) -> None:
    chat = Chat(rung, "--tier", "chatbot")
    try:
        chat.prompt()
        chat.say("/compact")
        assert "Nothing to compact yet" in chat.prompt()
        for n in range(3):
            ollama_server.script(Reply(text=f"Answer {n}."))
            chat.say(f"question {n}")
            chat.prompt()
        ollama_server.script(Reply(text="- asked three questions"))
        chat.say("/compact")
        shown = chat.prompt()
        assert "Compacted 2 earlier messages into a summary" in shown
        ollama_server.script(Reply(text="ok"))
        chat.say("next")
        chat.prompt()
        sent = ollama_server.chat_requests[-1]["messages"]
        assert sent[1]["content"] == f"{SUMMARY_HEADER}\n- asked three questions"
        assert [m["content"] for m in sent[3:]] == [
            "question 1", "Answer 1.", "question 2", "Answer 2.", "next"
        ]  # fmt: skip
        assert chat.close() == 0
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)
