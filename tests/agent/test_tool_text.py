"""Tool calls written as text: recognised, validated, corrected once, or left as text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from rung.agent.loop import run_turn
from rung.agent.messages import (
    FinalAnswer,
    LoopEvent,
    Message,
    Notice,
    TextDelta,
    ToolCall,
    ToolCallStarted,
    ToolResult,
)
from rung.agent.prompt import unmarked
from rung.agent.testing import ScriptedModel, Step
from rung.agent.tool_text import HoldBack, expected_shape, renamed, rescue
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
)
NOW = ToolSpec("clock_now", "The current time", {"type": "object", "properties": {}})
SPECS = [WEATHER, NOW]
CALL = '{"name": "get_weather", "arguments": {"city": "Lyon"}}'


@pytest.mark.parametrize(
    "text",
    [
        CALL,
        f"  {CALL}\n",
        f"```json\n{CALL}\n```",
        f"```\n{CALL}\n```",
        f"<tool_call>\n{CALL}\n</tool_call>",
        f"<tool_call>{CALL}",  # the closing tag cut off by a stop token
        f"Let me check the weather.\n{CALL}",
        '{"name": "get_weather", "parameters": {"city": "Lyon"}}',
        '{"type": "function", "function": '
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Lyon\\"}"}}',
        f"[{CALL}]",
    ],
)
def test_a_call_written_as_text_is_recognised(text: str) -> None:
    found = rescue(text, SPECS)
    assert found is not None and not found.correction
    [call] = found.calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Lyon"})


def test_several_calls_in_one_reply() -> None:
    text = f'[{CALL}, {{"name": "clock_now", "arguments": {{}}}}]'
    found = rescue(text, SPECS)
    assert found is not None
    assert [c.name for c in found.calls] == ["get_weather", "clock_now"]
    assert len({c.id for c in found.calls}) == 2
    tagged = f'<tool_call>{CALL}</tool_call>\n<tool_call>{{"name": "clock_now"}}</tool_call>'
    found = rescue(tagged, SPECS)
    assert found is not None and [c.name for c in found.calls] == ["get_weather", "clock_now"]


@pytest.mark.parametrize(
    "text",
    [
        "The weather is sunny in Lyon.",
        "I could use the get_weather tool to find out, if you like.",
        '{"city": "Lyon", "temperature": 21}',  # JSON, but not a call
        'Here is the config:\n```json\n{"debug": true}\n```',
        "```python\nprint('hi')\n```",
        "To call it you would send "
        + CALL
        + " but first let me explain at length why that is a useful idea in general, "
        "and then some more words about the weather tool and how it works in practice.",
        "",
    ],
)
def test_text_that_is_not_a_call_stays_text(text: str) -> None:
    assert rescue(text, SPECS) is None


def test_an_unknown_name_gets_the_closest_real_ones() -> None:
    found = rescue('{"name": "weather", "arguments": {"city": "Lyon"}}', SPECS)
    assert found is not None and found.calls == []
    assert "there is no tool named 'weather'. The closest are: get_weather." in found.correction
    shape = '{"name": "get_weather", "arguments": {"city": <string>, "days": <integer (optional)>}}'
    assert f"To call get_weather: {shape}." in found.correction  # a template to follow


def test_a_real_name_given_for_a_made_up_tool_is_the_tool_meant() -> None:
    """Told its tool does not exist (and the closest), a small model often answers with a
    bare name: that call, to the tool named, with its arguments read as `rescue` reads them."""
    found = rescue('{"name": "weather", "arguments": {"city": "Lyon"}}', SPECS)
    assert found is not None and found.unknown == {"city": "Lyon"}
    [call] = renamed("`get_weather`.", found.unknown, SPECS, step=1).calls  # type: ignore[union-attr]
    assert (call.name, call.arguments, call.id) == ("get_weather", {"city": "Lyon"}, "rescued_1_0")
    assert renamed("clock_now", {"city": "Lyon"}, SPECS).correction  # a tool that takes none
    assert renamed("It is sunny.", found.unknown, SPECS) is None  # words: not a name
    assert renamed("weather", found.unknown, SPECS) is None  # no such tool, still
    assert renamed("get_weather", None, SPECS) is None  # no call of a made-up tool before
    two = '[{"name": "weather", "arguments": {}}, {"name": "clock", "arguments": {}}]'
    assert rescue(two, SPECS).unknown is None  # type: ignore[union-attr]  # which one?


def test_a_made_up_name_on_one_real_tools_arguments_is_that_tools_call() -> None:
    """A small model names the call after the request (`remind_me`) while it copies a real
    tool's argument names: two or more, all that tool's and its required ones among them,
    and no other tool's the same — then the call is that tool's. One shared name, or
    names two tools define alike, or one the tool does not take: still a correction."""
    from rung.agent.tool_cases import ALL_TOOLS

    when = {"date": "2026-12-09", "time": "08:30"}
    reply = json.dumps({"name": "remind_me", "arguments": {"text": "water", "when": when}})
    found = rescue(reply, ALL_TOOLS)
    assert found is not None and not found.correction
    [call] = found.calls
    assert (call.name, call.arguments) == ("create_reminder", {"text": "water", "when": when})
    assert found.meant == ("remind_me → create_reminder",)

    def corrected(arguments: dict[str, Any]) -> bool:
        found = rescue(json.dumps({"name": "made_up", "arguments": arguments}), ALL_TOOLS)
        return found is not None and bool(found.correction) and not found.calls

    assert corrected({"city": "Lyon"})  # one name: get_weather or get_forecast?
    assert corrected({"a": 2, "b": 3})  # add_numbers and multiply_numbers take both
    assert corrected({"text": "water", "when": when, "mood": "calm"})  # mood: no one's
    assert corrected({"origin": "Oslo", "destination": "Rome"})  # date required, missing
    assert rescue(reply, SPECS).correction  # type: ignore[union-attr]  # no such tool offered


async def test_the_loop_runs_a_made_up_names_call_as_its_arguments_owner_and_says_so() -> None:
    from rung.agent.loop import MEANT

    when = {"date": "2026-12-09", "time": "08:30"}
    arguments = {"text": "water the plants", "when": when}
    reply = json.dumps({"name": "remind_me", "arguments": arguments})
    model = ScriptedModel(reply, "Done.")
    events = await _turn(model, "Remind me to water the plants on 2026-12-09 at 08:30.", None)
    assert [e.call.name for e in events if isinstance(e, ToolCallStarted)] == ["create_reminder"]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert f"{MEANT} (remind_me → create_reminder)." in notes


async def test_the_loop_runs_the_tool_a_model_names_after_a_made_up_one() -> None:
    ran: list[dict[str, Any]] = []
    model = ScriptedModel(
        '{"name": "weather", "arguments": {"city": "Lyon"}}', "get_weather", "Sunny."
    )
    events = await events_of(model, weather_tools(ran))
    model.assert_complete()
    assert ran == [{"city": "Lyon", "days": 1}]
    assert "get_weather" not in "".join(e.text for e in events if isinstance(e, TextDelta))
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Sunny."

    # only the reply to the correction is read so: a bare name later is no answer
    made_up = '{"name": "weather", "arguments": {"city": "Lyon"}}'
    model = ScriptedModel(made_up, CALL, "get_weather", "Sunny in Lyon.")
    events = await events_of(model, weather_tools(ran := []))
    model.assert_complete()
    assert ran == [{"city": "Lyon", "days": 1}]
    assert not [e for e in events if isinstance(e, Notice) and "repeated" in e.text]
    assert events[-1].message.content == "Sunny in Lyon."  # type: ignore[union-attr]

    # a bare name with no made-up call before it is still no answer
    model = ScriptedModel(CALL, "get_weather", "Sunny in Lyon.")
    events = await events_of(model, weather_tools(ran := []))
    assert ran == [{"city": "Lyon", "days": 1}]  # once: the name is not read as a call
    assert events[-1].message.content == "Sunny in Lyon."  # type: ignore[union-attr]


def test_bad_arguments_get_the_expected_shape_and_nothing_runs() -> None:
    text = f'[{CALL}, {{"name": "get_weather", "arguments": {{"town": "Lyon", "zip": 69}}}}]'
    found = rescue(text, SPECS)
    assert found is not None and found.calls == []  # the valid one does not run alone
    said = "bad arguments for get_weather: town, zip: not arguments of this tool"
    assert said in found.correction
    assert "arguments: 'city' is a required property" in found.correction
    assert 'Expected: {"name": "get_weather", "arguments": {"city": <string>, ' in found.correction
    assert expected_shape(WEATHER) == (
        '{"name": "get_weather", "arguments": {"city": <string>, "days": <integer (optional)>}}'
    )


def test_hold_back_keeps_a_call_off_the_screen_and_lets_prose_through() -> None:
    hold = HoldBack()
    assert [hold.feed(t) for t in ["{", '"name"', ": 1}"]] == ["", "", ""]
    assert hold.release() == '{"name": 1}'
    prose = HoldBack()
    assert prose.feed(" ") == ""
    assert prose.feed("Sure") == " Sure"
    assert prose.feed(", here") == ", here"
    code = HoldBack()
    assert code.feed("``") == ""
    assert code.feed("`python\n") == "```python\n"  # a code answer streams on


# --- in the loop (ScriptedModel is a test double for the model) ---------------------------


def weather_tools(log: list[dict[str, Any]]) -> ToolRegistry:
    async def get_weather(city: str, days: int = 1) -> str:
        log.append({"city": city, "days": days})
        return f"Sunny in {city}"

    registry = ToolRegistry()
    registry.add(FunctionTool(WEATHER, get_weather))
    return registry


async def events_of(model: ScriptedModel, tools: ToolRegistry, **kw: Any) -> list[LoopEvent]:
    return [e async for e in run_turn(model, [Message("user", "weather in Lyon?")], tools, **kw)]


async def test_the_loop_runs_a_call_written_as_text_and_never_shows_it() -> None:
    ran: list[dict[str, Any]] = []
    model = ScriptedModel(Step(text=f"```json\n{CALL}\n```"), "It is sunny in Lyon.")
    events = await events_of(model, weather_tools(ran))
    assert ran == [{"city": "Lyon", "days": 1}]
    shown = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert shown == "It is sunny in Lyon."
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assistant = final.new_messages[0]
    assert assistant.tool_calls[0].name == "get_weather" and assistant.content == ""
    # the model sees its call as a real one, with the result, in the next step
    assert model.sent[1].messages[-1].role == "tool"
    assert unmarked(model.sent[1].messages[-1].content) == "Sunny in Lyon"


async def test_a_wrong_call_is_corrected_once_then_run() -> None:
    ran: list[dict[str, Any]] = []
    model = ScriptedModel(
        '{"name": "get_weather", "arguments": {"town": "Lyon", "zip": 69}}',
        CALL,
        "Sunny.",
    )
    events = await events_of(model, weather_tools(ran))
    assert ran == [{"city": "Lyon", "days": 1}]
    correction = model.sent[1].messages[-1]
    assert correction.role == "user" and correction.content.startswith("Your tool call was not run")
    assert any(isinstance(e, Notice) for e in events)
    assert next(e for e in events if isinstance(e, ToolResult)).content == "Sunny in Lyon"


async def test_after_one_correction_a_wrong_call_again_is_never_the_answer() -> None:
    wrong = '{"name": "weather_now", "arguments": {}}'
    model = ScriptedModel(wrong, wrong, "I cannot look up the weather right now.")
    events = await events_of(model, weather_tools([]))
    final = events[-1]
    assert isinstance(final, FinalAnswer)
    assert final.message.content == "I cannot look up the weather right now."
    assert wrong not in "".join(e.text for e in events if isinstance(e, TextDelta))
    model.assert_complete()

    model = ScriptedModel(wrong, wrong, wrong, wrong)  # and if words never come
    events = await events_of(model, weather_tools([]))
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content.startswith("I could not")
    model.assert_complete()


async def test_a_turn_where_no_tool_ran_and_no_words_came_asks_once_afresh() -> None:
    """A small model that keeps writing calls no one can run, even told to answer in words,
    is primed by its own attempts: the user's message is asked once more with no tools and
    without them, and that reply is the answer."""
    from rung.agent.loop import AFRESH, NO_TOOL_PROMPT

    wrong = '{"name": "weather_now", "arguments": {}}'
    model = ScriptedModel(wrong, wrong, wrong, "Mercury.")
    events = await events_of(model, weather_tools([]))
    model.assert_complete()
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Mercury."
    assert "Mercury." in "".join(e.text for e in events if isinstance(e, TextDelta))
    assert AFRESH in [e.text for e in events if isinstance(e, Notice)]
    again = model.sent[-1]
    assert again.tools is None
    assert [m.content for m in again.messages] == ["weather in Lyon?", NO_TOOL_PROMPT]


async def test_lenient_off_leaves_the_text_as_the_answer() -> None:
    model = ScriptedModel(CALL)
    events = await events_of(model, weather_tools([]), lenient=False)
    assert isinstance(events[-1], FinalAnswer) and events[-1].message.content == CALL


async def test_without_tools_nothing_is_rescued() -> None:
    model = ScriptedModel(CALL)
    events = [e async for e in run_turn(model, [Message("user", "hi")], None)]
    assert json.loads(events[-1].message.content)["name"] == "get_weather"  # type: ignore[union-attr]


# --- end to end: the real CLI, the real clock server, the Ollama-protocol test server ------


def test_rung_ask_runs_a_call_the_model_wrote_as_plain_content(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    # A real Ollama returns a bare JSON object from Qwen 0.5B as content, not tool_calls.
    ollama_server.script(
        Reply(
            text='```json\n{"name": "days_between", "arguments": '
            '{"start": "2026-01-01", "end": "2026-03-01"}}\n```'
        ),
        Reply(text="59 days."),
    )
    result = rung("ask", "--json", "How many days from Jan 1 to Mar 1 2026?")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    [call] = data["tool_calls"]
    assert (call["name"], call["server"], call["is_error"]) == ("days_between", "clock", False)
    assert "59 days" in call["result"]
    assert data["answer"] == "59 days."
    sent = ollama_server.chat_requests[1]["messages"]
    assert sent[-2]["tool_calls"][0]["function"]["name"] == "days_between"
    assert sent[-1]["role"] == "tool"


# --- restraint: a call written as text runs only when the turn asks for it ----------------------


def test_arguments_no_one_gave_are_told_apart_from_the_users() -> None:
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import ungrounded

    asked = [
        Message("system", "Lakers London tools everything"),
        Message("user", "Who won the game?"),
    ]
    stock = ToolCall("c", "get_stock_data", {"company_name": "Lakers"})
    assert ungrounded(stock, asked) == ["company_name='Lakers'"]  # the system prompt is not said
    said = [Message("user", "Send the meeting notes to Ana in Berlin, 2027-01-05, 10 km")]
    fine = ToolCall(
        "c",
        "send",
        {"to": "ana", "subject": "Meetings", "when": {"date": "2027-01-05"}, "units": "km"},
    )
    assert ungrounded(fine, said) == []  # a word said (or its stem), or nothing to check
    mixed = ToolCall("c", "get_weather", {"city": "London", "days": 10})
    assert ungrounded(mixed, said) == ["city='London'"]


async def test_a_made_up_call_written_as_text_does_not_run_and_the_model_answers() -> None:
    ran: list[dict[str, Any]] = []
    made_up = '{"name": "get_weather", "arguments": {"city": "London"}}'
    model = ScriptedModel(made_up, "Which city do you mean?")
    events = [
        e
        async for e in run_turn(
            model, [Message("user", "What's the weather like?")], weather_tools(ran)
        )
    ]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Which city do you mean?"
    assert ran == [] and not [e for e in events if isinstance(e, ToolCallStarted)]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("arguments no one gave (city='London')" in n for n in notes), notes
    told = model.sent[-1].messages[-1]  # told once, tools still offered: one may find it
    assert told.role == "user" and "nothing said so far gives city='London'" in told.content
    model.assert_complete()

    model = ScriptedModel(made_up, made_up, "Which city do you mean?")  # and if it insists
    events = [
        e
        async for e in run_turn(
            model, [Message("user", "What's the weather like?")], weather_tools(ran)
        )
    ]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Which city do you mean?"
    assert ran == [] and model.sent[-1].tools is None  # the last ask offered no tools
    model.assert_complete()


async def test_a_reply_that_parrots_a_correction_is_not_the_answer() -> None:
    """A small model told its call was not run may answer with that very text: it is not
    shown as the answer; the model is asked once more, without tools, then Rung says so."""
    ran: list[dict[str, Any]] = []
    made_up = '{"name": "get_weather", "arguments": {"city": "London"}}'
    parrot = (
        "The tool call was not run: nothing said so far gives city='London'. If no tool is "
        "needed, answer in plain words."
    )
    asked = [Message("user", "What's the weather like?")]
    model = ScriptedModel(made_up, parrot, "Which city do you mean?")
    events = [e async for e in run_turn(model, asked, weather_tools(ran))]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Which city do you mean?"
    assert model.sent[-1].tools is None and ran == []
    assert parrot not in "".join(e.text for e in events if isinstance(e, TextDelta))

    model = ScriptedModel(made_up, parrot, parrot, parrot)
    events = [e async for e in run_turn(model, asked, weather_tools(ran))]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content.startswith("I could not answer")
    assert parrot not in "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_a_reply_that_parrots_rungs_repeated_call_note_is_not_the_answer() -> None:
    """Told its call was made already, a small model may answer with that note itself
    (seen by hand with Qwen 0.5B): the answer is then what the tools returned."""
    weather = ToolCall("a", "get_weather", {"city": "Lyon"})
    parrot = (
        "error: you already called get_weather with exactly these arguments in this turn; "
        "its result is above. Use it, try different arguments, or answer."
    )
    model = ScriptedModel(Step(tool_calls=[weather]), Step(tool_calls=[weather]), parrot)
    events = await events_of(model, weather_tools(ran := []))
    model.assert_complete()
    assert ran == [{"city": "Lyon", "days": 1}]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and "Sunny in Lyon" in final.message.content
    assert not final.message.content.startswith("error:")
    assert "already called" not in final.message.content  # Rung's own note is no result
    assert parrot not in "".join(e.text for e in events if isinstance(e, TextDelta))


def test_an_address_is_grounded_only_by_itself() -> None:
    """An email address made from a name is a guess (a tool can look it up); one said or
    returned by a tool is not; a web address needs its host said."""
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import ungrounded

    asked = [Message("user", "Email Priya to say the report is ready.")]
    mail = ToolCall("c", "send_email", {"to": "priya@example.com", "body": "The report is ready"})
    assert ungrounded(mail, asked) == ["to='priya@example.com'"]
    found = Message("tool", "Priya Raman: Priya@Example.com, +44 20 7946 0000")
    assert ungrounded(mail, [*asked, found]) == []
    assert ungrounded(mail, [Message("user", "Write to priya@example.com: report ready")]) == []
    page = ToolCall("c", "fetch", {"url": "https://www.example.org/news?id=3"})
    assert ungrounded(page, [Message("user", "What's new on example.org?")]) == []
    assert ungrounded(page, [Message("user", "What's new in the news?")]) == [
        "url='https://www.example.org/news?id=3'"
    ]


def test_a_value_the_tool_lists_is_a_choice_not_a_guess() -> None:
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import ungrounded

    schema = {
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "cabin": {"type": "string", "enum": ["economy", "business", "first"]},
        },
    }
    flight = ToolCall("c", "search_flights", {"origin": "Madrid", "cabin": "Economy"})
    asked = [Message("user", "Flights from Madrid, three passengers.")]
    assert ungrounded(flight, asked, schema) == []
    assert ungrounded(flight, asked) == ["cabin='Economy'"]  # without the schema: a guess
    # the tool's own default is a value it offers too (`timezone="local"` written out)
    zone = {"type": "object", "properties": {"timezone": {"type": "string", "default": "local"}}}
    date = ToolCall("d", "get_date", {"timezone": "Local"})
    assert ungrounded(date, [Message("user", "What's the date?")], zone) == []


async def test_made_up_calls_beside_given_ones_are_dropped_in_every_step() -> None:
    """Calls one a line: those someone gave run, the made-up ones beside them do not —
    in the first step, and after the results (where small models add a few)."""
    ran: list[dict[str, Any]] = []
    paris = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    london = '{"name": "get_weather", "arguments": {"city": "London"}}'
    rome = '{"name": "get_weather", "arguments": {"city": "Rome"}}'
    oslo = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    model = ScriptedModel(f"{paris}\n{london}", f"{rome}\n{oslo}", "Sunny in both.")
    asked = [Message("user", "Weather in Paris, then in Rome?")]
    events = [e async for e in run_turn(model, asked, weather_tools(ran))]
    assert [c["city"] for c in ran] == ["Paris", "Rome"]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("(city='London'); not run" in n for n in notes), notes
    assert any("(city='Oslo'); not run" in n for n in notes), notes
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Sunny in both."


def test_a_number_is_grounded_by_a_number_said_in_any_form() -> None:
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import ungrounded

    add = ToolCall("c", "add_numbers", {"a": 1, "b": 2})
    assert ungrounded(add, [Message("user", "Is a tomato a fruit?")]) == ["a=1", "b=2"]
    assert ungrounded(add, [Message("user", "Add one and two")]) == []
    timer = ToolCall("c", "set_timer", {"minutes": 90})
    assert ungrounded(timer, [Message("user", "A timer for an hour and a half")]) == []
    assert ungrounded(timer, [Message("user", "Timer: 90")]) == []


def test_a_date_is_grounded_when_it_was_said_or_a_time_was_spoken_of() -> None:
    """`list_tasks(due_by="2023-10-01")` for "Is a tomato a fruit?": a date no one spoke of
    is made up. Said as it is, or worked out from words of a time ("tomorrow", "Friday",
    "in 3 days"), it is grounded; the time line Rung writes before a message is no one's
    words, but a date it shows is said."""
    from rung.agent.messages import ToolCall
    from rung.agent.prompt import turn_message
    from rung.agent.restraint import ungrounded

    def made_up(arguments: dict[str, Any], *said: str) -> list[str]:
        heard = [Message("user", text) for text in said]
        return ungrounded(ToolCall("c", "list_tasks", arguments), heard)

    assert made_up({"due_by": "2023-10-01"}, "Is a tomato a fruit?") == ["due_by='2023-10-01'"]
    assert made_up({"at": "18:30"}, "Remind me to stretch") == ["at='18:30'"]
    assert made_up({"due_by": "2027-01-10"}, "Tasks due by 2027-01-10?") == []
    for said in ("Tasks due tomorrow?", "Anything due on Friday?", "Due in 3 days?"):
        assert made_up({"due_by": "2026-12-09T00:00:00"}, said) == [], said
    assert made_up({"at": "6:00 pm"}, "Remind me at six in the evening") == []
    now = datetime(2026, 12, 6, 11, 34, tzinfo=UTC)
    asked = turn_message("Is a tomato a fruit?", now=now)
    assert made_up({"due_by": "2023-10-01"}, asked) == ["due_by='2023-10-01'"]
    assert made_up({"due_by": "2026-12-06"}, asked) == []  # today's, as the time line shows it
    assert made_up({"a": "2023-10-01"}, "Is a tomato a fruit?", "Due: 2027-01-10") == []


def test_a_number_in_digits_is_grounded_by_itself_or_in_another_unit() -> None:
    """A reflex call's second number is made up (`add_numbers(a=250, b=100)` for "250 euros
    in dollars", `add_numbers(42, 0)` for "42 km in miles"): a number said in digits
    grounds itself, and itself in another unit (hours in minutes, a percentage as a
    fraction, "1,500" and "26.2" read whole); numbers in words are not read, so any
    number word said grounds any number."""
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import ungrounded

    def made_up(arguments: dict[str, Any], said: str) -> list[str]:
        return ungrounded(ToolCall("c", "tool", arguments), [Message("user", said)])

    assert made_up({"a": 250, "b": 100}, "How much is 250 euros in US dollars?") == ["b=100"]
    assert made_up({"a": 42, "b": 0}, "How many miles is 42 km?") == ["b=0"]
    assert made_up({"minutes": 150}, "Set a timer for 2.5 hours") == []
    assert made_up({"rate": 0.05, "years": 36}, "5% a year, for 3 years") == []  # in months
    assert made_up({"amount": 1500}, "Convert 1,500 euros") == []
    assert made_up({"items": [1, 2, 3]}, "Sum 1,2,3") == []
    assert made_up({"value": 2.5}, "Halve 2,5 kg") == []  # a decimal comma
    assert made_up({"value": 26.2}, "How far are 26.2 miles?") == []
    assert made_up({"value": -5}, "Set it to 5 below zero") == []
    assert made_up({"a": 320, "b": 45}, "Add three hundred and twenty to 45") == []
    result = Message("tool", "2 events: 10:00 Dentist; 15:00 Call", tool_name="list_events")
    later = ToolCall("c", "create_reminder", {"hour": 9})
    assert ungrounded(later, [Message("user", "Remind me an hour before"), result]) == []
    assert ungrounded(later, [Message("user", "Remind me before it"), result]) == ["hour=9"]


async def test_restraint_holds_in_each_turn_not_only_the_first() -> None:
    """A tool that ran in an earlier turn does not let a later turn's made-up call run."""
    ran: list[dict[str, Any]] = []
    earlier = [
        Message("user", "Weather in Lyon?"),
        Message("assistant", "", tool_calls=[]),
        Message("tool", "Rain", tool_name="get_weather", tool_call_id="c0"),
        Message("assistant", "It rains in Lyon."),
        Message("user", "Who won the game last night?"),
    ]
    made_up = '{"name": "get_weather", "arguments": {"city": "Boston"}}'
    model = ScriptedModel(made_up, "I don't know that one.")
    events = [e async for e in run_turn(model, earlier, weather_tools(ran))]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "I don't know that one."
    assert ran == []


