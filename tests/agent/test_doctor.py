"""`rung doctor` end to end: the real CLI, the real tool servers and memory, and the
Ollama-protocol test server standing in for Ollama (a model double answering the check)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from rung.agent import tool_check
from tests.conftest import Rung
from tests.ollama_server import ModelInfo, OllamaTestServer, Reply

BY_MESSAGE = {case.message: case for case in tool_check.CASES}


def good_model(body: dict[str, Any]) -> Reply:
    """Answers each case as a model that calls tools well would (the first step only)."""
    messages = body["messages"]
    if messages[-1]["role"] == "tool":
        return Reply(text="Done.")
    case = BY_MESSAGE[messages[-1]["content"]]
    if not case.calls:
        return Reply(text="Bonjour !")
    calls = [
        {"name": e.name, "arguments": _complete(e.name, e.arguments, body)} for e in case.calls
    ]
    return Reply(tool_calls=calls)


def _complete(name: str, arguments: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The expected arguments plus a value for every other required one."""
    [tool] = [t for t in body["tools"] if t["function"]["name"] == name]
    params = tool["function"]["parameters"]
    filled = {p: (1 if s["type"] == "number" else "x") for p, s in params["properties"].items()}
    return {**filled, **arguments}


def talker(body: dict[str, Any]) -> Reply:
    """A model that talks about tools instead of calling them."""
    return Reply(text="I would use a tool for that, but here is my best guess.")


def lines(out: str) -> dict[str, str]:
    """check name -> "mark detail", from lines like "✓ model          qwen3:4b: …"."""
    return {
        line[2:16].strip(): f"{line[0]} {line[17:]}"
        for line in out.splitlines()
        if line[:1] in ("✓", "!", "✗")
    }


