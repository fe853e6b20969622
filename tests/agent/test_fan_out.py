"""Fan-out: a request that lists values for one argument gets one call for each, where a
small model wrote the call (as text) for one of them."""

from __future__ import annotations

from typing import Any

from rung.agent.fan_out import fanned, lists
from rung.agent.loop import FANNED, run_turn
from rung.agent.messages import FinalAnswer, Message, Notice, ToolCall, ToolCallStarted
from rung.agent.testing import ScriptedModel, Step
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec


def items(text: str) -> list[list[str]]:
    return [[item for item, _ in found] for found in lists(text)]


def test_lists_of_like_items_are_found_as_the_user_wrote_them() -> None:
    assert items("Weather in Oslo and in Bergen right now?") == [["Oslo", "Bergen"]]
    assert items("What time is it in London and in New York?") == [["London", "New York"]]
    assert items("What are Ana's and Omar's email addresses?") == [["Ana", "Omar"]]
    assert items("Search my mail for 'visa' and for 'passport'.") == [["visa", "passport"]]
    assert items("Calendar on 2026-12-24 and on 2026-12-25?") == [["2026-12-24", "2026-12-25"]]
    assert items("Rain in Lima, Quito or Bogotá?") == [["Lima", "Quito", "Bogotá"]]
    # not one argument's values: items of different shapes, or more than a value each
    assert items("Forecast for Vienna and the current weather in Prague.") == []
    assert items("Heat the kitchen to 21 and the office to 19.") == []
    assert items("Flights from Berlin to Rome") == []


def test_a_huge_list_or_run_of_spaces_is_read_in_one_pass() -> None:
    """Hostile input: (before) a name of any number of words, and spaces that the joining
    pattern could split two ways, took minutes on a message this long."""
    [found] = items("Oslo and " * 50_000 + "Bergen")
    assert len(found) == 50_001 and found[-1] == "Bergen"
    assert items("Oslo " * 50_000) == [] and items("Oslo" + " " * 200_000 + "x") == []


def test_the_other_items_get_the_same_call_with_only_that_value_changed() -> None:
    oslo = ToolCall("rescued_1", "get_weather", {"city": "Oslo", "days": 2})
    [bergen] = fanned([oslo], "Weather in Oslo and in Bergen for two days?")
    assert bergen.name == "get_weather" and bergen.arguments == {"city": "Bergen", "days": 2}
    assert bergen.id != oslo.id and bergen.id.startswith("rescued_1")
    both = [oslo, ToolCall("rescued_2", "get_weather", {"city": "bergen"})]
    assert fanned(both, "Weather in Oslo and in Bergen?") == []  # made already
    assert fanned([oslo], "Weather in Oslo?") == []
    # a sentence's first word is capitalised anyway: no item to call for
    assert [c.arguments["city"] for c in fanned([oslo], "Yes, Oslo and Bergen.")] == ["Bergen"]
    # two arguments from lists: which pairs with which is not Rung's to guess
    pair = ToolCall("c", "convert", {"source": "USD", "target": "EUR"})
    assert fanned([pair], "convert from USD or GBP to EUR and JPY") == []


WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def weather(ran: list[str]) -> ToolRegistry:
    async def get_weather(city: str) -> str:
        ran.append(city)
        return f"Rain in {city}"

    registry = ToolRegistry()
    registry.add(FunctionTool(WEATHER, get_weather))
    return registry


async def test_the_loop_makes_a_call_for_each_value_and_says_so() -> None:
    ran: list[str] = []
    written = '{"name": "get_weather", "arguments": {"city": "Oslo"}}'
    model = ScriptedModel(written, "Rain in both.")
    asked = [Message("user", "Weather in Oslo and in Bergen right now?")]
    events = [e async for e in run_turn(model, asked, weather(ran))]
    assert ran == ["Oslo", "Bergen"]
    started = [e.call for e in events if isinstance(e, ToolCallStarted)]
    assert [c.arguments for c in started] == [{"city": "Oslo"}, {"city": "Bergen"}]
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert notes == [f'{FANNED}: get_weather {{"city":"Bergen"}}.'], notes
    # the model sees both calls as its own, and both results, before it answers
    assert [m.role for m in model.sent[-1].messages] == ["user", "assistant", "tool", "tool"]
    final = events[-1]
    assert isinstance(final, FinalAnswer) and final.message.content == "Rain in both."


async def test_a_call_the_model_made_itself_is_left_as_it_is() -> None:
    ran: list[str] = []
    made = ToolCall("c1", "get_weather", {"city": "Oslo"})
    model = ScriptedModel(Step(tool_calls=[made]), "Rain in Oslo; which else?")
    asked = [Message("user", "Weather in Oslo and in Bergen right now?")]
    events: list[Any] = [e async for e in run_turn(model, asked, weather(ran))]
    assert ran == ["Oslo"]
    assert not [e for e in events if isinstance(e, Notice)]


async def test_a_call_made_again_after_it_was_told_it_does_not_fit_is_not_multiplied(
    embedder: Any,
) -> None:
    """Made again after the correction, a far call runs (the ranking is a hint), but it is
    no reading of the request to repeat for the other items of a list (seen in the full
    run: `get_weather("Lyon")` for a football score, then Marseille too)."""
    from rung.agent.tool_cases import ALL_TOOLS
    from rung.agent.tool_check import toolset
    from rung.agent.tool_choice import ToolChooser

    lyon = '{"name": "get_weather", "arguments": {"city": "Lyon"}}'
    model = ScriptedModel(lyon, lyon, "No idea.")
    asked = [Message("user", "What's the score of the football match between Lyon and Marseille?")]
    ranker = ToolChooser(embedder).ranked
    tools = toolset(len(ALL_TOOLS), ALL_TOOLS)
    events = [e async for e in run_turn(model, asked, tools, ranker=ranker)]
    started = [e.call.arguments for e in events if isinstance(e, ToolCallStarted)]
    assert started == [{"city": "Lyon"}]
    assert not [e for e in events if isinstance(e, Notice) and e.text.startswith(FANNED)]
