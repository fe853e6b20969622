"""Fitting the conversation into num_ctx: refuse what cannot fit, trim loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from rung.agent.context import estimate_tokens, fit_context
from rung.agent.conversation import Conversation
from rung.agent.messages import FinalAnswer, Message, Notice
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.config.errors import InputTooLarge, UserError


def turn(i: int, size: int) -> list[Message]:
    return [Message("user", f"question {i} " + "x" * size), Message("assistant", f"answer {i}")]


def test_everything_fits_nothing_dropped() -> None:
    messages = [Message("system", "be nice"), *turn(1, 10), Message("user", "hi")]
    fitted = fit_context(messages, 4096)
    assert fitted.messages == messages and fitted.dropped == 0
    assert fitted.tokens == estimate_tokens(messages)


def test_oldest_whole_turns_go_first_system_and_newest_stay() -> None:
    history = [m for i in range(10) for m in turn(i, 700)]
    messages = [Message("system", "persona"), *history, Message("user", "latest")]
    fitted = fit_context(messages, 2048)
    kept = fitted.messages
    assert kept[0].content == "persona" and kept[-1].content == "latest"
    assert kept[1].role == "user"  # cut on a turn boundary
    assert fitted.dropped > 0 and fitted.dropped % 2 == 0
    assert len(kept) == len(messages) - fitted.dropped
    assert fitted.tokens <= 2048 - 512


def test_a_message_too_large_for_the_window_is_refused() -> None:
    with pytest.raises(InputTooLarge) as err:
        fit_context([Message("user", "y" * 20000)], 2048)
    assert "num_ctx" in err.value.message and "--num-ctx" in err.value.hint


async def test_conversation_trims_with_a_notice_and_stores_turns(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "s.sqlite3")
    model = ScriptedModel(*["a" * 3000 for _ in range(4)])
    # compaction off: trimming is what is left when even the last turns do not fit
    conversation = Conversation(model, num_ctx=2048, tier="agent", store=store, compact_at=None)
    notices = []
    for i in range(4):
        async for event in conversation.send(f"question {i}"):
            if isinstance(event, Notice):
                notices.append(event.text)
    assert notices and "oldest" in notices[-1] and "num_ctx=2048" in notices[-1]
    # the model saw less than everything, but the store kept every turn
    assert len(model.sent[-1].messages) < 2 * 4
    stored = store.messages(conversation.session_id)
    assert [m.content for m in stored if m.role == "user"] == [f"question {i}" for i in range(4)]
    store.close()


async def test_empty_message_is_refused() -> None:
    conversation = Conversation(ScriptedModel(), num_ctx=2048, tier="agent")
    with pytest.raises(UserError, match="empty"):
        async for _ in conversation.send("  \n"):
            pass


async def test_a_stopped_reply_is_kept_and_marked(tmp_path: Path) -> None:
    import asyncio

    from rung.agent.messages import ModelDone, TextDelta, Usage

    gate = asyncio.Event()

    class Stalling(ScriptedModel):
        async def stream(self, messages, tools=None):  # type: ignore[no-untyped-def,override]
            yield TextDelta("partial ")
            yield TextDelta("answer")
            await gate.wait()
            yield ModelDone(Message("assistant", "never"), Usage())

    store = SessionStore(tmp_path / "s.sqlite3")
    conversation = Conversation(Stalling(), num_ctx=4096, tier="agent", store=store)
    seen: list[str] = []

    async def consume() -> None:
        async for event in conversation.send("tell me"):
            assert not isinstance(event, FinalAnswer)
            seen.append(getattr(event, "text", ""))
            if len(seen) == 2:
                task.cancel()

    task = asyncio.ensure_future(consume())
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = store.messages(conversation.session_id)
    assert [(m.role, m.content, m.interrupted) for m in stored] == [
        ("user", "tell me", False),
        ("assistant", "partial answer", True),
    ]
    store.close()
