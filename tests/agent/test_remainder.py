"""The rest of a request: a model that makes a call again after its result is told, once,
what of the user's message is left, in the user's words."""

from __future__ import annotations

from typing import Any

from rung.agent.loop import REPEATED_PROMPT, REST_PROMPT, RESTED, run_turn
from rung.agent.messages import FinalAnswer, Message, Notice, ToolCall, ToolCallStarted
from rung.agent.remainder import remainder
from rung.agent.testing import ScriptedModel, Step
from rung.agent.tool_text import CORRECTION_LEAD
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec


def call(tool: str, /, **arguments: Any) -> ToolCall:
    return ToolCall("c", tool, arguments)


def test_what_no_call_covers_is_left_as_the_user_wrote_it() -> None:
    timer = call("set_timer", minutes=15)
    assert remainder("Set a 15 minute timer and play some lo-fi.", [timer]) == "play some lo-fi"
    added = call("add_numbers", a=2, b=3)
    assert remainder("Add 2 and 3, and also multiply 4 by 5.", [added]) == "multiply 4 by 5"
    prague = call("get_weather", city="Prague")
    message = "Forecast for Vienna and the current weather in Prague."
    assert remainder(message, [prague]) == "Forecast for Vienna"
    office = call("set_thermostat", room="office", temperature=19)
    message = "Heat the kitchen to 21 and the office to 19."
    assert remainder(message, [office]) == "Heat the kitchen to 21"
    # a value filled in that the message holds elsewhere does not cover that part
    office = call("set_thermostat", room="office", temperature=19, mode="heat")
    assert remainder(message, [office]) == "Heat the kitchen to 21"
    # a value's first place in the message marks its part; a condition stays with its act
    sofia = call("lookup_contact", name="Sofia")
    message = "Look up Sofia's email and put 'Coffee with Sofia' in my calendar on 2027-01-08."
    assert remainder(message, [sofia]) == "put 'Coffee with Sofia' in my calendar on 2027-01-08"
    lyon = call("get_weather", city="Lyon")
    message = "Check the weather in Lyon and, if it rains, add an umbrella to the packing list."
    assert remainder(message, [lyon]) == "if it rains, add an umbrella to the packing list"
    # parts next to each other stay one; others are joined
    timer = call("set_timer", minutes=5)
    message = "What's the difference between salt and pepper and set a timer for 5"
    assert remainder(message, [timer]) == "What's the difference between salt and pepper"
    message = "Play jazz. Set a timer for 5 minutes. Then call Bob."
    assert remainder(message, [timer]) == "Play jazz; call Bob"


def test_nothing_is_left_where_the_calls_cover_it_all_or_cannot_be_placed() -> None:
    # commas alone do not cut: one request with its details
    thermostat = call("set_thermostat", room="kitchen", temperature=22, mode="heat")
    assert remainder("Heat the kitchen, 22 degrees, heating mode.", [thermostat]) == ""
    flights = call("search_flights", origin="London", destination="Tokyo")
    assert remainder("Search flights between London and Tokyo", [flights]) == ""
    product = call("multiply_numbers", a=1000, b=7.5)
    assert remainder("Multiply one thousand by 7.5.", [product]) == ""
    # what is left says nothing
    timer = call("set_timer", minutes=5)
    assert remainder("Set a timer for 5 minutes please, thanks.", [timer]) == ""
    assert remainder("Set a timer for 5 minutes and then thanks", [timer]) == ""
    # no value of the call is in the message: what it did cannot be told
    assert remainder("What's the weather where I am?", [call("get_location")]) == ""
    # a number is a whole number, not part of another (7 is not in 7.5, 5 not in 15)
    assert remainder("Multiply 7.5 by 2 and play jazz", [call("f", a=7)]) == ""
    assert remainder("Set a 15 minute timer and play jazz", [call("f", m=5)]) == ""
    assert remainder("Multiply 6 by 7.0 and play jazz", [call("f", a=6.0)]) == "play jazz"