def test_calls_one_a_line_are_read_once_each_and_a_cut_off_one_left() -> None:
    rome = '{"name": "get_weather", "arguments": {"city": "Rome"}}'
    paris = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    text = f'{rome}\n{paris}\n{rome}\n{{"name": "get_weather", "argu'  # cut at the token cap
    found = rescue(text, SPECS)
    assert found is not None and not found.correction
    assert [c.arguments["city"] for c in found.calls] == ["Rome", "Paris"]


async def test_a_call_already_made_this_turn_is_not_read_again_from_text() -> None:
    ran: list[dict[str, Any]] = []
    paris = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    rome = '{"name": "get_weather", "arguments": {"city": "Rome"}}'
    model = ScriptedModel(paris, f"{rome}\n{paris}", "Rain in both.")
    asked = [Message("user", "Weather in Paris, then in Rome?")]
    events = [e async for e in run_turn(model, asked, weather_tools(ran))]
    assert [c["city"] for c in ran] == ["Paris", "Rome"]
    assert not [e for e in events if isinstance(e, ToolResult) and e.is_error]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Rain in both."


def test_a_tool_far_from_the_request_is_told_apart_and_a_pinned_one_always_fits() -> None:
    from rung.agent.messages import ToolCall
    from rung.agent.restraint import strays

    def spec(name: str, description: str) -> ToolSpec:
        return ToolSpec(name, description, {"type": "object", "properties": {}})

    ranked = [
        spec("set_thermostat", "Set a room's heating or cooling."),
        spec("convert_units", "Convert a measurement between units."),
        spec("get_weather", "The current weather in a city."),
        spec("add_numbers", "Add two numbers exactly."),
        spec("lookup_contact", "A contact's email address and phone number, by name."),
    ]
    asked = "Make the bedroom nineteen degrees, then email Ana."
    add = ToolCall("c", "add_numbers", {"a": 19, "b": 19})
    heat = ToolCall("c", "set_thermostat", {"room": "bedroom", "temperature": 19})
    assert strays([add, heat, add], ranked, asked) == ["add_numbers"]
    assert strays([heat], ranked, asked) == []
    assert strays([ToolCall("c", "lookup_contact", {})], ranked, asked) == []  # "email" said
    assert strays([ToolCall("c", "clock_now", {})], ranked, asked) == []  # pinned: not ranked
    where = spec("get_location", "Where the user is now (city, country).")
    here = ToolCall("c", "get_location", {})
    assert strays([here], [*ranked, where], "What's the weather where I am?") == []  # asked
    assert strays([here], [*ranked, where], "Which planet is closest to the sun?") == [
        "get_location"
    ]


