"""The daemon's approvals, in this process: a question goes to the channel of the turn the
call belongs to, the client's answer comes back, and no answer in time is a no."""

from __future__ import annotations

import asyncio

from rung.agent.daemon.channel import CURRENT, Approvals, Channel
from rung.agent.daemon.wire import ApprovalAsked
from rung.tools.approvals import ApprovalRequest, someone_to_ask

REQUEST = ApprovalRequest("files", "write_file", {"path": "a.txt"})


async def asked(channel: Channel) -> ApprovalAsked:
    event = await channel.get()
    assert isinstance(event, ApprovalAsked)
    return event


async def test_the_question_goes_to_the_turns_client_and_its_answer_comes_back() -> None:
    approvals = Approvals(timeout=10)
    mine, other = Channel(interactive=True), Channel(interactive=True)

    async def turn(channel: Channel) -> str:
        CURRENT.set(channel)  # as the daemon's turn task does
        return await approvals(REQUEST)

    call = asyncio.create_task(turn(mine))
    question = await asked(mine)
    assert question.request == REQUEST and other._events.empty()
    assert approvals.answer(question.id, "once") is True
    assert await call == "once"
    assert approvals.answer(question.id, "always") is False  # answered already


async def test_no_answer_in_time_is_a_no() -> None:
    approvals = Approvals(timeout=0.05)
    channel = Channel(interactive=True)

    async def turn() -> str:
        CURRENT.set(channel)
        return await approvals(REQUEST)

    call = asyncio.create_task(turn())
    question = await asked(channel)
    assert await call == "deny"
    assert approvals.answer(question.id, "once") is False  # too late: nothing waits


async def test_a_client_without_a_terminal_is_no_one_to_ask() -> None:
    approvals = Approvals(timeout=10)
    channel = Channel(interactive=False)

    async def turn() -> tuple[bool, str]:
        CURRENT.set(channel)
        return someone_to_ask(approvals), await approvals(REQUEST)

    assert await asyncio.create_task(turn()) == (False, "deny")
    assert channel._events.empty()  # nothing was asked
    assert someone_to_ask(approvals) is False  # outside any turn, too
