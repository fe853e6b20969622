"""The tool-use loop, driven by the ScriptedModel test double."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rung.agent.loop import run_turn
from rung.agent.messages import (
    FinalAnswer,
    LoopEvent,
    Message,
    Notice,
    TextDelta,
    ToolCallStarted,
    ToolResult,
)
from rung.agent.prompt import Unframing, unframed, unmarked
from rung.agent.testing import ScriptedModel, Step, call
from rung.config.errors import ModelUnavailable
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec

ADD = ToolSpec(
    "add",
    "Add two integers.",
    {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    },
)


def registry(**functions: Any) -> ToolRegistry:
    tools = ToolRegistry([FunctionTool(ADD, lambda a, b: a + b)])
    for name, fn in functions.items():
        spec = ToolSpec(name, f"The {name} tool.", {"type": "object", "properties": {}})
        tools.add(FunctionTool(spec, fn))
    return tools


async def collect(model: ScriptedModel, tools: ToolRegistry | None, **kw: Any) -> list[LoopEvent]:
    return [e async for e in run_turn(model, [Message("user", "hi")], tools, **kw)]


def final(events: list[LoopEvent]) -> FinalAnswer:
    answers = [e for e in events if isinstance(e, FinalAnswer)]
    assert len(answers) == 1 and events[-1] is answers[0]
    return answers[0]


async def test_answer_without_tools_streams_text_and_ends() -> None:
    model = ScriptedModel("Hello there, friend.")
    events = await collect(model, None)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there, friend."
    assert final(events).message.content == "Hello there, friend."
    assert model.sent[0].tools is None
    model.assert_complete()


def test_boundary_lines_are_left_out_of_streamed_text_however_it_is_cut() -> None:
    text = (
        "[untrusted data from add, 0123456789abcdef]\nThe sum is 5.\n"
        "[end 0123456789abcdef]\n[1] a note\nnot [end 0123456789abcdef] alone\n[end here]"
    )
    for size in (1, 2, 3, 7, len(text)):
        shown = Unframing()
        out = "".join(shown.feed(text[i : i + size]) for i in range(0, len(text), size))
        out += shown.flush()
        assert out == "The sum is 5.\n[1] a note\nnot [end 0123456789abcdef] alone\n[end here]"


async def test_an_answer_that_copies_a_results_boundary_lines_is_shown_without_them() -> None:
    copied = "The sum is 5.\n[end 0123456789abcdef]"
    model = ScriptedModel(Step(tool_calls=[call("add", a=2, b=3)]), copied)
    events = await collect(model, registry())
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == "The sum is 5.\n"
    answer = final(events)
    assert answer.message.content == "The sum is 5."
    assert answer.new_messages[-1] is answer.message  # kept without them too
    model.assert_complete()


async def test_tool_call_result_goes_back_to_the_model() -> None:
    model = ScriptedModel(Step(tool_calls=[call("add", a=2, b=3)]), "The sum is 5.")
    events = await collect(model, registry())
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.content, r.is_error) for r in results] == [("5", False)]
    second = model.sent[1].messages
    assert second[-1].role == "tool" and unmarked(second[-1].content) == "5"
    assert second[-1].content.startswith("[untrusted data from add, ")  # marked as data
    assert second[-1].tool_name == "add"
    assert [t.name for t in model.sent[0].tools or []] == ["add"]
    answer = final(events)
    assert [m.role for m in answer.new_messages] == ["assistant", "tool", "assistant"]
    model.assert_complete()


async def test_independent_calls_run_concurrently() -> None:
    both_started = asyncio.Event()
    running = 0

    async def wait(**_: Any) -> str:
        nonlocal running
        running += 1
        if running == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), timeout=5)
        return "done"

    tools = registry(first=wait, second=wait)
    model = ScriptedModel(Step(tool_calls=[call("first"), call("second")]), "ok")
    events = await collect(model, tools)
    started = [i for i, e in enumerate(events) if isinstance(e, ToolCallStarted)]
    results = [i for i, e in enumerate(events) if isinstance(e, ToolResult)]
    assert len(started) == 2 and max(started) < min(results)
    assert all(e.content == "done" for e in events if isinstance(e, ToolResult))


async def test_unknown_tool_is_told_to_the_model_with_close_names() -> None:
    model = ScriptedModel(Step(tool_calls=[call("ad", a=1, b=2)]), "sorry")
    events = await collect(model, registry())
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "no tool named 'ad'" in result.content and "add" in result.content
    assert model.sent[1].messages[-1].content == result.content
    final(events)


async def test_invalid_arguments_are_told_precisely() -> None:
    model = ScriptedModel(
        Step(tool_calls=[call("add", a="two", b=3)]), Step(tool_calls=[call("add", a=2)]), "ok"
    )
    events = await collect(model, registry())
    first, second = (e for e in events if isinstance(e, ToolResult))
    assert first.is_error and "a: 'two' is not of type 'integer'" in first.content
    assert second.is_error and "'b' is a required property" in second.content


async def test_arguments_are_fixed_where_safe_and_said() -> None:
    model = ScriptedModel(Step(tool_calls=[call("add", a="2", B=3)]), "5")
    events = await collect(model, registry())
    result = next(e for e in events if isinstance(e, ToolResult))
    assert not result.is_error and unmarked(result.content) == "5"
    started = next(e for e in events if isinstance(e, ToolCallStarted))
    assert started.call.arguments == {"a": 2, "b": 3}  # what ran is what is shown and kept
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any('add: a: "2" → 2, B → b' in n for n in notes), notes


async def test_an_argument_the_schema_does_not_define_is_never_run() -> None:
    ran: list[dict[str, Any]] = []
    spec = ToolSpec(
        "lookup",
        "Look a word up.",
        {"type": "object", "properties": {"word": {"type": "string"}}},
    )
    tools = ToolRegistry([FunctionTool(spec, lambda **kw: ran.append(kw) or "found")])
    copied = call("lookup", properties={"word": {"type": "string"}})  # the schema, copied
    model = ScriptedModel(
        Step(tool_calls=[copied]), Step(tool_calls=[call("lookup", word="x")]), "ok"
    )
    events = await collect(model, tools)
    first, second = (e for e in events if isinstance(e, ToolResult))
    assert first.is_error and "properties: not arguments of this tool" in first.content
    assert 'Expected: {"name": "lookup", "arguments": {"word": <string (optional)>}}' in (
        first.content
    )
    assert not second.is_error and ran == [{"word": "x"}]  # only the corrected call ran


async def test_a_call_with_unusable_arguments_never_runs() -> None:
    ran = []
    tools = registry(boom=lambda **kw: ran.append(kw))
    broken = call("boom")
    broken = type(broken)(broken.id, "boom", {}, error="error: arguments were not valid JSON")
    model = ScriptedModel(Step(tool_calls=[broken]), "ok")
    events = await collect(model, tools)
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "not valid JSON" in result.content and ran == []


async def test_tool_exception_becomes_an_error_result() -> None:
    def fail() -> str:
        raise RuntimeError("disk on fire")

    model = ScriptedModel(Step(tool_calls=[call("fail")]), "It failed.")
    events = await collect(model, registry(fail=fail))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "disk on fire" in result.content
    assert final(events).message.content == "It failed."


async def test_repeated_identical_call_is_stopped() -> None:
    count = 0

    def tick() -> str:
        nonlocal count
        count += 1
        return f"tick {count}"

    model = ScriptedModel(Step(tool_calls=[call("tick")]), Step(tool_calls=[call("tick")]), "done")
    events = await collect(model, registry(tick=tick))
    results = [e for e in events if isinstance(e, ToolResult)]
    assert count == 1
    assert results[0].content == "tick 1" and not results[0].is_error
    assert results[1].is_error and "already called tick" in results[1].content
    # a step of nothing but repeats: the next step offers no tools and asks for the answer
    assert any(isinstance(e, Notice) and "repeated a call" in e.text for e in events)
    assert model.sent[-1].tools is None
    assert model.sent[-1].messages[-1].content.startswith("You already have the results")
    assert final(events).message.content == "done"


async def test_step_limit_asks_for_a_final_answer_without_tools() -> None:
    steps = [Step(tool_calls=[call("add", a=i, b=i)]) for i in range(3)]
    model = ScriptedModel(*steps, "Final: enough adding.")
    events = await collect(model, registry(), max_steps=3)
    assert any(isinstance(e, Notice) and "limit of 3" in e.text for e in events)
    assert final(events).message.content == "Final: enough adding."
    last = model.sent[-1]
    assert last.tools is None
    assert last.messages[-1].role == "system" and "answer the user now" in last.messages[-1].content
    model.assert_complete()


async def test_usage_is_summed_over_steps() -> None:
    model = ScriptedModel(Step(tool_calls=[call("add", a=1, b=1)]), "2")
    answer = final(await collect(model, registry()))
    assert answer.usage.completion_tokens == 10


async def test_model_errors_surface_to_the_caller() -> None:
    model = ScriptedModel(Step(raises=ModelUnavailable("down", hint="ollama serve")))
    with pytest.raises(ModelUnavailable):
        await collect(model, None)


def test_scripted_model_fails_when_steps_are_left_over() -> None:
    model = ScriptedModel("one", "two")
    asyncio.run(collect(model, None))
    with pytest.raises(AssertionError, match="1 scripted step"):
        model.assert_complete()


@pytest.mark.parametrize("tools", [registry(), None], ids=["held", "streamed"])
async def test_a_copy_of_the_time_and_memories_is_dropped_from_the_reply(
    tools: ToolRegistry | None,
) -> None:
    """A very small model starts by copying the message's time line and memory block back."""
    from datetime import datetime

    from rung.agent.messages import RecalledMemory
    from rung.agent.prompt import turn_message

    memory = RecalledMemory("m1", "fact", "facts", "2026-11-01", "I live in Lyon", "f1")
    sent = turn_message("Where do I live?", now=datetime(2026, 11, 25, 9), memories=[memory])
    preamble = sent.removesuffix("Where do I live?")
    model = ScriptedModel(preamble + "You live in Lyon [m1].")
    events = [e async for e in run_turn(model, [Message("user", sent)], tools)]
    assert final(events).message.content == "You live in Lyon [m1]."
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    if tools is not None:  # a reply starting like that is held until its step ends
        assert shown == "You live in Lyon [m1]."
    else:  # on the screen as it came (but for the memory block's boundary lines); the
        # history still gets the answer alone
        assert shown == unframed(preamble) + "You live in Lyon [m1]."


