"""Rung end to end against real models: the real CLI, the real `ollama` client, llama.cpp
behind Ollama's API (tests.real.llama_ollama). Slow by nature; run with `make test-real`."""

from __future__ import annotations

import json
from pathlib import Path

import ollama
import pytest

from rung.agent.prompt import unmarked
from tests.agent.test_chat import Chat
from tests.conftest import Rung
from tests.real.llama_ollama import LlamaOllamaServer

pytestmark = [pytest.mark.real, pytest.mark.timeout(300)]

CHAT_MODEL = "smollm2:135m"
TOOL_MODEL = "qwen2.5-coder:0.5b"
DAYS = "How many days are there between 2026-01-01 and 2026-03-01? Use the days_between tool."
DAYS_BETWEEN = {
    "type": "function",
    "function": {
        "name": "days_between",
        "description": "Count the days (and hours) from one date to another.",
        "parameters": {
            "type": "object",
            "required": ["start", "end"],
            "properties": {"start": {"type": "string"}, "end": {"type": "string"}},
        },
    },
}


def only_clock(home: Path) -> None:
    """Offer the model the clock's four tools alone: a short prompt is quick on two cores."""
    path = home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    off = {"enabled": False}
    path.write_text(json.dumps({"builtins": {"files": off, "fetch": off, "memory": off}}))


def test_ask_streams_an_answer_from_a_real_model(
    rung: Rung, llama_server: LlamaOllamaServer
) -> None:
    result = rung(
        "ask", "--tier", "chatbot", "--model", CHAT_MODEL, "--num-ctx", "2048",
        "What is the capital of France?",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "Paris" in result.out
    request = llama_server.chat_requests[-1]
    assert request["stream"] is True and request["options"]["num_ctx"] == 2048
    assert not request.get("tools")
    generation = llama_server.generations[-1]
    assert generation.n_ctx == 2048 and generation.eval_count > 1
    assert generation.done_reason == "stop"


def test_chat_in_a_terminal_reuses_the_cached_prompt_prefix(
    rung: Rung, llama_server: LlamaOllamaServer
) -> None:
    chat = Chat(rung, "--tier", "chatbot", "--model", CHAT_MODEL, "--num-ctx", "2048")
    try:
        chat.prompt()
        chat.say("What is the capital of France?")
        assert "Paris" in chat.prompt()
        chat.say("And the capital of Germany?")
        assert "Berlin" in chat.prompt()
        assert chat.close() == 0
    finally:
        chat.child.terminate(force=True)
    first, second = llama_server.generations[-2:]
    # Turn 2's prompt starts with turn 1's, byte for byte, so llama.cpp evaluates only the
    # answer and the new question: the whole first prompt comes from the KV cache.
    assert second.prompt_tokens > first.prompt_tokens
    assert second.cached_tokens >= first.prompt_tokens


def test_a_tool_call_written_as_text_is_run_through_the_hub(
    rung: Rung, llama_server: LlamaOllamaServer, isolated_home: Path
) -> None:
    only_clock(isolated_home)
    before, generations = len(llama_server.chat_requests), len(llama_server.generations)
    result = rung("ask", "--json", "--model", TOOL_MODEL, "--num-ctx", "4096", DAYS)
    assert result.code == 0, result.err
    out = json.loads(result.out)
    first = out["tool_calls"][0]
    assert (first["name"], first["server"], first["arguments"], first["is_error"]) == (
        "days_between",
        "clock",
        {"start": "2026-01-01", "end": "2026-03-01"},
        False,
    )
    assert first["result"].startswith("59 days")
    # The model wrote the call as a bare JSON object; the stand-in, like Ollama, sent it as
    # content, so the call above is Rung's rescue at work, not the server's.
    written = llama_server.generations[generations].text.strip()
    assert json.loads(written)["name"] == "days_between"
    # The clock's answer went back to the model...
    step_two = llama_server.chat_requests[before + 1]
    assert [t["function"]["name"] for t in step_two["tools"]] == [
        "now",
        "convert_time",
        "add_time",
        "days_between",
    ]
    [sent] = [m for m in step_two["messages"] if m["role"] == "tool"]
    assert sent["tool_name"] == "days_between"
    assert unmarked(sent["content"]) == first["result"]  # as data, in an untrusted block
    assert sent["content"].startswith("[untrusted data from days_between, ")
    # ...and the model used it. A 0.5B model does not write prose after a tool result: it
    # repeats the call and echoes the number in JSON of its own ({"name": "days", "arguments":
    # {…, "days": 59}}); Rung refuses the repeat, and the model's last reply is what it is.
    one, two = llama_server.generations[generations : generations + 2]
    assert "59" in two.text
    assert out["answer"].strip()
    # Step 2's prompt is step 1's and more: llama.cpp evaluated only the call and its result.
    assert two.cached_tokens >= one.prompt_tokens


def test_a_call_written_without_the_tag_stays_content_as_with_ollama(
    llama_server: LlamaOllamaServer,
) -> None:
    messages = [{"role": "user", "content": DAYS}]
    options = {"num_ctx": 4096}
    with ollama.Client(host=llama_server.url, timeout=120) as client:
        whole = client.chat(TOOL_MODEL, messages=messages, tools=[DAYS_BETWEEN], options=options)
        chunks = list(
            client.chat(
                TOOL_MODEL, messages=messages, tools=[DAYS_BETWEEN], options=options, stream=True
            )
        )
    # Without Rung's system prompt the model fences its call (```json … ```); still content.
    assert whole.message.tool_calls is None
    text = whole.message.content or ""
    call = json.loads(text[text.index("{") : text.rindex("}") + 1])
    assert call == {
        "name": "days_between",
        "arguments": {"start": "2026-01-01", "end": "2026-03-01"},
    }
    assert not any(c.message.tool_calls for c in chunks)
    assert len(chunks) > 10 and chunks[-1].done and chunks[-1].done_reason == "stop"
    assert "".join(c.message.content for c in chunks) == whole.message.content
    assert chunks[-1].prompt_eval_count == llama_server.generations[-1].prompt_tokens


def test_doctor_model_checks_a_real_model_and_keeps_the_result(
    rung: Rung, llama_server: LlamaOllamaServer, isolated_home: Path
) -> None:
    only_clock(isolated_home)
    args = ["doctor", "--model", TOOL_MODEL, "--num-ctx", "4096", "--tools", "12", "--json"]
    result = rung(*args)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    check = data["tool_check"]
    assert check["model"] == TOOL_MODEL and check["cases"] == 24 and check["tools"] == 12
    assert 0.0 <= check["accuracy"] <= 1.0 and check["seconds_per_case"] > 0
    assert check["tokens_per_s"] and check["tokens_per_s"] > 0
    kinds = {k: v["cases"] for k, v in check["by_kind"].items()}
    assert kinds == {"one call": 8, "choose": 8, "two calls": 4, "no tool": 4}
    # the small model writes its calls as text: Rung's lenient reading is what passes them
    assert check["rescued"] > 0 and check["accuracy"] > 0
    findings = {f["check"]: f["status"] for f in data["findings"]}
    assert findings["ollama"] == "ok" and findings["tool calls"] == "ok"
    rung.env["RUNG_MODEL"] = TOOL_MODEL  # the kept result, shown by a plain `rung doctor`
    shown = rung("doctor", "--num-ctx", "4096")
    line = next(x for x in shown.out.splitlines() if "tool check" in x)
    assert f"{TOOL_MODEL} passed {check['accuracy']:.0%} of 24 cases" in line
