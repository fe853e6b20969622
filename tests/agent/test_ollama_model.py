"""OllamaChatModel through the real `ollama` client against the Ollama-protocol test server."""

from __future__ import annotations

import threading

import pytest

from rung.agent.loop import run_turn
from rung.agent.messages import (
    FinalAnswer,
    Message,
    ModelDone,
    ModelEvent,
    TextDelta,
    ThinkingDelta,
    ToolCall,
)
from rung.agent.ollama_model import OllamaChatModel
from rung.config.errors import (
    ModelNotFound,
    ModelResponseError,
    ModelTimeout,
    ModelUnavailable,
    ToolsUnsupported,
)
from rung.tools.base import FunctionTool, ToolRegistry, ToolSpec
from tests.ollama_server import ModelInfo, OllamaTestServer, Reply

CLOCK = ToolSpec("now", "The current time.", {"type": "object", "properties": {}})
HELLO = [Message("user", "hello")]


def model_for(server: OllamaTestServer, name: str = "qwen3:4b", **kw: object) -> OllamaChatModel:
    return OllamaChatModel(name, host=server.url, **kw)  # type: ignore[arg-type]


async def stream(model: OllamaChatModel, tools: list[ToolSpec] | None = None) -> list[ModelEvent]:
    try:
        return [e async for e in model.stream(HELLO, tools)]
    finally:
        await model.aclose()


async def test_streams_text_then_done_with_usage(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="Hi there, how can I help?", prompt_eval_count=42))
    events = await stream(model_for(ollama_server))
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 3 and "".join(deltas) == "Hi there, how can I help?"
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.message.content == "Hi there, how can I help?"
    assert done.usage.prompt_tokens == 42
    assert done.usage.completion_tokens == len(deltas)
    assert done.usage.tokens_per_s == pytest.approx(100.0)
    assert done.usage.time_to_first_token_s is not None


async def test_always_sends_num_ctx_and_keep_alive(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="ok"))
    await stream(model_for(ollama_server, num_ctx=8192, keep_alive="1h", temperature=0.2))
    body = ollama_server.chat_requests[0]
    assert body["options"]["num_ctx"] == 8192
    assert body["options"]["temperature"] == 0.2
    assert body["keep_alive"] == "1h"
    assert body["stream"] is True


async def test_tools_are_sent_as_json_schema_and_calls_parsed(
    ollama_server: OllamaTestServer,
) -> None:
    ollama_server.script(Reply(tool_calls=[{"name": "now", "arguments": {"tz": "UTC"}}]))
    events = await stream(model_for(ollama_server), [CLOCK])
    sent = ollama_server.chat_requests[0]["tools"]
    assert sent == [CLOCK.to_ollama()]
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert [(c.name, c.arguments) for c in done.message.tool_calls] == [("now", {"tz": "UTC"})]


async def test_arguments_that_are_not_json_become_a_call_the_model_is_told_about(
    ollama_server: OllamaTestServer,
) -> None:
    ollama_server.script(Reply(tool_calls=[{"name": "now", "arguments": '{"tz": "UTC'}]))
    events = await stream(model_for(ollama_server), [CLOCK])
    done = events[-1]
    assert isinstance(done, ModelDone)
    [bad] = done.message.tool_calls
    assert bad.error and "not valid JSON" in bad.error and '{"tz": "UTC' in bad.error


async def test_a_turn_goes_on_after_malformed_arguments(ollama_server: OllamaTestServer) -> None:
    ran: list[dict[str, object]] = []

    def now(**arguments: object) -> str:
        ran.append(arguments)
        return "12:00"

    ollama_server.script(
        Reply(tool_calls=[{"name": "now", "arguments": "tz=UTC"}]),
        Reply(tool_calls=[{"name": "now", "arguments": {}}]),
        Reply(text="It is noon."),
    )
    model = model_for(ollama_server)
    try:
        events = [e async for e in run_turn(model, HELLO, ToolRegistry([FunctionTool(CLOCK, now)]))]
    finally:
        await model.aclose()
    answer = events[-1]
    assert isinstance(answer, FinalAnswer) and answer.message.content == "It is noon."
    assert ran == [{}]
    told = ollama_server.chat_requests[1]["messages"][-1]
    assert told["role"] == "tool" and "not valid JSON" in told["content"]


async def test_history_with_tool_calls_is_sent_back_without_thinking(
    ollama_server: OllamaTestServer,
) -> None:
    ollama_server.script(Reply(text="It is noon."))
    history = [
        Message("user", "time?"),
        Message("assistant", "", tool_calls=[ToolCall("c1", "now", {})], thinking="secret"),
        Message("tool", "12:00", tool_name="now", tool_call_id="c1"),
    ]
    model = model_for(ollama_server)
    [e async for e in model.stream(history, [CLOCK])]
    await model.aclose()
    sent = ollama_server.chat_requests[0]["messages"]
    assert sent[1]["tool_calls"] == [{"function": {"name": "now", "arguments": {}}}]
    assert "thinking" not in sent[1]
    assert sent[2] == {"role": "tool", "content": "12:00", "tool_name": "now"}


