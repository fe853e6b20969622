"""A truthful budget: num_ctx within the model's window, estimates checked against what
Ollama reports, a cut prompt told to the user, and /context."""

from __future__ import annotations

import json

from rung.agent.conversation import Conversation
from rung.agent.messages import Notice, Usage
from rung.agent.testing import ScriptedModel, Step, call
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.ollama_server import ModelInfo, OllamaTestServer, Reply


def test_num_ctx_never_exceeds_the_models_context_length(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.models = [ModelInfo("small:1b", context_length=8192)]
    ollama_server.script(Reply(text="ok"))
    result = rung("ask", "--tier", "chatbot", "--model", "small:1b", "--num-ctx", "32768", "hi")
    assert result.code == 0, result.err
    assert ollama_server.chat_requests[0]["options"]["num_ctx"] == 8192
    assert result.err == (
        "[rung] num_ctx 32768 is more than small:1b's context length (8192); using 8192.\n"
    )


async def test_a_prompt_that_filled_the_window_is_told_and_counted_higher() -> None:
    model = ScriptedModel(
        Step(text="first", usage=Usage(prompt_tokens=120)),
        Step(text="second", usage=Usage(prompt_tokens=2040)),  # Ollama cut it to fit
        name="double",
    )
    conversation = Conversation(model, num_ctx=2048, tier="chatbot")  # a test double model
    quiet = [e async for e in conversation.send("hello there")]
    assert not any(isinstance(e, Notice) for e in quiet)
    assert conversation.calibration > 1.5  # 120 reported, about 70 estimated
    raised = conversation.calibration
    told = [e async for e in conversation.send("and again")]
    [notice] = [e for e in told if isinstance(e, Notice)]
    assert notice.text.startswith("Ollama's prompt filled the whole window (2040 of num_ctx=2048")
    assert conversation.calibration > raised


async def test_the_estimate_is_scaled_within_reason() -> None:
    full = [Step(text=f"answer {n}", usage=Usage(prompt_tokens=2040)) for n in range(4)]
    model = ScriptedModel(*full, name="double")  # a test double: Ollama cut every prompt
    conversation = Conversation(model, num_ctx=2048, tier="chatbot")
    for n in range(4):
        [e async for e in conversation.send(f"message {n}")]
    assert conversation.calibration == 4.0  # not 1.25 times more at every cut prompt


async def test_tool_results_that_outgrow_the_window_are_told() -> None:
    page = "word " * 4000  # a tool result far larger than the window
    model = ScriptedModel(
        Step(tool_calls=[call("fetch", part=1), call("fetch", part=2)]),
        Step(text="done", usage=Usage(prompt_tokens=1900)),
        name="double",
    )
    tools = ToolRegistry(
        [
            FunctionTool(
                ToolSpec(
                    "fetch",
                    "Fetch a page.",
                    {"type": "object", "properties": {"part": {"type": "integer"}}},
                ),
                lambda part: page,
            )
        ]
    )
    # each result is cut to 0.6 of the window, but two at once outgrow it
    conversation = Conversation(
        model, num_ctx=2048, tier="agent", tools=tools, tool_result_share=0.6
    )
    told = [e.text for e in [e async for e in conversation.send("get it")] if isinstance(e, Notice)]
    assert any(t.startswith("The last request to the model (about ") for t in told), told
    assert "was larger than num_ctx=2048: Ollama cut its start" in told[-1]


async def test_a_low_count_does_not_shrink_the_estimate() -> None:
    model = ScriptedModel(Step(text="ok", usage=Usage(prompt_tokens=1)), name="cached")
    conversation = Conversation(model, num_ctx=4096, tier="chatbot")
    [e async for e in conversation.send("a question long enough to be estimated at many tokens")]
    assert conversation.calibration == 1.0  # a cached prefix is not counted by Ollama


def test_context_shows_the_budget(rung: Rung, ollama_server: OllamaTestServer) -> None:
    chat = Chat(rung, "--tier", "chatbot")
    try:
        chat.prompt()
        ollama_server.script(Reply(text="A reply of some length " * 10))
        chat.say("tell me something")
        chat.prompt()
        chat.say("/context")
        shown = chat.prompt()
        rows = {
            line.split()[0]: int(line.split()[1])
            for line in shown.splitlines()
            if line.strip() and line.split()[0] in ("persona", "tools", "history", "reply", "free")
        }
        assert rows["tools"] == 0 and rows["history"] > 60 and rows["reply"] == 2048
        assert sum(rows.values()) == 16384 - rows.get("memories", 0)
        assert "num_ctx 16384 tokens (estimated)" in shown
        assert chat.close() == 0
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)


def test_ask_json_reports_the_cap_among_notices(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.models = [ModelInfo("small:1b", context_length=4096)]
    ollama_server.script(Reply(text="ok"))
    result = rung("ask", "--json", "--tier", "chatbot", "--model", "small:1b", "hi")
    assert json.loads(result.out)["notices"][0].startswith("num_ctx 16384 is more than")
