"""`rung init` end to end: the real CLI reading answers on stdin, the Ollama-protocol test
server standing in for Ollama, and the real `rung doctor` at the end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest

from rung.agent.prompt import DEFAULT_PERSONA, persona_text
from rung.config.settings import default_config_text
from tests.conftest import Rung
from tests.mcp_servers.http import free_port
from tests.ollama_server import ModelInfo, OllamaTestServer, Reply


def config_dir(home: Path) -> Path:
    return home / "config" / "rung"


def rung_at(server: OllamaTestServer) -> Rung:
    return Rung(dict(os.environ, RUNG_OLLAMA_HOST=server.url, COLUMNS="100"))


def settings_lines(home: Path) -> list[str]:
    text = (config_dir(home) / "config.toml").read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_a_new_user_answers_a_few_questions_and_rung_works_as_told(
    isolated_home: Path,
) -> None:
    models = [
        ModelInfo("llama3.2:latest", capabilities=["completion"], family="llama"),
        ModelInfo("qwen3:4b"),
    ]
    with OllamaTestServer(models) as server:
        rung = rung_at(server)
        answers = "2\nassistant\nWren\nwarm\nAna\nLyon\n\nshort answers\n"
        result = rung("init", input=answers)
        assert result.code == 0, result.out + result.err
        assert "llama3.2:latest" in result.out and "qwen3:4b" in result.out
        assert "✓ ollama" in result.out and "✓ tool calls" in result.out  # the doctor ran
        assert "Ready." in result.out

        assert settings_lines(isolated_home) == ['model = "qwen3:4b"', 'default_tier = "assistant"']
        persona = (config_dir(isolated_home) / "persona.md").read_text()
        assert persona == persona_text("Wren", "warm") + "\n"
        profile = (config_dir(isolated_home) / "profile.md").read_text()
        assert "Name: Ana\n" in profile and "Where I live: Lyon\n" in profile
        assert "Preferences (how I like answers, what to avoid): short answers" in profile
        assert "\nWork:\n" in profile  # skipped, left for the user to fill in

        # what was chosen is what Rung now does
        server.script(Reply("Hello Ana."))
        asked = rung("ask", "--no-save", "Hi")
        assert asked.code == 0, asked.err
        request = server.chat_requests[-1]
        assert request["model"] == "qwen3:4b" and request["tools"]
        system = request["messages"][0]["content"]
        assert system.startswith(persona.strip()) and "Name: Ana" in system


def test_yes_takes_every_default_and_the_default_persona_is_rungs_own(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    result = rung("init", "--yes", "--tier", "chatbot")
    assert result.code == 0, result.out + result.err
    assert "Model (number or name): qwen3:4b" in result.out  # each default, shown
    assert settings_lines(isolated_home) == ['model = "qwen3:4b"', 'default_tier = "chatbot"']
    persona = (config_dir(isolated_home) / "persona.md").read_text()
    assert persona.strip() == DEFAULT_PERSONA  # the prompt is as if no file were there
    assert not (config_dir(isolated_home) / "profile.md").exists()  # chatbot reads none
    # the rest of the file is the commented default, for the user to edit
    written = (config_dir(isolated_home) / "config.toml").read_text()
    assert written.count("\n# ") == default_config_text().count("\n# ") - 2


def test_with_no_model_pulled_it_offers_one_and_pulls_it(isolated_home: Path) -> None:
    with OllamaTestServer([], pullable=["qwen3:4b"]) as server:
        answers = "qwen9:1t\ny\n\ny\n\n\n"  # a name Ollama cannot find first, then Enter
        result = rung_at(server)("init", "--tier", "chatbot", input=answers)
        assert result.code == 0, result.out + result.err
        assert "✗ Ollama found no model named 'qwen9:1t' to download" in result.out
        assert "no models yet" in result.out and "Pulled qwen3:4b." in result.out
        assert [m.name for m in server.models] == ["qwen3:4b"]
        assert "1 model pulled" in result.out
    assert 'model = "qwen3:4b"' in settings_lines(isolated_home)


def test_a_model_that_cannot_call_tools_makes_chatbot_the_default(isolated_home: Path) -> None:
    only = [ModelInfo("gemma:2b", capabilities=["completion"], family="gemma")]
    with OllamaTestServer(only) as server:
        result = rung_at(server)("init", "--yes")
    assert result.code == 0, result.out + result.err
    assert "gemma:2b cannot call tools, so the default is the chatbot tier" in result.out
    assert settings_lines(isolated_home) == ['model = "gemma:2b"', 'default_tier = "chatbot"']


def test_existing_files_and_settings_are_kept(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    folder = config_dir(isolated_home)
    folder.mkdir(parents=True)
    config = (
        '# my settings\ntier = "assistant"\nnum_ctx = 8192  # a small box\n\n'
        '[memory]\nbackend = "embedded"\n'
    )
    (folder / "config.toml").write_text(config)
    (folder / "persona.md").write_text("You are Jeeves.\n")
    (folder / "profile.md").write_text("Name: Bertie\n")

    result = rung("init", input="\nagent\n")
    assert result.code == 0, result.out + result.err
    assert "Keeping your persona" in result.out
    assert (folder / "persona.md").read_text() == "You are Jeeves.\n"
    assert (folder / "profile.md").read_text() == "Name: Bertie\n"
    assert (folder / "config.toml").read_text() == (
        '# my settings\ndefault_tier = "agent"\nnum_ctx = 8192  # a small box\n'
        'model = "qwen3:4b"\n\n[memory]\nbackend = "embedded"\n'
    )
    shown = rung("config", "show")
    assert "num_ctx" in shown.out and "8192" in shown.out


def test_without_ollama_it_still_writes_the_choices_and_the_doctor_says_why(
    isolated_home: Path,
) -> None:
    rung = Rung(dict(os.environ, COLUMNS="100"))
    host = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = rung("init", "--host", host, "--tier", "chatbot", input="\nllama3.2\n\n\n")
    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.out + result.err
    assert f"✗ Ollama at {host}: cannot reach the Ollama server" in result.out
    assert "✗ ollama" in result.out and "Fix what is marked ✗" in result.out
    lines = settings_lines(isolated_home)
    assert f'ollama_host = "{host}"' in lines and 'model = "llama3.2"' in lines


def test_a_bad_tier_is_one_line_before_any_question(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    result = rung("init", "--tier", "wizard", input="\n")
    assert result.code == 2
    assert result.out == ""
    assert result.err.splitlines()[0] == "rung: no tier named 'wizard'"
    assert not config_dir(isolated_home).exists()


def test_a_broken_config_file_is_left_untouched(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    folder = config_dir(isolated_home)
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text("model = \n")
    result = rung("init", "--yes")
    assert result.code == 2
    assert "not valid TOML" in result.err and "Traceback" not in result.err
    assert (folder / "config.toml").read_text() == "model = \n"


def test_a_pull_that_breaks_half_way_is_told_and_the_model_asked_again(
    isolated_home: Path,
) -> None:
    with OllamaTestServer([], pullable=["qwen3:4b"]) as server:
        server.pull_error = "max retries exceeded: unexpected EOF"
        answers = "\ny\n\ny\n"  # Enter (the suggestion), pull it, again after the failure
        result = rung_at(server)("init", "--tier", "chatbot", input=answers)
        assert result.code == 0, result.out + result.err
        assert "✗ Ollama could not download 'qwen3:4b': max retries exceeded" in result.out
        assert "hint: check the network" in result.out
        assert result.out.count("Model to pull [qwen3:4b]") == 2
        assert [m.name for m in server.models] == ["qwen3:4b"]


def test_an_offline_ollama_is_not_told_as_a_wrong_name(isolated_home: Path) -> None:
    offline = (
        'pull model manifest: Get "https://registry.example/v2/library/qwen3/manifests/4b": '
        "dial tcp: lookup registry.example: no such host"
    )
    with OllamaTestServer([], pullable=["qwen3:4b"]) as server:
        server.pull_error = offline
        result = rung_at(server)("init", "--tier", "chatbot", input="\ny\n")
    said = " ".join(result.out.split())  # as one line, however the terminal wrapped it
    assert "Ollama could not download 'qwen3:4b'" in said and "no such host" in said
    assert "check the network" in said
    assert "found no model named" not in result.out


def test_a_yes_or_no_question_asks_again_until_it_gets_one(isolated_home: Path) -> None:
    with OllamaTestServer([], pullable=["qwen3:4b"]) as server:
        answers = "\n2\nyes\n"  # the suggestion; then "2" is neither yes nor no
        result = rung_at(server)("init", "--tier", "chatbot", input=answers)
        assert result.code == 0, result.out + result.err
        assert "'2': type y or n" in result.out
        assert [m.name for m in server.models] == ["qwen3:4b"]


def test_a_configured_model_is_offered_when_none_is_pulled(isolated_home: Path) -> None:
    folder = config_dir(isolated_home)
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('model = "llama3.2:3b"\n')
    with OllamaTestServer([], pullable=["llama3.2:3b"]) as server:
        result = rung_at(server)("init", "--tier", "chatbot", input="\ny\n")
        assert result.code == 0, result.out + result.err
        assert "your settings name llama3.2:3b" in result.out
        assert "Model to pull [llama3.2:3b]" in result.out
        assert [m.name for m in server.models] == ["llama3.2:3b"]


def test_a_named_model_that_cannot_be_pulled_shows_the_list_to_choose_from(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    result = rung("init", "--model", "nope:1b", "--tier", "chatbot", input="y\n1\n")
    assert result.code == 0, result.out + result.err
    failed = result.out.index("found no model named 'nope:1b'")
    assert result.out.index("qwen3:4b", failed) < result.out.index("Model (number or name)")
    assert 'model = "qwen3:4b"' in settings_lines(isolated_home)


def test_answers_are_shown_as_typed_never_read_as_markup(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    result = rung("init", input="\n[/bold]\n1\n[red]Wren\n")
    assert result.code == 0, result.out + result.err
    assert "'[/bold]' is not in the list" in result.out
    assert "How should [red]Wren answer" in result.out


@pytest.mark.parametrize("key", ["\x03", "\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_or_ctrl_d_at_a_question_stops_at_once_and_writes_nothing(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer, key: str
) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "rung.agent.cli", "init"],
        env=rung.env,
        encoding="utf-8",
        dimensions=(40, 100),
        timeout=30,
    )
    try:
        child.expect_exact("Model (number or name) [qwen3:4b]: ")
        child.send("\r")
        child.expect_exact("Tier (number or name)")
        # A SIGINT that lands after input() printed its prompt but before its read began is
        # seen only at the next one (CPython's input(); a loaded machine widens that gap): a
        # second Ctrl-C, as a person would press. Ctrl-D is input, not a signal: no race.
        tries, wait = (3, 5) if key == "\x03" else (1, 30)
        for _ in range(tries):
            child.send(key)
            if child.expect_exact(["Stopped: nothing was written.", pexpect.TIMEOUT], wait) == 0:
                break
        else:
            raise AssertionError(f"not stopped: {child.before!r}")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert "Traceback" not in str(child.before)
    assert child.exitstatus == 130
    assert not (config_dir(isolated_home) / "config.toml").exists()
    assert not (config_dir(isolated_home) / "persona.md").exists()