async def test_thinking_is_streamed_apart_from_content(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(thinking="Let me think.", text="Four."))
    events = await stream(model_for(ollama_server, think="on"))
    assert "".join(e.text for e in events if isinstance(e, ThinkingDelta)) == "Let me think."
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.message.content == "Four." and done.message.thinking == "Let me think."
    assert ollama_server.chat_requests[0]["think"] is True


async def test_missing_model_is_model_not_found_with_pull_hint(
    ollama_server: OllamaTestServer,
) -> None:
    with pytest.raises(ModelNotFound) as err:
        await stream(model_for(ollama_server, "llama9:1b"))
    assert err.value.model == "llama9:1b"
    assert "ollama pull llama9:1b" in err.value.hint


async def test_check_reads_capabilities(ollama_server: OllamaTestServer) -> None:
    ollama_server.models.append(ModelInfo("tiny:1b", capabilities=["completion"], family="gemma"))
    model = model_for(ollama_server, "tiny:1b")
    details = await model.check(tools=False)
    assert details.context_length == 40960 and not details.supports("tools")
    with pytest.raises(ToolsUnsupported) as err:
        await model.check(tools=True)
    assert "--tier chatbot" in err.value.hint
    await model.aclose()


async def test_server_refusing_tools_is_tools_unsupported(ollama_server: OllamaTestServer) -> None:
    ollama_server.models.append(ModelInfo("tiny:1b", capabilities=["completion"]))
    with pytest.raises(ToolsUnsupported):
        await stream(model_for(ollama_server, "tiny:1b"), [CLOCK])


async def test_server_error_is_a_model_response_error(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(status=500, error="llama runner process has terminated"))
    with pytest.raises(ModelResponseError, match="llama runner process has terminated"):
        await stream(model_for(ollama_server))


async def test_error_mid_stream(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="one two three four", error_after=2, error="out of memory"))
    with pytest.raises(ModelResponseError, match="out of memory"):
        await stream(model_for(ollama_server))


async def test_dropped_connection_mid_reply(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="one two three four", drop_after=2))
    with pytest.raises(ModelResponseError, match="broke off"):
        await stream(model_for(ollama_server))


async def test_slow_first_token_hits_the_read_timeout(ollama_server: OllamaTestServer) -> None:
    release = threading.Event()
    ollama_server.script(Reply(text="late", release=release))
    try:
        with pytest.raises(ModelTimeout, match=r"sent nothing for 0\.2 s"):
            await stream(model_for(ollama_server, read_timeout=0.2))
    finally:
        release.set()


async def test_slow_first_token_within_the_timeout_is_measured(
    ollama_server: OllamaTestServer,
) -> None:
    ollama_server.script(Reply(text="late but fine", first_token_delay=0.2))
    events = await stream(model_for(ollama_server, read_timeout=10))
    done = events[-1]
    assert isinstance(done, ModelDone)
    assert done.usage.time_to_first_token_s is not None
    assert done.usage.time_to_first_token_s >= 0.2


async def test_unreachable_host_is_model_unavailable() -> None:
    model = OllamaChatModel("qwen3:4b", host="http://127.0.0.1:9", connect_timeout=2)
    with pytest.raises(ModelUnavailable) as err:
        await stream(model)
    assert "ollama serve" in err.value.hint and "127.0.0.1:9" in err.value.message


async def test_pull_reports_progress_and_makes_the_model_available(
    ollama_server: OllamaTestServer,
) -> None:
    ollama_server.pullable.append("gemma3:1b")
    model = model_for(ollama_server, "gemma3:1b")
    with pytest.raises(ModelNotFound):
        await model.check(tools=True)
    progress = [p async for p in model.pull()]
    assert progress[-1].status == "success"
    assert any(p.total and p.completed for p in progress)
    assert (await model.check(tools=True)).supports("tools")
    await model.aclose()


async def test_steps_reuse_one_keep_alive_connection(ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="one"), Reply(text="two"), Reply(text="three"))
    model = model_for(ollama_server)
    for _ in range(3):
        events = [e async for e in model.stream(HELLO)]
        assert isinstance(events[-1], ModelDone)
    await model.aclose()
    assert ollama_server.connections_opened == 1


async def test_load_brings_the_model_in_with_the_window_and_generates_nothing(
    ollama_server: OllamaTestServer,
) -> None:
    model = model_for(ollama_server, num_ctx=8192, keep_alive="10m")
    missing = model_for(ollama_server, "missing:1b")
    try:
        await model.load()
        with pytest.raises(ModelNotFound):
            await missing.load()
    finally:
        await model.aclose()
        await missing.aclose()
    loaded = ollama_server.chat_requests[0]
    assert loaded["messages"] == [] and loaded["options"]["num_ctx"] == 8192
    assert loaded["keep_alive"] == "10m"
    ollama_server.assert_complete()  # no scripted reply was used up