def test_doctor_checks_everything_in_plain_words(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    result = rung("doctor")
    assert result.code == 0, result.out + result.err
    found = lines(result.out)
    assert found["ollama"].startswith("✓ http://127.0.0.1:") and "1 model pulled" in found["ollama"]
    assert found["model"] == "✓ qwen3:4b: context length 40960; num_ctx 16384"
    assert found["tool calls"] == "✓ qwen3:4b supports tools"
    for builtin in ("clock", "files", "fetch", "memory"):  # started for real
        assert found[f"server {builtin}"].startswith("✓ ready, "), builtin
    enabled = sum(int(v.split()[2]) for k, v in found.items() if k.startswith("server "))
    assert found["tool servers"] == (
        f"✓ {enabled} tools enabled; each turn offers up to {min(enabled, 16)}"
    )
    assert found["memory"].startswith("✓ all-MiniLM-L6-v2 (384 dimensions, loaded in ")
    assert found["tool check"] == "! qwen3:4b has not been checked"
    assert found["daemon"] == "✓ not running; not installed as a service"
    assert "hint: rung doctor --model" in result.out
    assert "Traceback" not in result.err


def test_doctor_says_what_is_wrong_and_goes_on(rung: Rung, tmp_path: Path) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = rung("doctor", "--host", f"http://127.0.0.1:{port}")
    assert result.code == 1
    assert f"✗ ollama         http://127.0.0.1:{port}: cannot reach" in result.out
    assert "hint:" in result.out
    assert "✓ memory" in result.out  # the other checks still ran
    big = rung("doctor", "--num-ctx", "65536")
    assert "! model          qwen3:4b: num_ctx is 65536 but the model's context length is " in (
        big.out
    )


def test_doctor_model_runs_the_tool_check_and_keeps_the_result(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.responder = good_model
    result = rung("doctor", "--model", "--json", "--tools", "20")
    assert result.code == 0, result.err
    check = json.loads(result.out)["tool_check"]
    assert check["accuracy"] == 1.0 and check["cases"] == len(tool_check.CASES)
    assert check["refusals"] == 0 and check["tools"] == 20
    assert check["by_kind"]["two calls"] == {"passed": 4, "cases": 4}
    sent = [r for r in ollama_server.chat_requests if r["messages"][-1]["role"] == "user"]
    assert all(len(r["tools"]) == 20 and r["options"]["num_ctx"] == 16384 for r in sent)
    # a case ends once its calls are made: the answer after their results is not asked for
    assert len(ollama_server.chat_requests) == len(tool_check.CASES)
    shown = rung("doctor")
    assert "✓ tool check     qwen3:4b passed 100% of 24 cases" in shown.out


def test_doctor_model_reports_what_the_model_really_did(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    """The model's context is 4096: the check runs at 4096, as a chat would. The server
    counts the cached prompt as generated (eval_count) in no time (eval_duration): the
    speed printed is the stream's, not 10,000 tokens/s."""
    ollama_server.models[0] = ModelInfo("qwen3:4b", context_length=4096)
    answer = " ".join(["word"] * 40)
    ollama_server.responder = lambda body: Reply(
        text=answer, drip=0.005, eval_count=3000, eval_duration_ns=300_000_000
    )
    result = rung("doctor", "--model")
    assert result.code == 0, result.err
    assert all(r["options"]["num_ctx"] == 4096 for r in ollama_server.chat_requests)
    assert (
        "num_ctx 4096" in result.out and "num_ctx 16384" not in result.out.split("tool check")[-1]
    )
    speed = float(re.search(r"([\d.]+) tokens/s", result.out).group(1))  # type: ignore[union-attr]
    assert speed < 1000  # 40 chunks, 5 ms apart: at most ~200 a second


def test_a_weak_model_gets_a_warning_in_the_assistant_tier(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.models.append(ModelInfo("tiny:1b"))
    ollama_server.responder = talker
    result = rung("doctor", "--model", "tiny:1b")
    assert "Tool calling, tiny:1b: 17% of 24 cases · 20 answered without the tool" in result.out
    assert "Below 70 %" in result.out
    ollama_server.responder = None
    ollama_server.script(Reply(text="Hello."))
    asked = rung("ask", "--tier", "assistant", "--model", "tiny:1b", "hello")
    assert asked.code == 0, asked.err
    assert "tiny:1b passed 17% of rung doctor's tool-calling cases" in asked.err
    ollama_server.script(Reply(text="Hello."))
    agent = rung("ask", "--tier", "agent", "--model", "tiny:1b", "hello")
    assert "tool-calling cases" not in agent.err  # the warning is the assistant tier's


def test_the_daemon_runs_the_same_checks_for_the_page(
    rung: Rung, ollama_server: OllamaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/v1/doctor (the Doctor page's) finds what `rung doctor` finds, each as a line as it
    comes; the daemon looks at itself, and shows its own tool servers."""
    import asyncio
    import os

    import httpx

    from rung.agent.daemon.api import DaemonInfo, create_app
    from rung.agent.daemon.host import Host
    from rung.config.paths import Paths
    from rung.config.settings import load_settings

    terminal = json.loads(rung("doctor", "--json").out)["findings"]
    monkeypatch.setenv("RUNG_OLLAMA_HOST", ollama_server.url)  # the daemon's environment

    async def ask() -> list[dict[str, Any]]:
        paths = Paths.default()
        host = Host(load_settings(paths.config_file).settings, paths)
        app = create_app(DaemonInfo("qwen3:4b", "1", "/s"), "t", lambda: None, host)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://rung") as api:
                headers = {"Authorization": "Bearer t"}
                async with api.stream("GET", "/v1/doctor", headers=headers) as response:
                    assert response.headers["content-type"].startswith("application/x-ndjson")
                    return [json.loads(line) async for line in response.aiter_lines() if line]
        finally:
            await host.close()

    page = asyncio.run(ask())
    assert [f["check"] for f in page] == [f["check"] for f in terminal]
    ours = {f["check"]: f for f in page}
    theirs = {f["check"]: f for f in terminal}
    for check in theirs:
        assert ours[check]["status"] == theirs[check]["status"], check
        if check not in ("daemon", "memory"):  # who runs, how long the model took to load
            assert ours[check]["detail"] == theirs[check]["detail"], check
    assert ours["daemon"]["detail"].startswith(f"runs (pid {os.getpid()}, 0 turns served)")


async def test_the_whole_labelled_set_grades_a_perfect_model_perfectly() -> None:
    """Every case of tool_cases.ALL, answered by a scripted model that makes exactly the
    labelled calls (and the second step's after the first results): all pass, so each
    label is one a model can meet; a model that only talks passes the no-tool ones only."""
    from rung.agent import tool_cases
    from rung.agent.messages import ToolCall
    from rung.agent.testing import ScriptedModel, Step

    def calls(expected: tuple[tool_cases.Expected, ...]) -> list[ToolCall]:
        return [ToolCall(f"c{n}", e.name, e.given) for n, e in enumerate(expected)]

    for case in tool_cases.ALL:
        steps: list[Step | str] = [Step(tool_calls=calls(case.calls))] if case.calls else []
        if case.then:
            steps.append(Step(tool_calls=calls(case.then)))
        perfect = await tool_check.run_check(
            ScriptedModel(*steps, "Done."),
            num_ctx=4096,
            tools=24,
            cases=[case],
            catalog=tool_cases.ALL_TOOLS,
        )
        assert perfect.accuracy == 1.0, (case.message, perfect.summary()["failures"])
    talker = await tool_check.run_check(
        ScriptedModel(*["I'd rather just talk."] * len(tool_cases.ALL)),
        num_ctx=4096,
        tools=24,
        cases=tool_cases.ALL,
        catalog=tool_cases.ALL_TOOLS,
    )
    no_tool = sum(c.kind == "no tool" for c in tool_cases.ALL)
    assert sum(r.passed for r in talker.results) == no_tool >= len(tool_cases.ALL) / 4
    assert len(tool_cases.ALL) >= 150


class TextWriter:
    """A `ChatModel` test double for restraint: it writes a case's labelled calls as JSON
    text (one a line), the second step's after the first results, and "Done." after that;
    told its call was not run, it writes the same again — a model that is right and sure."""

    name = "text-writer"

    def __init__(self, case: Any) -> None:
        self.case = case
        self.corrected = 0

    async def stream(self, messages: Any, tools: Any = None) -> Any:
        from rung.agent.messages import Message, ModelDone, TextDelta, Usage
        from rung.agent.tool_text import CORRECTION_LEAD

        last = messages[-1]
        if last.content.startswith(CORRECTION_LEAD):
            self.corrected += 1
            text = next(m.content for m in reversed(messages) if m.role == "assistant")
        else:
            results = sum(m.role == "tool" for m in messages)
            step = (self.case.calls, self.case.then) if results == 0 else (self.case.then,)
            calls = step[0] if tools else ()
            lines = [json.dumps({"name": e.name, "arguments": e.given}) for e in calls]
            text = "\n".join(lines) or "Done."
        yield TextDelta(text)
        yield ModelDone(Message("assistant", text), Usage())


async def test_restraint_lets_every_labelled_call_written_as_text_run(embedder: Any) -> None:
    """Every case of tool_cases.ALL whose labels are whole calls, written as text by a
    model that is right: restraint (grounding, and the tool chooser's ranking with the real
    embedding model) lets each run — at most after one correction the model answers by
    repeating itself — so the set asks for nothing a careful model could not ground."""
    from rung.agent import tool_cases
    from rung.agent.tool_choice import ToolChooser

    specs = {s.name: s for s in tool_cases.ALL_TOOLS}

    def whole(case: tool_cases.Case) -> bool:  # labels hold every required argument
        return all(
            set(specs[e.name].parameters.get("required", [])) <= set(e.arguments)
            for e in (*case.calls, *case.then)
        )

    chooser = ToolChooser(embedder)
    corrected = []
    cases = [case for case in tool_cases.ALL if whole(case)]
    assert len(cases) >= 120
    for case in cases:
        writer = TextWriter(case)
        report = await tool_check.run_check(
            writer,
            num_ctx=4096,
            tools=len(tool_cases.ALL_TOOLS),
            ranker=chooser.ranked,
            cases=[case],
            catalog=tool_cases.ALL_TOOLS,
        )
        assert report.accuracy == 1.0, (case.message, report.summary()["failures"])
        corrected += [case.message] * writer.corrected
    assert len(corrected) <= 5, corrected  # the ranking rarely doubts a right call


async def test_two_calls_may_come_one_after_the_other_but_not_one_alone() -> None:
    from rung.agent.messages import ToolCall
    from rung.agent.testing import ScriptedModel, Step

    [case] = [c for c in tool_check.CASES if c.message.startswith("What time is it in London")]
    london = ToolCall("a", "get_time", {"timezone": "London"})
    new_york = ToolCall("b", "get_time", {"timezone": "New York"})
    one_by_one = ScriptedModel(Step(tool_calls=[london]), Step(tool_calls=[new_york]), "ok")
    passed = await tool_check.run_check(one_by_one, num_ctx=4096, tools=12, cases=[case])
    assert passed.accuracy == 1.0
    stops = ScriptedModel(Step(tool_calls=[london]), "It is 14:05 in London.")
    failed = await tool_check.run_check(stops, num_ctx=4096, tools=12, cases=[case])
    assert failed.accuracy == 0.0
