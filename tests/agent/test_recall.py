"""The assistant tier's memory: turns go into the conversations memory, memories come back.

Real Chroma, the real embedding model, the real session store. In-process tests drive
`Conversation` with `ScriptedModel` (a test double for the model); the end-to-end tests run
the `rung` CLI against the Ollama-protocol test server.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.agent.cli.memory_command import parse_when
from rung.agent.conversation import Conversation
from rung.agent.messages import LoopEvent, Message, Notice, Recalled, ToolCall
from rung.agent.recall import MIN_SIMILARITY, Recall, as_memory
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.config.errors import UserError
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig
from tests.agent.daemon.conftest import lock_holders, paths, through_daemon  # noqa: F401
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply


@pytest.fixture
def memory(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with Memory(MemoryConfig(folder=tmp_path / "memory"), embedder) as m:
        yield m


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[SessionStore]:
    with SessionStore(tmp_path / "sessions.sqlite3") as store:
        yield store


async def turn(conversation: Conversation, text: str) -> list[LoopEvent]:
    return [event async for event in conversation.send(text)]


async def test_recalled_memories_ride_with_the_message_and_the_history_stays_as_typed(
    memory: Memory, sessions: SessionStore
) -> None:
    memory.remember("My manager is Ana Duarte")
    recall = Recall(memory, sessions)
    model = ScriptedModel("Your manager is Ana Duarte [m1].", "Still Ana Duarte.")
    conversation = Conversation(
        model, num_ctx=8192, tier="assistant", store=sessions, recall=recall
    )

    events = await turn(conversation, "who is my manager?")
    [recalled] = [e for e in events if isinstance(e, Recalled)]
    [fact] = recalled.memories
    assert (fact.tag, fact.kind, fact.text) == ("m1", "fact", "My manager is Ana Duarte")
    assert recalled.summary == "recalled 1 fact"
    sent = model.sent[0].messages
    assert sent[0].role == "system" and "Ana" not in sent[0].content  # the prefix stays put
    block = re.fullmatch(
        r"\[untrusted data from recalled memories, (\w+)\]\n(.*)\n\[end \1\]\n\n"
        r"who is my manager\?",
        sent[-1].content,
        re.DOTALL,
    )
    assert block is not None and "[m1] fact about the user, noted " in block.group(2)
    assert conversation.history[0].content == sent[-1].content  # the model's view stays
    assert sessions.messages(conversation.session_id)[0].content == "who is my manager?"

    await turn(conversation, "remind me: who is my manager?")
    recall.close()  # waits for the finished turns to go into memory
    assert memory.turns_known() == {
        f"session:{conversation.session_id}#0",
        f"session:{conversation.session_id}#1",
    }
    # this session's own turns are in the history already: never recalled into it
    assert all(m.kind == "fact" for m in conversation.recalled)
    model.assert_complete()


async def test_a_past_conversation_is_recalled_in_a_new_session(
    memory: Memory, sessions: SessionStore
) -> None:
    old = SessionStore.new_id()
    sessions.add_turn(
        old,
        [
            Message("user", "We need a plan for the roof leak"),
            Message("assistant", "Decision: call Tiago the roofer on Monday, budget 800 euros."),
        ],
        model="m",
        tier="chatbot",
    )
    recall = Recall(memory, sessions)
    assert recall.record() == 1  # the chatbot tier's turn, caught up
    assert recall.record() == 0  # once
    memories = recall.recall("what did we decide about the roof?")
    [past] = [m for m in memories if m.kind == "conversation"]
    assert "Tiago the roofer" in past.text and past.where == "We need a plan for the roof leak"
    assert re.fullmatch(
        r"from the conversation '.+' on [A-Z][a-z]+day \d{4}-\d\d-\d\d", past.origin
    )
    assert past.id.startswith(memory.search("roof", ["conversations"], limit=1)[0].chunk.id[:16])

    sessions.delete(old)
    recall.record()
    assert memory.turns_known() == set()  # a deleted session leaves memory too
    recall.close()


def test_documents_are_recalled_with_or_without_a_session(
    memory: Memory, sessions: SessionStore, tmp_path: Path
) -> None:
    note = tmp_path / "bike.md"
    note.write_text("# Bike\n\nTyre pressure for the Brompton: 4.5 bar front and back.\n")
    list(memory.ingester().add([note]))
    recall = Recall(memory, sessions)
    for session_id in (None, SessionStore.new_id()):
        memories = recall.recall("what tyre pressure does my bike need?", session_id)
        [passage] = [m for m in memories if m.kind == "document"]
        assert "4.5 bar" in passage.text
    recall.close()


async def test_a_busy_memory_means_an_answer_without_it_not_a_failed_turn(
    memory: Memory, sessions: SessionStore, tmp_path: Path, embedder: Embedder
) -> None:
    assert memory.store.count("documents") == 0  # this Memory now holds the store's lock
    other = Memory(MemoryConfig(folder=tmp_path / "memory"), embedder)
    model = ScriptedModel("Hello.")
    conversation = Conversation(
        model, num_ctx=8192, tier="assistant", store=sessions, recall=Recall(other, None)
    )
    events = await turn(conversation, "hello")
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert notice.text.startswith("Answering without memory this turn:")
    assert "is in use by" in notice.text and "one Rung process at a time" in notice.text
    assert model.sent[0].messages[-1].content == "hello"
    other.close()


def test_a_turn_in_memory_says_what_was_asked_and_answered(sessions: SessionStore) -> None:
    sid = SessionStore.new_id()
    sessions.add_turn(
        sid,
        [
            Message("user", "what time is it?"),
            Message("assistant", "", tool_calls=[ToolCall("c1", "now", {})]),
            Message("tool", "14:02", tool_name="now", tool_call_id="c1"),
            Message("assistant", "It is 14:02."),
        ],
        model="m",
        tier="agent",
    )
    [stored] = sessions.turns([(sid, 0)])
    kept = as_memory(stored)
    assert kept.text == "User: what time is it?\nAssistant used now.\nAssistant: It is 14:02."
    assert kept.source == f"session:{sid}#0" and kept.title == "what time is it?"
    assert abs(kept.at - time.time()) < 60


def test_when_parses_dates_days_and_ages() -> None:
    now = time.time()
    assert parse_when("3d", "--since") == pytest.approx(now - 3 * 86400, abs=5)
    assert parse_when("12h", "--since") == pytest.approx(now - 12 * 3600, abs=5)
    assert parse_when("yesterday", "--since") < parse_when("today", "--since") <= now
    assert time.localtime(parse_when("2026-11-01", "--since"))[:3] == (2026, 11, 1)
    with pytest.raises(UserError, match="--since 'last tuesday' is not a date or an age"):
        parse_when("last tuesday", "--since")


# --- the CLI, end to end ------------------------------------------------------------------


def test_rung_ask_in_the_assistant_tier_recalls_and_remembers(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    assert rung("memory", "facts", "add", "My bike is a green Brompton").code == 0
    ollama_server.script(Reply(text="Done: the NAS backup now runs at 02:30 every night."))
    first = rung("ask", "--tier", "chatbot", "Move the NAS backup to 02:30 every night")
    assert first.code == 0, first.err

    ollama_server.script(Reply(text="It runs at 02:30 [m1]."))
    result = rung(
        "ask", "--tier", "assistant", "--json", "When does the NAS backup run?", timeout=120
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    [past] = [m for m in data["memories"] if m["kind"] == "conversation"]
    assert "02:30" in past["text"] and past["where"] == "Move the NAS backup to 02:30 every night"
    assert all("Brompton" not in m["text"] for m in data["memories"])  # not relevant: left out
    sent = ollama_server.chat_requests[-1]["messages"]
    assert sent[0]["content"].endswith("- My bike is a green Brompton")  # facts: the prefix
    assert "[untrusted data from recalled memories, " in sent[-1]["content"]
    assert "02:30" in sent[-1]["content"]
    assert sent[-1]["content"].endswith("When does the NAS backup run?")

    ollama_server.script(Reply(text="A green Brompton [m1]."))
    shown = rung("ask", "--tier", "assistant", "What kind of bike do I have?")
    assert shown.code == 0, shown.err
    assert "[memory] recalled 1 fact" in shown.err
    assert "[memory] [m1] fact about the user" in shown.err and "Brompton" in shown.err

    # every turn, in any tier, is in the conversations memory now
    found = rung(
        "memory", "search", "--in", "conversations", "--json", "NAS backup time", timeout=120
    )
    sources = {h["source"] for h in json.loads(found.out)}
    assert len(sources) == 3, found.out
    # forgotten for good: later catch-ups do not bring it back
    session = next(iter(sorted(sources)))
    assert rung("memory", "forget", session.split("#")[0]).code == 0
    again = rung("memory", "search", "--in", "conversations", "--json", "NAS")
    assert session not in {h["source"] for h in json.loads(again.out)}


def test_a_bad_date_filter_is_one_line(rung: Rung) -> None:
    result = rung("memory", "search", "--since", "soon", "anything")
    assert result.code == 2  # a usage error
    assert result.err.strip().splitlines()[0] == "rung: --since 'soon' is not a date or an age"
    assert "Traceback" not in result.err


@pytest.mark.parametrize("where", ["local", "daemon"])
def test_chat_memory_shows_what_was_recalled_and_cited(
    rung: Rung, ollama_server: OllamaTestServer, where: str, request: pytest.FixtureRequest
) -> None:
    assert rung("memory", "facts", "add", "My sister Ines lives in Porto").code == 0
    if where == "daemon":  # the chat runs in the daemon: its recall, tiers and /memory too
        rung = request.getfixturevalue("through_daemon")
    chat = Chat(rung, "--tier", "assistant")
    chat.child.timeout = 90  # the embedding model loads in the chat's own process
    try:
        chat.prompt()
        ollama_server.script(Reply(text="Ines lives in Porto [m1]."))
        chat.say("where does my sister live?")
        screen = chat.prompt()
        assert "◆ recalled 1 fact · /memory" in screen
        chat.say("/memory")
        shown = chat.prompt()
        assert "[m1] fact about the user, noted" in shown and "cited" in shown
        assert re.search(r"fact-\w+ · meaning 0\.\d\d", shown), shown  # why it was chosen
        assert "My sister Ines lives in Porto" in shown
        assistant_system = ollama_server.chat_requests[-1]["messages"][0]["content"]
        assert "My sister Ines lives in Porto" in assistant_system
        chat.say("/tier agent")
        chat.prompt()
        chat.say("/memory")
        assert "Recall comes with the assistant tier" in chat.prompt()
        # each tier's own system message from the next message on, the history kept
        for tier, knows_you in (("agent", False), ("chatbot", False), ("assistant", True)):
            if tier != "agent":
                chat.say(f"/tier {tier}")
                chat.prompt()
            ollama_server.script(Reply(text=f"in the {tier} tier"))
            chat.say(f"hello from {tier}")
            assert f"in the {tier} tier" in chat.prompt()
            messages = ollama_server.chat_requests[-1]["messages"]
            assert ("My sister Ines lives in Porto" in messages[0]["content"]) is knows_you
            assert messages[0]["content"] != assistant_system or knows_you
            assert messages[1]["content"].endswith("where does my sister live?")
            assert messages[-1]["content"].endswith(f"hello from {tier}")
        assert chat.close() == 0
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)


# A user who signs with her name and an assistant that says it back: a name in every turn.
# Most turns are small talk; one says what the vet found.
VET = (
    "Maren here: the vet found a grade two heart murmur in Moss and wants to see him again "
    "in six months.",
    "Noted, Maren. A grade two murmur is usually mild; I'll remember the recheck.",
)
SMALL_TALK = [
    ("Morning! It's Maren.", "Good morning, Maren! How are you today?"),
    ("Good thanks, you?", "All good here, Maren, thanks for asking."),
    ("haha true", "Ha, fair enough, Maren."),
    ("How's your week been, Rung?", "Busy but fine, Maren. How's yours?"),
    ("Not bad, tired though.", "Get some rest, Maren!"),
    ("ok bye for now", "Bye Maren, talk soon!"),
    ("How is everyone doing?", "Everyone's fine here, Maren, thanks!"),
    ("thanks!", "You're welcome, Maren!"),
    ("He's doing fine.", "Glad to hear it, Maren!"),
    ("He is all good now.", "Great news, Maren!"),
]


QUESTION = "Is the dog all good after the vet?"  # near "He is all good now" in meaning too


def chat_with_names(sessions: SessionStore) -> None:
    """Three past sessions; the second holds the vet's finding among the small talk."""
    for n in range(3):
        turns = SMALL_TALK[n:] + SMALL_TALK[:n]
        if n == 1:
            turns.insert(3, VET)
        session = SessionStore.new_id()
        for user, assistant in turns:
            said = [Message("user", user), Message("assistant", assistant)]
            sessions.add_turn(session, said, model="m", tier="assistant")