async def test_a_call_to_a_tool_far_from_the_request_gets_one_correction(
    embedder: Any,
) -> None:
    """With the tool chooser's ranking (the real embedding model), a reflex call written as
    text — add_numbers for a thermostat — is not run; the model is told it does not fit,
    and its call to one that does runs."""
    from rung.agent.tool_cases import ALL_TOOLS
    from rung.agent.tool_check import toolset
    from rung.agent.tool_choice import ToolChooser

    chooser = ToolChooser(embedder)
    reflex = '{"name": "add_numbers", "arguments": {"a": 19, "b": 19}}'
    right = '{"name": "set_thermostat", "arguments": {"room": "bedroom", "temperature": 19}}'
    asked = [Message("user", "Make the bedroom nineteen degrees.")]

    async def started(*replies: str, ranker: Any) -> tuple[list[str], list[str], ScriptedModel]:
        model = ScriptedModel(*replies, "Done.")
        events = [
            e
            async for e in run_turn(model, asked, toolset(len(ALL_TOOLS), ALL_TOOLS), ranker=ranker)
        ]
        model.assert_complete()
        names = [e.call.name for e in events if isinstance(e, ToolCallStarted)]
        return names, [e.text for e in events if isinstance(e, Notice)], model

    names, notes, model = await started(reflex, right, ranker=chooser.ranked)
    assert names == ["set_thermostat"]
    assert any("does not fit what was asked (add_numbers)" in n for n in notes), notes
    told = model.sent[1].messages[-1]
    assert told.role == "user" and "add_numbers does not fit" in told.content
    assert "set_thermostat" not in told.content  # named, a tool would be an invitation
    assert model.sent[1].tools  # tools still offered: the model chooses

    names, _, _ = await started(reflex, reflex, ranker=chooser.ranked)  # a hint, not a rule
    assert names == ["add_numbers"]
    names, _, _ = await started(reflex, ranker=None)  # without a ranking: runs as before
    assert names == ["add_numbers"]


