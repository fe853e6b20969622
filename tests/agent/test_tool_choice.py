"""Fewer tools per turn: the real embedding model picks the tools that fit the message."""

from __future__ import annotations

from typing import Any

from rung.agent.conversation import Conversation
from rung.agent.messages import Message, ToolResult
from rung.agent.testing import ScriptedModel, Step, call
from rung.agent.tool_choice import ToolChooser, context_of
from rung.memory.embedder import Embedder
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec

AREAS = {
    "weather_forecast": "The weather forecast for a city for the next days: rain, sun, wind.",
    "calendar_create_event": "Create an event in the user's calendar at a date and time.",
    "email_send": "Send an email to a contact with a subject and a body.",
    "lights_set": "Turn the lights in a room of the house on or off, or dim them.",
    "convert_currency": "Convert an amount of money from one currency to another.",
    "recipe_search": "Find cooking recipes by ingredient or dish name.",
    "package_track": "Track a parcel delivery by its tracking number.",
    "music_play": "Play a song, an album or a playlist on the speakers.",
}
FILLER = [
    (f"{area}_{n}", f"{text} Variant {n} for {area.replace('_', ' ')} power users.")
    for area, text in [
        ("git", "Show the git history of a repository and its commits."),
        ("disk", "Report free disk space on the machine's drives."),
        ("news", "Headlines from news sites on a topic."),
        ("timer", "Start a countdown timer for some minutes."),
    ]
    for n in range(8)
]


def registry(log: list[str]) -> ToolRegistry:
    tools = ToolRegistry()
    for name, description in [*AREAS.items(), *FILLER]:

        async def run(name: str = name, **arguments: Any) -> str:
            log.append(name)
            return f"{name} done"

        spec = ToolSpec(name, description, {"type": "object", "properties": {}})
        tools.add(FunctionTool(spec, run))
    return tools


def test_the_closest_tools_are_offered_in_their_own_order(embedder: Embedder) -> None:
    tools = registry([])
    chooser = ToolChooser(embedder, limit=6, pinned=["timer_1", "disk_7*"])
    for message, right in [
        ("do I need an umbrella in Porto tomorrow?", "weather_forecast"),
        ("how many dollars is 250 euros", "convert_currency"),
        ("where is my parcel 1Z999AA10123456784", "package_track"),
        ("put on some jazz", "music_play"),
        ("dim the living room", "lights_set"),
    ]:
        view = chooser.view(tools, [Message("user", message)])
        names = [s.name for s in view.specs()]
        assert right in names, (message, names)
        assert len(names) == 6 and {"timer_1", "disk_7"} <= set(names)  # pinned: always
        order = [s.name for s in tools.specs()]
        assert names == sorted(names, key=order.index)  # the registry's order, always
    again = chooser.view(tools, [Message("user", "put on some jazz")])
    first = chooser.view(tools, [Message("user", "put on some jazz")])
    assert again.specs() == first.specs()  # same message, same bytes


def test_a_conversation_on_one_subject_keeps_its_choice(embedder: Embedder) -> None:
    tools = registry([])
    chooser = ToolChooser(embedder, limit=6)
    talk = [Message("user", "do I need an umbrella in Porto tomorrow?")]
    first = chooser.view(tools, talk).specs()
    talk += [Message("assistant", "Yes, rain from noon."), Message("user", "and on Sunday?")]
    assert chooser.view(tools, talk).specs() == first  # the same bytes: the cache holds
    talk += [Message("assistant", "Sunny."), Message("user", "where is my parcel?")]
    talk += [Message("assistant", "Which one?"), Message("user", "tracking 1Z999AA10123456784")]
    moved = [s.name for s in chooser.view(tools, talk).specs()]
    assert "package_track" not in [s.name for s in first] and "package_track" in moved


def test_few_tools_are_all_offered(embedder: Embedder) -> None:
    tools = registry([])
    assert ToolChooser(embedder, limit=100).view(tools, [Message("user", "hi")]) is tools


def test_the_context_is_the_newest_messages_first() -> None:
    messages = [
        Message("user", "old question"),
        Message("assistant", "old answer"),
        Message("tool", "tool output is left out"),
        Message("user", "new question"),
    ]
    assert context_of(messages) == "new question\nold answer\nold question"


async def test_a_turn_offers_the_chosen_tools_and_any_enabled_tool_still_runs(
    embedder: Embedder,
) -> None:
    ran: list[str] = []
    tools = registry(ran)
    model = ScriptedModel(Step(tool_calls=[call("git_3")]), "Done.")  # a test double
    conversation = Conversation(
        model,
        num_ctx=8192,
        tier="agent",
        tools=tools,
        chooser=ToolChooser(embedder, limit=4),
    )
    events = [e async for e in conversation.send("what will the weather be on Sunday?")]
    offered = [s.name for s in model.sent[0].tools or []]
    assert len(offered) == 4 and "weather_forecast" in offered
    assert "git_3" not in offered
    assert ran == ["git_3"]  # enabled, so the call runs (approvals still apply in the hub)
    assert any(isinstance(e, ToolResult) and not e.is_error for e in events)
