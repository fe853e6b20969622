"""The Ollama-protocol test server, driven through the real `ollama` client."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import ollama
import pytest

from tests.ollama_server import ModelInfo, OllamaTestServer, Reply

USER = [{"role": "user", "content": "What is two plus two?"}]  # 21 chars -> 5 prompt tokens
TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two numbers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
    },
}


@pytest.fixture
def server() -> Iterator[OllamaTestServer]:
    with OllamaTestServer() as server:
        yield server


@pytest.fixture
def client(server: OllamaTestServer) -> Iterator[ollama.Client]:
    with ollama.Client(host=server.url, timeout=10) as client:
        yield client


def test_streams_text_word_by_word_with_deterministic_stats(
    server: OllamaTestServer, client: ollama.Client
) -> None:
    server.script(Reply("Two plus two is four."))

    parts = list(client.chat("qwen3:4b", USER, stream=True))

    assert [p.message.content for p in parts[:-1]] == ["Two ", "plus ", "two ", "is ", "four."]
    assert all(p.done is False and p.model == "qwen3:4b" for p in parts[:-1])
    final = parts[-1]
    assert final.done is True and final.done_reason == "stop"
    assert final.prompt_eval_count == 5
    assert final.eval_count == 5
    assert final.eval_duration == 50_000_000  # 100 tokens/s
    server.assert_complete()


async def test_async_client_gets_thinking_then_tool_calls(server: OllamaTestServer) -> None:
    call = {"name": "add", "arguments": {"a": 2}}
    server.script(Reply(thinking="I should add.", chunks=["Let me add."], tool_calls=[call]))

    async with ollama.AsyncClient(host=server.url) as client:
        parts = [p async for p in await client.chat("qwen3:4b", USER, tools=[TOOL], stream=True)]

    assert "".join(p.message.thinking or "" for p in parts) == "I should add."
    assert "".join(p.message.content or "" for p in parts) == "Let me add."
    calls = [c for p in parts for c in p.message.tool_calls or []]
    assert [(c.function.name, dict(c.function.arguments)) for c in calls] == [("add", {"a": 2})]
    assert parts[-1].done is True
    assert server.chat_requests[0]["tools"][0]["function"]["name"] == "add"


def test_stream_false_returns_the_whole_message(
    server: OllamaTestServer, client: ollama.Client
) -> None:
    server.script(Reply("All at once.", tool_calls=[{"name": "add", "arguments": {}}]))

    response = client.chat("qwen3:4b", USER, stream=False)

    assert response.message.content == "All at once."
    assert response.message.tool_calls is not None
    assert response.message.tool_calls[0].function.name == "add"
    assert response.done is True and response.eval_count == 4
    assert server.chat_requests[0]["stream"] is False


def test_unknown_model_is_a_404(server: OllamaTestServer, client: ollama.Client) -> None:
    with pytest.raises(ollama.ResponseError) as chat_error:
        client.chat("nope:1b", USER)
    with pytest.raises(ollama.ResponseError) as show_error:
        client.show("nope:1b")

    assert chat_error.value.status_code == 404
    assert chat_error.value.error == 'model "nope:1b" not found, try pulling it first'
    assert show_error.value.status_code == 404
    assert show_error.value.error == "model 'nope:1b' not found"


def test_tools_on_a_model_without_tools_is_a_400() -> None:
    plain = ModelInfo("gemma:2b", capabilities=["completion"], family="gemma")
    with OllamaTestServer(models=[plain]) as server, ollama.Client(host=server.url) as client:
        with pytest.raises(ollama.ResponseError) as error:
            client.chat("gemma:2b", USER, tools=[TOOL])
        assert error.value.status_code == 400
        assert error.value.error == "registry.ollama.ai/library/gemma:2b does not support tools"
        server.script(Reply("fine"))  # no tools: answered
        assert client.chat("gemma:2b", USER).message.content == "fine"


def test_show_reports_capabilities_and_context_length(client: ollama.Client) -> None:
    shown = client.show("qwen3:4b")

    assert shown.capabilities == ["completion", "tools"]
    assert shown.modelinfo is not None
    assert shown.modelinfo["qwen3.context_length"] == 40960
    assert shown.details is not None and shown.details.family == "qwen3"
    assert [m.model for m in client.list().models] == ["qwen3:4b"]


def test_scripted_status_and_missing_reply_are_http_errors(
    server: OllamaTestServer, client: ollama.Client
) -> None:
    server.script(Reply(status=500, error="model runner has unexpectedly stopped"))

    with pytest.raises(ollama.ResponseError) as scripted:
        list(client.chat("qwen3:4b", USER, stream=True))
    with pytest.raises(ollama.ResponseError) as unscripted:
        client.chat("qwen3:4b", USER)

    assert scripted.value.status_code == 500
    assert scripted.value.error == "model runner has unexpectedly stopped"
    assert unscripted.value.status_code == 500
    assert "no scripted reply left" in unscripted.value.error


def test_error_mid_stream_raises_after_the_first_chunks(
    server: OllamaTestServer, client: ollama.Client
) -> None:
    server.script(Reply("one two three", error="out of memory", error_after=2))
    received: list[str] = []

    with pytest.raises(ollama.ResponseError, match="out of memory"):
        for part in client.chat("qwen3:4b", USER, stream=True):
            received.append(part.message.content or "")

    assert received == ["one ", "two "]
    server.script(Reply("still alive"))  # the connection is reusable afterwards
    assert client.chat("qwen3:4b", USER).message.content == "still alive"


def test_drop_after_breaks_the_stream_with_a_transport_error(
    server: OllamaTestServer, client: ollama.Client
) -> None:
    server.script(Reply("one two three", drop_after=1), Reply("recovered"))
    received: list[str] = []

    with pytest.raises(httpx.RemoteProtocolError):
        for part in client.chat("qwen3:4b", USER, stream=True):
            received.append(part.message.content or "")

    assert received == ["one "]
    assert client.chat("qwen3:4b", USER).message.content == "recovered"


def test_pull_streams_progress_then_the_model_is_installed() -> None:
    with (
        OllamaTestServer(pullable=["llama3.2:1b"]) as server,
        ollama.Client(host=server.url) as client,
    ):
        progress = list(client.pull("llama3.2:1b", stream=True))
        with pytest.raises(ollama.ResponseError, match="file does not exist"):
            list(client.pull("missing:7b", stream=True))

        statuses = [p.status for p in progress]
        assert statuses[0] == "pulling manifest"
        assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
        layers = [p for p in progress if p.digest]
        assert layers and all(p.total and p.completed is not None for p in layers)
        assert layers[-1].completed == layers[-1].total
        assert "llama3.2:1b" in [m.model for m in client.list().models]
        assert client.show("llama3.2:1b").capabilities == ["completion", "tools"]


def test_requests_are_recorded_in_order(server: OllamaTestServer, client: ollama.Client) -> None:
    server.script(Reply("hi"))

    client.list()
    client.chat("qwen3:4b", USER, options={"num_ctx": 8192})

    assert [(method, path) for method, path, _ in server.requests] == [
        ("GET", "/api/tags"),
        ("POST", "/api/chat"),
    ]
    assert server.requests[0][2] is None
    assert server.chat_requests[0]["options"] == {"num_ctx": 8192}
    assert server.chat_requests[0]["messages"] == USER


def test_assert_complete_fails_when_replies_are_left(server: OllamaTestServer) -> None:
    server.script(Reply("used"), Reply("never used"))
    with ollama.Client(host=server.url) as client:
        client.chat("qwen3:4b", USER)

    with pytest.raises(AssertionError, match="1 scripted reply never requested"):
        server.assert_complete()


async def test_release_holds_the_first_token_until_set(server: OllamaTestServer) -> None:
    arrived, release = threading.Event(), threading.Event()

    def respond(body: dict[str, Any]) -> Reply:
        arrived.set()
        return Reply("at last", release=release)

    server.responder = respond
    async with ollama.AsyncClient(host=server.url) as client:
        answer = asyncio.create_task(client.chat("qwen3:4b", USER))
        assert await asyncio.to_thread(arrived.wait, 10)
        assert not answer.done()
        release.set()
        response = await answer

    assert response.message.content == "at last"


async def test_stop_cuts_a_reply_that_is_never_released() -> None:
    arrived = threading.Event()

    def respond(body: dict[str, Any]) -> Reply:
        arrived.set()
        return Reply("never", release=threading.Event())

    server = OllamaTestServer().start()
    server.responder = respond
    async with ollama.AsyncClient(host=server.url) as client:
        answer = asyncio.create_task(client.chat("qwen3:4b", USER))
        assert await asyncio.to_thread(arrived.wait, 10)
        await asyncio.to_thread(server.stop)
        with pytest.raises(httpx.RemoteProtocolError):
            await answer


def test_wire_format_is_chunked_ndjson_over_keep_alive(server: OllamaTestServer) -> None:
    server.script(Reply("a b"))
    conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=10)
    try:
        conn.request("GET", "/")
        root = conn.getresponse()
        assert (root.status, root.read()) == (200, b"Ollama is running")
        conn.request("POST", "/api/chat", body=json.dumps({"model": "qwen3:4b", "messages": USER}))
        chat = conn.getresponse()
        assert chat.getheader("Content-Type") == "application/x-ndjson"
        assert chat.getheader("Transfer-Encoding") == "chunked"
        lines = [json.loads(line) for line in chat.read().splitlines()]
        conn.request("GET", "/api/version")
        assert json.loads(conn.getresponse().read()) == {"version": "0.12.0"}
    finally:
        conn.close()

    assert [line["message"]["content"] for line in lines] == ["a ", "b", ""]
    assert [line["done"] for line in lines] == [False, False, True]


def test_stop_joins_every_thread_even_with_a_client_still_connected() -> None:
    before = set(threading.enumerate())
    server = OllamaTestServer().start()
    try:
        with ollama.Client(host=server.url, timeout=10) as client:
            server.script(Reply("kept alive"))
            assert client.chat("qwen3:4b", USER).message.content == "kept alive"
            server.stop()  # the client still holds a keep-alive connection
            assert set(threading.enumerate()) <= before
    finally:
        server.stop()