async def test_after_the_results_a_call_to_a_tool_that_does_not_fit_is_not_run(
    embedder: Any,
) -> None:
    """Given results, a small model writes a few calls one a line, to whatever tools they
    bring to mind: the ones that fit the request run, the others do not (no correction)."""
    from rung.agent.loop import STRAYED_BARE
    from rung.agent.tool_cases import ALL_TOOLS
    from rung.agent.tool_check import toolset
    from rung.agent.tool_choice import ToolChooser

    chooser = ToolChooser(embedder)
    lookup = '{"name": "lookup_contact", "arguments": {"name": "Sofia"}}'
    more = (
        '{"name": "create_event", "arguments": {"title": "Coffee with Sofia", '
        '"date": "2027-01-08"}}\n{"name": "play_music", "arguments": {"query": "Coffee"}}'
    )
    asked = "Look up Sofia's email and put 'Coffee with Sofia' in my calendar on 2027-01-08."
    model = ScriptedModel(lookup, more, "Done: coffee with Sofia is in your calendar.")
    tools = toolset(len(ALL_TOOLS), ALL_TOOLS)
    user = [Message("user", asked)]
    events = [e async for e in run_turn(model, user, tools, ranker=chooser.ranked)]
    model.assert_complete()
    names = [e.call.name for e in events if isinstance(e, ToolCallStarted)]
    assert names == ["lookup_contact", "create_event"]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert f"{STRAYED_BARE} (play_music)." in notes, notes
    assert not any("asked it to choose again" in n for n in notes)
    # before any result, the same far call gets its one correction instead
    model = ScriptedModel(more.split("\n")[1], lookup, more, "Done.")
    events = [e async for e in run_turn(model, user, tools, ranker=chooser.ranked)]
    model.assert_complete()
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("does not fit what was asked (play_music)" in n for n in notes), notes