async def test_a_huge_tool_result_is_cut_with_a_note_saying_how_much() -> None:
    huge = "x" * 20_000_000  # 20 MB
    model = ScriptedModel(Step(tool_calls=[call("dump")]), "It was long.")
    events = await collect(model, registry(dump=lambda: huge), max_result_chars=10_000)
    [result] = [e for e in events if isinstance(e, ToolResult)]
    assert result.content.startswith("x" * 10_000) and len(result.content) < 10_500
    assert "19,990,000 of its 20,000,000 characters were left out" in result.content
    sent = unmarked(model.sent[1].messages[-1].content)
    assert sent == result.content  # what the model gets is the cut text, marked as data


# --- a real answer after the tools ------------------------------------------------------------


async def test_a_call_written_again_after_its_result_ends_in_the_results_not_json() -> None:
    again = '{"name": "add", "arguments": {"a": 1, "b": 2}}'
    model = ScriptedModel(Step(tool_calls=[call("add", a=1, b=2)]), again, again)
    events = [e async for e in run_turn(model, [Message("user", "Add 1 and 2")], registry())]
    answer = final(events).message.content
    assert "add: 3" in answer and "{" not in answer  # never the JSON as the answer
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("showing what the tools returned" in n for n in notes)
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert again not in shown
    assert model.sent[-1].tools is None  # the last ask offered no tools


