"""Tiers: the built-in three, a plugin through a real installed entry point, the chatbot's
three "never"s, and each tier's prompt against golden files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import pytest

from rung.agent import tiers
from rung.agent.messages import RecalledMemory
from rung.agent.prompt import system_prompt, turn_message, typed_text
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

GOLDEN = Path(__file__).parent / "golden"
FACTS = ["My manager is Ana Duarte", "I live in Lyon"]


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["chatbot", "agent", "assistant"])
def test_each_tier_assembles_its_golden_system_prompt(name: str) -> None:
    prompt = system_prompt(
        tiers.get(name), persona=golden("persona.md"), profile=golden("profile.md"), facts=FACTS
    )
    assert prompt == golden(f"{name}.system.txt").rstrip("\n")


def test_without_a_persona_file_rung_is_itself() -> None:
    assert system_prompt(tiers.get("chatbot")).startswith("You are Rung, a helpful personal")


def test_the_changing_part_rides_with_the_message() -> None:
    now = datetime.fromisoformat("2026-11-25T09:30:00+01:00")
    memory = RecalledMemory("m1", "fact", "fact-1", "2026-11-20", "I live in Lyon", "fact-1")
    sent = turn_message("where do I live?", now=now, memories=[memory])
    boundaries = re.findall(r"\[end ([0-9a-f]{16})\]", sent)
    assert len(boundaries) == 1  # random each time: the memories cannot know it
    assert sent.replace(boundaries[0], "BOUNDARY") == golden("assistant.message.txt").rstrip("\n")
    assert typed_text(sent) == "where do I live?"
    assert turn_message("hi", now=None) == "hi"


def test_rung_tiers_lists_the_built_in_three(rung: Rung) -> None:
    shown = json.loads(rung("tiers", "--json").out)
    assert [(t["name"], t["default"]) for t in shown["tiers"]] == [
        ("chatbot", False),
        ("agent", True),
        ("assistant", False),
    ]
    assert shown["tiers"][2]["turns_on"] == ["tools", "recall", "profile and facts"]
    assert shown["problems"] == []


def test_an_unknown_tier_is_one_line_with_the_list(rung: Rung) -> None:
    result = rung("ask", "--tier", "wizard", "hi")
    assert result.code == 2
    assert result.err.splitlines() == [
        "rung: no tier named 'wizard'",
        "  hint: the tiers are: chatbot, agent, assistant (`rung tiers` says what each does)",
    ]


def test_the_chatbot_tier_offers_no_tools_starts_no_server_and_loads_no_embedder(
    rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    ollama_server.script(Reply(text="Hello!"))
    probe = textwrap.dedent(
        """
        import sys
        from rung.agent.cli.main import main
        code = main(["ask", "--tier", "chatbot", "hello"])
        heavy = ("sentence_transformers", "torch", "chromadb", "mcp")
        heavy = [m for m in heavy if m in sys.modules]
        print("loaded:", ",".join(heavy) or "nothing", file=sys.stderr)
        sys.exit(code)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], env=rung.env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello!\n"
    assert "loaded: nothing" in result.stderr  # no embedding model, no MCP SDK, no Chroma
    [request] = ollama_server.chat_requests
    assert "tools" not in request or not request["tools"]
    logs = isolated_home / "state" / "rung" / "logs" / "mcp"
    assert not logs.exists() or not any(logs.iterdir())  # no server ever started


README = Path(__file__).parents[2] / "README.md"
# The README's plugin, as written there: its entry point and its module, in a package that
# also declares a broken entry point.
PLUGIN_PYPROJECT = """
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "rung-tier-concise"
version = "0.1.0"

[tool.setuptools]
py-modules = ["my_tiers"]
"""