def test_recall_brings_the_answering_turn_and_leaves_the_small_talk_out(
    memory: Memory, sessions: SessionStore
) -> None:
    chat_with_names(sessions)
    recall = Recall(memory, sessions)
    recall.record()
    question = QUESTION
    small_talk = {a for _, a in SMALL_TALK}
    near = memory.search(question, ["conversations"], limit=8)
    # the bar must do the work: by similarity alone, small talk would come along
    assert any(
        h.similarity is not None
        and h.similarity >= MIN_SIMILARITY
        and h.chunk.text.split("Assistant: ")[-1] in small_talk
        for h in near
    )
    memories = recall.recall(question)
    texts = [m.text for m in memories if m.kind == "conversation"]
    assert any("grade two heart murmur" in t for t in texts)
    assert not [t for t in texts if t.split("Assistant: ")[-1] in small_talk]
    recall.close()


def test_rung_ask_recalls_the_answer_not_the_small_talk(
    rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    with SessionStore(isolated_home / "data" / "rung" / "sessions.sqlite3") as sessions:
        chat_with_names(sessions)
    ollama_server.script(Reply(text="A grade two heart murmur; a recheck in six months [m1]."))
    result = rung("ask", "--tier", "assistant", "--json", QUESTION)
    assert result.code == 0, result.err
    sent = ollama_server.chat_requests[-1]["messages"][-1]["content"]
    block = sent[: sent.index("\n[end ")]
    assert "grade two heart murmur" in block
    assert not [a for _, a in SMALL_TALK if a in block]
    data = json.loads(result.out)
    assert [m["kind"] for m in data["memories"]] == ["conversation"]