async def test_a_tools_bare_name_after_its_result_gets_one_ask_for_words() -> None:
    model = ScriptedModel(Step(tool_calls=[call("add", a=1, b=2)]), "add", "It is 3.")
    events = await collect(model, registry())
    assert final(events).message.content == "It is 3."
    asked = model.sent[-1].messages[-1]
    assert asked.role == "system" and "plain words" in asked.content
    stored = [m.content for m in final(events).new_messages if m.role == "assistant"]
    assert "add" not in stored  # the non-answer is not kept in the conversation


async def test_a_correction_that_leaves_nothing_useful_ends_in_a_clear_answer() -> None:
    wrong = '{"name": "bitcoin_price", "arguments": {}}'
    model = ScriptedModel(wrong, "bitcoin_price", "bitcoin_price", "bitcoin_price")
    events = await collect(model, registry())
    answer = final(events).message.content
    assert answer.startswith("I could not answer that") and "bitcoin_price" not in answer


async def test_json_that_is_not_a_call_is_an_answer() -> None:
    asked_for = '{"sum": 3}'
    model = ScriptedModel(Step(tool_calls=[call("add", a=1, b=2)]), asked_for)
    events = await collect(model, registry())
    assert final(events).message.content == asked_for
    assert not [e for e in events if isinstance(e, Notice)]