def readme_block(language: str, first_line: str) -> str:
    text = README.read_text(encoding="utf-8")
    for block in re.findall(rf"```{language}\n(.*?)```", text, re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no {language} block starting {first_line!r} in the README")


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's tier plugin, installed with pip into a folder put on PYTHONPATH."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    source.mkdir()
    entry_points = readme_block("toml", "# pyproject.toml of your package")
    broken = 'broken = "my_tiers:MISSING"\nstringy = "my_tiers:STRINGY"\n'
    (source / "pyproject.toml").write_text(PLUGIN_PYPROJECT + entry_points + broken)
    stringy = 'STRINGY = Tier("stringy", "one server, given as a string", servers="clock")\n'
    (source / "my_tiers.py").write_text(readme_block("python", "# my_tiers.py") + stringy)
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    return site


def test_a_plugin_tier_is_listed_and_chats(
    rung: Rung, ollama_server: OllamaTestServer, plugin_site: Path
) -> None:
    env = dict(rung.env, PYTHONPATH=os.pathsep.join([str(plugin_site), os.getcwd()]))
    plugged = Rung(env, process=True)  # the plugin is found through PYTHONPATH, at start
    shown = json.loads(plugged("tiers", "--json").out)
    concise = next(t for t in shown["tiers"] if t["name"] == "concise")
    assert concise["source"] == "plugin rung-tier-concise (my_tiers:CONCISE)"
    assert concise["turns_on"] == ["tools (clock)", "2 steps", "approval rules clock:*=allow"]
    missing, stringy = shown["problems"]
    assert missing.startswith("tier plugin rung-tier-concise (my_tiers:MISSING):")
    assert stringy == (
        "tier plugin rung-tier-concise (my_tiers:STRINGY): servers must be a tuple of names "
        "or globs, not 'clock'"
    )

    ollama_server.script(Reply(text="Tuesday."))
    result = plugged("ask", "--tier", "concise", "--json", "what day is it?", timeout=60)
    assert result.code == 0, result.err
    assert json.loads(result.out)["tier"] == "concise"
    [request] = ollama_server.chat_requests
    assert request["messages"][0]["content"].endswith("Answer in as few words as possible.")
    offered = {t["function"]["name"] for t in request["tools"]}
    assert offered == {"now", "convert_time", "add_time", "days_between"}  # the clock only


def test_the_first_message_is_the_same_bytes_across_runs_and_questions(
    rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    config = isolated_home / "config" / "rung"
    config.mkdir(parents=True, exist_ok=True)
    (config / "persona.md").write_text(golden("persona.md"))
    (config / "profile.md").write_text(golden("profile.md"))
    assert rung("memory", "facts", "add", "My manager is Ana Duarte").code == 0
    ollama_server.script(Reply(text="One."), Reply(text="Two."))
    # one run here, one in a process of its own: another hash seed, another set order
    other_run = Rung(dict(rung.env, PYTHONHASHSEED="12345"), process=True)
    for run, question in (
        (rung, "How do I prepare for a half marathon?"),
        (other_run, "Who is my manager?"),
    ):
        result = run("ask", "--tier", "assistant", question, timeout=120)
        assert result.code == 0, result.err
    first, second = ollama_server.chat_requests
    assert first["messages"][0] == second["messages"][0]  # byte for byte
    system = first["messages"][0]["content"]
    assert system.startswith("You are Wren") and "Sam Okafor" in system
    assert system.endswith("# What you have learnt about the user\n\n- My manager is Ana Duarte")
    assert first["tools"] == second["tools"]
    # the time rides with the message, at the end
    assert second["messages"][-1]["content"].startswith("[")
    assert second["messages"][-1]["content"].endswith("Who is my manager?")


def test_profile_opens_the_editor_and_the_assistant_uses_it(
    rung: Rung, ollama_server: OllamaTestServer, isolated_home: Path
) -> None:
    from tests.agent.test_chat import Chat

    rung.env["EDITOR"] = 'sh -c \'echo "Name: Zoe Park" >> "$0"\''
    chat = Chat(rung, "--tier", "assistant")
    chat.child.timeout = 90
    try:
        chat.prompt()
        chat.say("/profile")
        assert "the assistant uses it from your next message" in chat.prompt()
        profile = (isolated_home / "config" / "rung" / "profile.md").read_text()
        assert profile.startswith("# About me") and profile.endswith("Name: Zoe Park\n")
        ollama_server.script(Reply(text="You are Zoe."))
        chat.say("who am I?")
        chat.prompt()
        system = ollama_server.chat_requests[-1]["messages"][0]["content"]
        assert "# About the user\n\n# About me" in system and "Name: Zoe Park" in system
        assert chat.close() == 0
    finally:
        if chat.child.isalive():
            chat.child.terminate(force=True)
