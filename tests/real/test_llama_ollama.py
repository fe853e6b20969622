"""The llama.cpp stand-in itself: Ollama's API shapes through the real client, and how it
splits a reply into content and tool calls (only behind the template's tag)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import ollama
import pytest

from tests.real.llama_ollama import LlamaOllamaServer, ToolCallParser, parse_tool_calls

pytestmark = [pytest.mark.real, pytest.mark.timeout(120)]

QWEN_TAGS = ("<tool_call>", "</tool_call>")
CALL = '{"name": "days_between", "arguments": {"start": "2026-01-01", "end": "2026-03-01"}}'
PARSED = {
    "function": {
        "name": "days_between",
        "arguments": {"start": "2026-01-01", "end": "2026-03-01"},
    }
}


def test_a_tagged_call_is_a_tool_call() -> None:
    assert parse_tool_calls(f"<tool_call>\n{CALL}\n</tool_call>", QWEN_TAGS) == ("", [PARSED])
    two = f"Let me check.\n<tool_call>\n{CALL}\n</tool_call>\n<tool_call>{CALL}</tool_call>"
    # the text around the tags is content, as written
    assert parse_tool_calls(two, QWEN_TAGS) == ("Let me check.\n\n", [PARSED, PARSED])
    # cut off at the end of the reply, but whole
    assert parse_tool_calls(f"<tool_call>\n{CALL}", QWEN_TAGS) == ("", [PARSED])


@pytest.mark.parametrize(
    "text",
    [
        CALL,  # bare
        f"```json\n{CALL}\n```",  # fenced
        f'[{CALL}, {{"name": "now", "arguments": {{}}}}]',  # a list
        "<tool_call>\nnot json\n</tool_call>",  # tagged, but not a call
        '<tool_call>{"arguments": {}}</tool_call>',  # no name
        "Use <tool_ to call",  # looks like the start of the tag, then is not
    ],
)
def test_anything_but_a_tagged_call_stays_content(text: str) -> None:
    assert parse_tool_calls(text, QWEN_TAGS) == (text, [])


def test_without_tools_in_the_request_a_tag_is_just_text() -> None:
    text = f"<tool_call>\n{CALL}\n</tool_call>"
    assert parse_tool_calls(text, None) == (text, [])


def test_streamed_a_character_at_a_time_the_tag_is_held_back_until_known() -> None:
    text = f"Checking.<tool_call>\n{CALL}\n</tool_call>Done."
    parser = ToolCallParser(QWEN_TAGS)
    pieces = [piece for char in text for piece in parser.feed(char)] + parser.close()
    assert "".join(p for p in pieces if isinstance(p, str)) == "Checking.Done."
    assert [p for p in pieces if not isinstance(p, str)] == [PARSED]
    assert not any(isinstance(p, str) and "<" in p for p in pieces)


@pytest.fixture
def client(llama_server: LlamaOllamaServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=llama_server.url, timeout=120) as client:
        yield client


def test_models_are_listed_and_shown_from_their_gguf_metadata(client: ollama.Client) -> None:
    listed = {m.model: m for m in client.list().models}
    assert set(listed) == {"smollm2:135m", "qwen2.5-coder:0.5b"}
    assert listed["qwen2.5-coder:0.5b"].details.quantization_level == "Q4_K_M"
    qwen = client.show("qwen2.5-coder:0.5b")
    assert qwen.capabilities == ["completion", "tools"]
    assert qwen.modelinfo["qwen2.context_length"] == 32768
    assert qwen.details.family == "qwen2" and qwen.details.parameter_size == "0.5B"
    assert "<tool_call>" in (qwen.template or "")
    smol = client.show("smollm2:135m")
    assert smol.capabilities == ["completion"]
    assert smol.modelinfo["llama.context_length"] == 8192
    with pytest.raises(ollama.ResponseError) as missing:
        client.show("nothere:1b")
    assert missing.value.status_code == 404


def test_pull_knows_only_the_local_models(client: ollama.Client) -> None:
    assert [p.status for p in client.pull("smollm2:135m", stream=True)][-1] == "success"
    with pytest.raises(ollama.ResponseError, match="file does not exist"):
        list(client.pull("nothere:1b", stream=True))


def test_chat_errors_are_ollamas(client: ollama.Client) -> None:
    hello = [{"role": "user", "content": "hi"}]
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat("nothere:1b", messages=hello)
    assert missing.value.status_code == 404 and "not found" in missing.value.error
    tool = {"type": "function", "function": {"name": "now", "parameters": {"type": "object"}}}
    with pytest.raises(ollama.ResponseError, match="does not support tools"):
        client.chat("smollm2:135m", messages=hello, tools=[tool])


def test_a_new_num_ctx_reloads_the_model_and_limits_apply(
    client: ollama.Client, llama_server: LlamaOllamaServer
) -> None:
    hello = [{"role": "user", "content": "Count from one to twenty in words."}]
    reply = client.chat("smollm2:135m", messages=hello, options={"num_ctx": 1024, "num_predict": 5})
    assert reply.done_reason == "length" and reply.eval_count == 5
    first = llama_server.generations[-1]
    client.chat("smollm2:135m", messages=hello, options={"num_ctx": 1536, "num_predict": 5})
    second = llama_server.generations[-1]
    assert (first.n_ctx, second.n_ctx) == (1024, 1536)
    assert second.load_s > 0 and second.cached_tokens == 0  # a fresh context
    assert reply.prompt_eval_count == first.prompt_tokens > 0
    assert reply.load_duration is not None and reply.total_duration is not None
    assert reply.total_duration >= (reply.prompt_eval_duration or 0) + (reply.eval_duration or 0)


def test_format_constrains_the_reply_to_json_or_to_a_schema(client: ollama.Client) -> None:
    ask = [{"role": "user", "content": "Is Paris the capital of France? Say yes or no."}]
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["yes", "no"]}, "sure": {"type": "boolean"}},
        "required": ["answer", "sure"],
    }
    # smollm2 answers this in prose unasked; the grammar makes it this object and nothing else
    reply = client.chat("smollm2:135m", messages=ask, format=schema, options={"num_predict": 40})
    value = json.loads(reply.message.content)
    assert set(value) == {"answer", "sure"} and value["answer"] in ("yes", "no")
    assert isinstance(value["sure"], bool)
    reply = client.chat("smollm2:135m", messages=ask, format="json", options={"num_predict": 80})
    assert reply.done_reason == "stop" and isinstance(json.loads(reply.message.content), dict)
    with pytest.raises(ollama.ResponseError) as bad:
        client.chat("smollm2:135m", messages=ask, format={"type": "no such type"})
    assert bad.value.status_code == 400
