"""Phantom memory: "I'll remember that" with no memory tool run is made true, or told."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.agent.conversation import Conversation
from rung.agent.messages import Message, Notice, ToolCall
from rung.agent.phantom import phantom, statement, worth_saving
from rung.agent.recall import Recall
from rung.agent.testing import ScriptedModel, Step, call
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig


@pytest.mark.parametrize(
    ("answer", "claims"),
    [
        ("Got it, I'll remember that your bike lock code is 4412.", True),
        ("I have noted that you prefer tea.", True),
        ("Sure — saved to memory.", True),
        ("I will keep that in mind for next time!", True),
        ("I can't remember things between chats, sorry.", False),
        ("Remember to water the plants.", False),
        ("The capital of France is Paris.", False),
    ],
)
def test_a_claim_is_recognised(answer: str, claims: bool) -> None:
    assert phantom(answer, [Message("assistant", answer)]) is claims


def test_a_memory_tool_in_the_turn_makes_it_true() -> None:
    turn = [
        Message("assistant", "", tool_calls=[ToolCall("c1", "remember", {"fact": "x"})]),
        Message("tool", "Remembered", tool_name="remember", tool_call_id="c1"),
        Message("assistant", "I'll remember that."),
    ]
    assert not phantom("I'll remember that.", turn)


def test_a_memory_tool_that_failed_saved_nothing() -> None:
    turn = [
        Message("assistant", "", tool_calls=[ToolCall("c1", "remember", {"fact": "x"})]),
        Message("tool", "error: the memory is busy", tool_name="remember", tool_call_id="c1"),
        Message("assistant", "I've saved it."),
    ]
    assert phantom("I've saved it.", turn)


@pytest.mark.parametrize(
    ("message", "fact"),
    [
        ("Please remember that my bike lock code is 4412.", "My bike lock code is 4412"),
        ("I moved to Porto last week", "I moved to Porto last week"),
        ("Can you look at this function and tell me what it does?", None),
        ("def main():\n    print('hello')\n" * 40, None),  # a paste is not a fact
        ("Summarise this article for me", None),
    ],
)
def test_only_a_short_statement_about_the_user_is_worth_saving(
    message: str, fact: str | None
) -> None:
    assert worth_saving(message) == fact


def test_the_statement_is_the_users_words() -> None:
    assert statement("Please remember that my bike lock code is 4412.") == (
        "My bike lock code is 4412"
    )
    assert statement("I moved to Porto last week") == "I moved to Porto last week"


@pytest.fixture
def memory(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with Memory(MemoryConfig(folder=tmp_path / "memory"), embedder) as m:
        yield m


async def test_the_assistant_tier_saves_what_the_reply_promised(memory: Memory) -> None:
    model = ScriptedModel("Got it, I'll remember that!")  # a test double for the model
    conversation = Conversation(model, num_ctx=8192, tier="assistant", recall=Recall(memory, None))
    events = [e async for e in conversation.send("Remember that my bike lock code is 4412")]
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert notice.text.startswith("Rung saved it, as the reply promised: My bike lock code")
    assert [f.text for f in memory.facts()] == ["My bike lock code is 4412"]


async def test_the_agent_tier_says_nothing_was_saved() -> None:
    model = ScriptedModel("Noted, I'll remember that.")
    conversation = Conversation(model, num_ctx=8192, tier="agent")
    events = [e async for e in conversation.send("remember I hate cilantro")]
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert notice.text.startswith("The reply says it will remember, but nothing was saved")


async def test_a_pasted_text_is_not_saved_as_a_fact(memory: Memory) -> None:
    model = ScriptedModel("I'll note that line 3 looks odd.")
    conversation = Conversation(model, num_ctx=8192, tier="assistant", recall=Recall(memory, None))
    paste = "Here is my code:\n" + "x = compute(x) + 1\n" * 40
    events = [e async for e in conversation.send(paste)]
    [notice] = [e for e in events if isinstance(e, Notice)]
    assert notice.text.startswith("The reply says it will remember, but nothing was saved")
    assert memory.facts() == []


async def test_a_real_remember_call_is_left_alone(memory: Memory) -> None:
    model = ScriptedModel(
        Step(tool_calls=[call("remember", fact="I hate cilantro")]), "I'll remember that."
    )
    conversation = Conversation(model, num_ctx=8192, tier="agent")
    events = [e async for e in conversation.send("remember I hate cilantro")]
    assert not any(isinstance(e, Notice) and "remember" in e.text for e in events)