TIMER = ToolSpec(
    "set_timer",
    "Set a timer.",
    {"type": "object", "properties": {"minutes": {"type": "integer"}}, "required": ["minutes"]},
)
MUSIC = ToolSpec(
    "play_music",
    "Play music.",
    {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
)


def tools(ran: list[str]) -> ToolRegistry:
    async def set_timer(minutes: int) -> str:
        ran.append(f"timer {minutes}")
        return f"Timer set for {minutes} minutes."

    async def play_music(query: str) -> str:
        ran.append(f"music {query}")
        return f"Playing {query}."

    registry = ToolRegistry()
    registry.add(FunctionTool(TIMER, set_timer))
    registry.add(FunctionTool(MUSIC, play_music))
    return registry


TIMER_CALL = '{"name": "set_timer", "arguments": {"minutes": 15}}'
ASKED = [Message("user", "Set a 15 minute timer and play some lo-fi.")]


async def test_a_call_made_again_gets_the_rest_of_the_request_instead_of_running() -> None:
    ran: list[str] = []
    music = '{"name": "play_music", "arguments": {"query": "lo-fi"}}'
    model = ScriptedModel(TIMER_CALL, TIMER_CALL, music, "Timer set, lo-fi playing.")
    events = [e async for e in run_turn(model, ASKED, tools(ran))]
    assert ran == ["timer 15", "music lo-fi"]
    started = [e.call.name for e in events if isinstance(e, ToolCallStarted)]
    assert started == ["set_timer", "play_music"]  # the repeat was not started
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert notes == [f'{RESTED}: "play some lo-fi".'], notes
    told = model.sent[2].messages[-1]
    assert told.role == "user" and told.content == REST_PROMPT.format(rest="play some lo-fi")
    assert told.content.startswith(CORRECTION_LEAD)  # Rung's words, not the user's
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Timer set, lo-fi playing."
    model.assert_complete()


async def test_the_rest_is_told_once_and_a_structured_repeat_is_told_too() -> None:
    ran: list[str] = []
    timer = Step(tool_calls=[ToolCall("t1", "set_timer", {"minutes": 15})])
    again = Step(tool_calls=[ToolCall("t2", "set_timer", {"minutes": 15})])
    model = ScriptedModel(timer, again, TIMER_CALL, "The timer is set.")
    events = [e async for e in run_turn(model, ASKED, tools(ran))]
    assert ran == ["timer 15"]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert notes[0] == f'{RESTED}: "play some lo-fi".'
    # the second repeat is not told the rest again: it is answered as a repeat, then words
    assert "The model repeated a call it had already made; asking it to answer." in notes
    assert model.sent[-1].messages[-1].content == REPEATED_PROMPT
    assert isinstance(events[-1], FinalAnswer)
    model.assert_complete()


async def test_nothing_is_told_when_the_calls_cover_the_request() -> None:
    ran: list[str] = []
    asked = [Message("user", "Set a 15 minute timer, please.")]
    model = ScriptedModel(TIMER_CALL, TIMER_CALL, "The timer is set.")
    events = [e async for e in run_turn(model, asked, tools(ran))]
    assert ran == ["timer 15"]
    assert not any(isinstance(e, Notice) and e.text.startswith(RESTED) for e in events)
    assert model.sent[-1].messages[-1].content == REPEATED_PROMPT
    model.assert_complete()


async def test_the_strict_loop_tells_no_rest() -> None:
    ran: list[str] = []
    timer = Step(tool_calls=[ToolCall("t1", "set_timer", {"minutes": 15})])
    again = Step(tool_calls=[ToolCall("t2", "set_timer", {"minutes": 15})])
    model = ScriptedModel(timer, again, "The timer is set.")
    events = [e async for e in run_turn(model, ASKED, tools(ran), lenient=False)]
    assert ran == ["timer 15"]
    assert not any(isinstance(e, Notice) and e.text.startswith(RESTED) for e in events)
    model.assert_complete()


def test_a_huge_message_is_cut_as_quickly_as_a_short_one() -> None:
    """Hostile input: a long run of spaces, or of parts, is read in one pass (a pattern
    that could split the spaces two ways took minutes here)."""
    timer = call("set_timer", minutes=5)
    spaced = "Set a 5 minute timer" + " " * 200_000 + "and play jazz"
    assert remainder(spaced, [timer]) == "play jazz"
    many = "set a 5 minute timer" + " and play jazz" * 20_000
    assert remainder(many, [timer]).startswith("play jazz and play jazz")
