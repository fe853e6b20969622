"""Compaction keeps what matters: a planted fact outlives it, and is recalled from memory.

Real Chroma, the real embedding model, the real session store; `ScriptedModel` is a test
double for the model (it also writes the summary when asked)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.agent.compaction import SUMMARY_HEADER, split, summarise, user_facts
from rung.agent.conversation import Conversation
from rung.agent.messages import Message, Notice
from rung.agent.recall import Recall
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.agent.tool_text import correction_message
from rung.config.errors import InputTooLarge
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


def test_passing_remarks_are_not_facts() -> None:
    old = [Message("user", "I'm not sure why this fails. I have a question about Rust.")]
    old.append(Message("user", "I am stuck on the parser. I don't eat meat."))
    old.append(Message("user", "I'm getting married in June."))
    assert user_facts(old) == ["I don't eat meat", "I'm getting married in June"]


def test_a_correction_of_a_tool_call_is_inside_its_turn() -> None:
    history = [
        Message("user", "first"),
        Message("assistant", '{"name": "nope"}'),
        Message("user", correction_message(["there is no tool 'nope'."])),
        Message("assistant", "one"),
        Message("user", "second"),
        Message("assistant", "two"),
    ]
    parts = split(history, keep=2)
    assert parts.old == [] and parts.recent == history


async def test_the_summary_request_fits_the_window() -> None:
    old = [Message("user" if n % 2 == 0 else "assistant", f"turn {n}: {FILLER}") for n in range(40)]
    model = ScriptedModel("- the latest turns")  # a test double for the model
    summary = await summarise(model, old, 4096)
    [request] = model.sent
    assert sum(len(m.content) for m in request.messages) < 4096 * 3.5
    assert summary.startswith("- User: turn 0:")  # the turns left out, extracted
    assert summary.endswith("- the latest turns")


def fill_up(turns: int) -> tuple[ScriptedModel, Conversation]:
    model = ScriptedModel(*["A long answer about bicycles. " * 20] * turns, "- a summary")
    return model, Conversation(model, num_ctx=4096, tier="chatbot", compact_at=0.95)


async def test_on_a_small_window_compaction_comes_before_any_turn_is_left_out() -> None:
    _, conversation = fill_up(20)
    told = []
    for _ in range(16):
        told += [e.text async for e in conversation.send(FILLER) if isinstance(e, Notice)]
    assert any(t.startswith("Compacted") for t in told)
    assert not any(t.startswith("Left out") for t in told), told


async def test_a_message_too_large_is_refused_before_compacting_for_it() -> None:
    model, conversation = fill_up(3)
    for _ in range(3):
        [e async for e in conversation.send("a question")]
    history, requests = list(conversation.history), len(model.sent)
    with pytest.raises(InputTooLarge):
        [e async for e in conversation.send(FILLER * 30)]
    assert conversation.history == history and len(model.sent) == requests


async def test_the_last_summary_is_not_summarised_again() -> None:
    model, conversation = fill_up(3)
    for _ in range(3):
        [e async for e in conversation.send("a question")]
    assert (await conversation.compact()).startswith("Compacted 2 earlier messages")
    requests = len(model.sent)
    assert (await conversation.compact()).startswith("Nothing to compact yet")
    assert len(model.sent) == requests


def test_the_last_turns_are_kept_whole() -> None:
    history = [Message("user" if i % 2 == 0 else "assistant", str(i)) for i in range(8)]
    parts = split(history, keep=2)
    assert [m.content for m in parts.recent] == ["4", "5", "6", "7"]
    assert split(history[:4], keep=2).old == []


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
    # ... and the code came back from memory
    assert "[untrusted data from recalled memories, " in sent[-1].content
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