async def test_a_far_tool_reached_for_after_a_made_up_one_is_corrected_and_not_run_bare(
    embedder: Any,
) -> None:
    """Told its made-up tool does not exist, a small model reaches for a real one that has
    nothing to do with the question: that call is corrected too, and made again with no
    arguments (nothing in it ties it to what was asked) it does not run; the model is asked
    to answer in words, without tools."""
    from rung.agent.loop import NO_TOOL_PROMPT, STRAYED_BARE
    from rung.agent.tool_cases import ALL_TOOLS
    from rung.agent.tool_check import toolset
    from rung.agent.tool_choice import ToolChooser

    chooser = ToolChooser(embedder)
    made_up = '{"name": "get_planet", "arguments": {"planet": "mercury"}}'
    reflex = '{"name": "get_location", "arguments": {}}'
    asked = [Message("user", "Which planet is closest to the sun?")]
    model = ScriptedModel(made_up, reflex, reflex, "Mercury.")
    tools = toolset(len(ALL_TOOLS), ALL_TOOLS)
    events = [e async for e in run_turn(model, asked, tools, ranker=chooser.ranked)]
    model.assert_complete()
    assert not [e for e in events if isinstance(e, ToolCallStarted)]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("does not fit what was asked (get_location)" in n for n in notes), notes
    assert f"{STRAYED_BARE} (get_location)." in notes
    last = model.sent[-1]
    assert last.tools is None and last.messages[-1].content == NO_TOOL_PROMPT
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Mercury."

    # where the question asks for a place ("where"), the same call fits and runs at once
    model = ScriptedModel(made_up, reflex, "It rains in Lyon.")
    where = [Message("user", "What's the weather where I am?")]
    events = [e async for e in run_turn(model, where, tools, ranker=chooser.ranked, max_steps=2)]
    model.assert_complete()
    assert [e.call.name for e in events if isinstance(e, ToolCallStarted)] == ["get_location"]
    assert not [e for e in events if isinstance(e, Notice) and "does not fit" in e.text]


