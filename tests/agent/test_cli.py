"""`rung ask`, `rung sessions` and `rung config` against the test server: through `main()` in
this process, and as a real process where the process is what is tested."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import Rung
from tests.ollama_server import ModelInfo, OllamaTestServer, Reply


def test_ask_prints_the_streamed_answer(rung: Rung, ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="Paris is the capital of France."))
    result = rung.as_process()("ask", "What is the capital of France?")  # the real exit status
    assert result.code == 0, result.err
    assert result.out == "Paris is the capital of France.\n"
    assert result.err == ""
    sent = ollama_server.chat_requests[0]
    assert sent["messages"][-1] == {"role": "user", "content": "What is the capital of France?"}
    assert sent["options"]["num_ctx"] == 16384
    ollama_server.assert_complete()


def test_ask_reads_the_question_from_stdin(rung: Rung, ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="A summary."))
    result = rung.as_process()("ask", input="Summarise this:\nline one\nline two\n")
    assert result.code == 0, result.err
    assert ollama_server.chat_requests[0]["messages"][-1]["content"].startswith("Summarise this:")


def test_ask_json_has_answer_tool_calls_and_usage(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.script(
        Reply(tool_calls=[{"name": "missing_tool", "arguments": {"x": 1}}]),
        Reply(text="I could not use that tool.", prompt_eval_count=99),
    )
    result = rung("ask", "--json", "use a tool")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["answer"] == "I could not use that tool."
    assert data["usage"]["prompt_tokens"] == 99
    assert data["usage"]["tokens_per_s"] == pytest.approx(100.0)
    [call] = data["tool_calls"]
    assert call["name"] == "missing_tool" and call["is_error"]
    assert "no tool named 'missing_tool'" in call["result"]
    # the model was told, and the loop went on
    assert ollama_server.chat_requests[1]["messages"][-1]["role"] == "tool"


def test_ask_stores_a_session_that_can_be_listed_searched_shown_exported_deleted(
    rung: Rung, ollama_server: OllamaTestServer, tmp_path: Path
) -> None:
    ollama_server.script(Reply(text="Use **git bisect**."))
    data = json.loads(rung("ask", "--json", "How do I find a bad commit?").out)
    session = data["session_id"]

    listed = rung("sessions", "list")
    assert (
        listed.code == 0 and session in listed.out and "How do I find a bad commit?" in listed.out
    )

    found = rung("sessions", "search", "bisect")  # in the answer, not the title
    assert found.code == 0 and session in found.out and "git bisect" in found.out
    assert "No session says that" in rung("sessions", "search", "rebase").out

    shown = rung("sessions", "show", session[:4])
    assert "How do I find a bad commit?" in shown.out and "git bisect" in shown.out

    out = tmp_path / "s.md"
    assert rung("sessions", "export", session, "--md", "-o", str(out)).code == 0
    assert "**git bisect**" in out.read_text()

    assert rung("sessions", "delete", session).code == 0
    missing = rung("sessions", "show", session)
    assert missing.code != 0 and "no session" in missing.err and "Traceback" not in missing.err


def test_ask_no_save_stores_nothing(rung: Rung, ollama_server: OllamaTestServer) -> None:
    ollama_server.script(Reply(text="ok"))
    assert rung("ask", "--no-save", "hi").code == 0
    assert "No sessions yet" in rung("sessions", "list").out


def test_chatbot_tier_offers_no_tools_and_skips_the_tool_check(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.models.append(ModelInfo("smol:135m", capabilities=["completion"]))
    ollama_server.script(Reply(text="Hello!"))
    result = rung("ask", "--tier", "chatbot", "--model", "smol:135m", "hi")
    assert result.code == 0, result.err
    assert not ollama_server.chat_requests[0].get("tools")


def test_agent_tier_with_a_model_without_tools_says_what_to_do(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.models.append(ModelInfo("smol:135m", capabilities=["completion"]))
    result = rung("ask", "--model", "smol:135m", "hi")
    assert result.code == 1
    assert result.err.splitlines() == [
        "rung: the model 'smol:135m' does not support tool calls",
        "  hint: pick a tools-capable model (e.g. --model qwen3:4b) or use the chatbot tier "
        "(--tier chatbot)",
    ]
    assert ollama_server.chat_requests == []


def test_missing_model_says_how_to_pull_it(rung: Rung) -> None:
    result = rung("ask", "--model", "llama9:70b", "hi")
    assert result.code == 1
    assert "not available" in result.err and "ollama pull llama9:70b" in result.err
    assert "Traceback" not in result.err


def test_ollama_not_running_is_one_clear_line(rung: Rung) -> None:
    rung.env["RUNG_OLLAMA_HOST"] = "http://127.0.0.1:9"
    result = rung("ask", "hi")
    assert result.code == 1
    assert (
        result.err.splitlines()[0] == "rung: cannot reach the Ollama server at http://127.0.0.1:9"
    )
    assert "ollama serve" in result.err and "Traceback" not in result.err


def test_ollama_host_env_is_honoured(rung: Rung, ollama_server: OllamaTestServer) -> None:
    del rung.env["RUNG_OLLAMA_HOST"]
    rung.env["OLLAMA_HOST"] = ollama_server.url
    ollama_server.script(Reply(text="via OLLAMA_HOST"))
    assert rung("ask", "hi").out == "via OLLAMA_HOST\n"


def test_server_dropping_the_connection_mid_reply(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    ollama_server.script(Reply(text="this will be cut short", drop_after=2))
    result = rung("ask", "hi")
    assert result.code == 1
    assert "broke off mid-reply" in result.err and "Traceback" not in result.err


def test_debug_shows_the_traceback(rung: Rung) -> None:
    result = rung("ask", "--debug", "--model", "llama9:70b", "hi")
    assert result.code == 1 and "Traceback" in result.err


def test_empty_question_is_refused(rung: Rung, ollama_server: OllamaTestServer) -> None:
    result = rung("ask", input="   \n")
    assert result.code == 2 and "empty" in result.err
    assert ollama_server.chat_requests == []


def test_invalid_utf8_on_stdin_is_refused(rung: Rung, ollama_server: OllamaTestServer) -> None:
    result = rung("ask", input=b"caf\xe9 au lait")
    assert result.code == 2
    assert "not valid UTF-8" in result.err and "0xe9" in result.err and "iconv" in result.err
    assert ollama_server.chat_requests == []


def test_paste_larger_than_the_window_is_refused_not_truncated(
    rung: Rung, ollama_server: OllamaTestServer
) -> None:
    result = rung("ask", "--num-ctx", "1024", input="word " * 2000)
    assert result.code == 2
    assert "context window (num_ctx) is 1024" in result.err and "--num-ctx" in result.err
    assert ollama_server.chat_requests == []


def test_config_show_path_init(rung: Rung, isolated_home: Path) -> None:
    path = rung("config", "path").out.strip()
    assert path == str(isolated_home / "config" / "rung" / "config.toml")

    assert rung("config", "init").code == 0
    assert Path(path).read_text().startswith("# Rung configuration")
    again = rung("config", "init")
    assert again.code == 2 and "already exists" in again.err and "--force" in again.err

    Path(path).write_text('model = "llama3.2:3b"\n')
    rung.env["RUNG_NUM_CTX"] = "8192"
    shown = rung("config", "show", "--tier", "chatbot").out
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()[1:] if line.strip()}
    assert rows["model"][:2] == ['"llama3.2:3b"', "file"]
    assert rows["num_ctx"] == ["8192", "env", "RUNG_NUM_CTX"]
    assert rows["default_tier"] == ['"chatbot"', "flag", "--tier"]
    assert rows["max_steps"] == ["12", "default"]
    rung.env["RUNG_WEBHOOK_SECRET"] = "hunter2"
    shown = rung("config", "show").out
    assert "hunter2" not in shown
    rows = {line.split()[0]: line.split()[1:] for line in shown.splitlines()[1:] if line.strip()}
    assert rows["webhook_secret"][:2] == ["(set)", "env"] and rows["ntfy_token"][0] == "(unset)"


def test_malformed_config_is_one_clear_error(rung: Rung, isolated_home: Path) -> None:
    config = isolated_home / "config" / "rung" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("num_ctx = [1, \n")
    result = rung("ask", "hi")
    assert result.code == 2
    assert f"the config file {config} is not valid TOML" in result.err
    assert "Traceback" not in result.err


def test_bad_config_value_names_key_file_and_allowed(rung: Rung, isolated_home: Path) -> None:
    config = isolated_home / "config" / "rung" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('think = "maybe"\n')
    result = rung("config", "show")
    assert result.code == 2
    assert "'think'" in result.err and str(config) in result.err
    assert "auto | on | off" in result.err


def test_help_lists_the_commands(rung: Rung) -> None:
    result = rung("--help")
    assert result.code == 0
    for command in ("chat", "ask", "sessions", "config"):
        assert f"rung {command}" in result.out
    assert os.environ.get("RUNG_MODEL") is None