async def _turn(model: ScriptedModel, asked: str, ranker: Any, **options: Any) -> list[LoopEvent]:
    from rung.agent.tool_cases import ALL_TOOLS
    from rung.agent.tool_check import toolset

    tools = toolset(len(ALL_TOOLS), ALL_TOOLS)
    history = [Message("user", asked)]
    events = [e async for e in run_turn(model, history, tools, ranker=ranker, **options)]
    model.assert_complete()
    return events


async def test_a_made_up_optional_value_is_left_out_and_the_call_runs(embedder: Any) -> None:
    """A small model fills an optional argument by reflex (`timezone="UTC"` for "what's
    today's date?"): the value is left out, with a notice, and the call runs with the tool's
    own default; a value the user gave stays, and so do required ones that were given."""
    from rung.agent.loop import FILLED
    from rung.agent.tool_choice import ToolChooser

    ranker = ToolChooser(embedder).ranked
    date = '{"name": "get_date", "arguments": {"timezone": "UTC"}}'
    events = await _turn(ScriptedModel(date, "Sunday."), "What's today's date?", ranker)
    [started] = [e.call for e in events if isinstance(e, ToolCallStarted)]
    assert (started.name, started.arguments) == ("get_date", {})
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any(n.startswith(f"{FILLED} (timezone='UTC')") for n in notes), notes
    assert not any("not run" in n or "asked it" in n for n in notes), notes

    news = '{"name": "get_news", "arguments": {"topic": "electric cars", "count": 5}}'
    events = await _turn(ScriptedModel(news, "Here."), "Any news about electric cars?", ranker)
    [started] = [e.call for e in events if isinstance(e, ToolCallStarted)]
    assert started.arguments == {"topic": "electric cars"}  # 5: no number was said

    tokyo = '{"name": "get_date", "arguments": {"timezone": "Asia/Tokyo"}}'
    events = await _turn(ScriptedModel(tokyo, "Monday."), "What's the date in Tokyo?", ranker)
    [started] = [e.call for e in events if isinstance(e, ToolCallStarted)]
    assert started.arguments == {"timezone": "Asia/Tokyo"}
    assert not [e for e in events if isinstance(e, Notice)]


async def test_a_call_left_bare_runs_only_if_its_tool_fits_at_once(embedder: Any) -> None:
    """Left with no arguments once its made-up optional ones are out, a call has nothing
    tying it to the request but its tool: for a question no tool answers it is not run —
    no correction, no second chance — and the model is asked to answer in words; after
    tools ran, the same holds for a bare call added beside the answer."""
    from rung.agent.loop import NO_TOOL_PROMPT, STRAYED_BARE, WORDS_PROMPT
    from rung.agent.tool_choice import ToolChooser

    ranker = ToolChooser(embedder).ranked
    date = '{"name": "get_date", "arguments": {"timezone": "UTC"}}'
    model = ScriptedModel(date, "Mercury.")
    events = await _turn(model, "Which planet is closest to the sun?", ranker)
    assert not [e for e in events if isinstance(e, ToolCallStarted)]
    assert f"{STRAYED_BARE} (get_date)." in [e.text for e in events if isinstance(e, Notice)]
    assert model.sent[-1].tools is None and model.sent[-1].messages[-1].content == NO_TOOL_PROMPT
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Mercury."
    local = '{"name": "get_date", "arguments": {"timezone": "local"}}'  # the default, written
    events = await _turn(ScriptedModel(local, "Mercury."), "Which planet is nearest?", ranker)
    assert not [e for e in events if isinstance(e, ToolCallStarted)]
    events = await _turn(ScriptedModel(local, "Sunday."), "What's today's date?", ranker)
    [started] = [e.call for e in events if isinstance(e, ToolCallStarted)]
    assert (started.name, started.arguments) == ("get_date", {})
    assert not [e for e in events if isinstance(e, Notice)]  # nothing made up

    news = '{"name": "get_news", "arguments": {"topic": "electric cars"}}'
    model = ScriptedModel(news, date, "Two stories.")
    events = await _turn(model, "Any news about electric cars?", ranker)
    assert [e.call.name for e in events if isinstance(e, ToolCallStarted)] == ["get_news"]
    assert model.sent[-1].messages[-1].content == WORDS_PROMPT

    # a made-up date is one more optional value left out (found in the full run)
    tasks = '{"name": "list_tasks", "arguments": {"due_by": "2023-10-01"}}'
    model = ScriptedModel(tasks, "A fruit.")
    events = await _turn(model, "Is a tomato a fruit or a vegetable?", ranker)
    assert not [e for e in events if isinstance(e, ToolCallStarted)]
    assert f"{STRAYED_BARE} (list_tasks)." in [e.text for e in events if isinstance(e, Notice)]

    # without a ranking, a bare call fits by a word it shares with the request
    events = await _turn(ScriptedModel(date, "Sunday."), "What's today's date?", None)
    assert [e.call.name for e in events if isinstance(e, ToolCallStarted)] == ["get_date"]
    model = ScriptedModel(date, "Mercury.")
    events = await _turn(model, "Which planet is closest to the sun?", None)
    assert not [e for e in events if isinstance(e, ToolCallStarted)]


def test_an_id_must_have_been_said_whole_and_rungs_framing_is_not_said() -> None:
    """A small model copies the token of the boundary Rung puts around a tool's result as
    a value (`convert_time(time="7b03ca064b0c1c4c")`, seen by hand): an id of letters and
    digits mixed is grounded only where someone said it whole, and the framing is no one's
    words; ids inside results, dates and short codes stay as they were."""
    from rung.agent.messages import ToolCall
    from rung.agent.prompt import untrusted
    from rung.agent.restraint import ungrounded

    result = untrusted("now", "Sunday, 6 December 2026, 09:28:24; ticket 9f8e7d6c5b4a")
    [token] = re.findall(r"\[end ([0-9a-f]{16})\]", result)
    said = [Message("user", "What time is it now?"), Message("tool", result, tool_name="now")]

    def made_up(value: str) -> bool:
        return bool(ungrounded(ToolCall("c", "convert_time", {"time": value}), said))

    assert made_up(token)  # Rung's framing
    assert made_up("a1b2c3d4e5f6")  # an id no one gave
    assert not made_up("9F8E7D6C5B4A")  # the result's own, in any case
    assert not made_up("2026-12-06T09:28:24")  # a date: its parts are short
    assert not made_up("X7-B2")  # a short code
