"""Docs that execute: every `rung …` command the README shows is one the CLI accepts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rung.agent.cli.main import build_parser
from rung.agent.prompt import unmarked
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply

README = Path(__file__).parent.parent / "README.md"


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if "rung " in line:
                commands.append(line[line.index("rung ") :])
    return commands


def test_the_readme_shows_commands() -> None:
    assert len(readme_commands()) >= 10


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_parses(command: str) -> None:
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.handler is not None


def test_readme_slash_commands_match_the_chat() -> None:
    from rung.agent.cli.chat import COMMANDS

    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(/\w+)", text, re.M))
    assert documented == set(COMMANDS)


def test_readme_settings_table_matches_the_settings() -> None:
    from rung.config.settings import Settings

    text = README.read_text(encoding="utf-8")
    table = text[text.index("| setting | default |") :].split("\n\n")[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == list(Settings.model_fields)


def test_readme_mcp_json_example_loads(tmp_path: Path) -> None:
    from rung.config.mcp_file import load_mcp_file
    from rung.tools.builtin import BUILTINS

    [block] = re.findall(r"```json\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    path = tmp_path / "mcp.json"
    path.write_text(block)
    file = load_mcp_file(path, frozenset(BUILTINS))
    assert file.servers["weather"].include == ("get_*",)
    assert file.servers["notes"].url and file.builtins["shell"].enabled


def test_write_your_own_tool_in_five_minutes(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    """The README's walk-through, run line by line as a user would type it."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Write your own tool in five minutes", 1)[1].split("\n### ", 1)[0]
    lines = [
        line.strip()
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
        for line in block.splitlines()
        if line.strip()
    ]
    [new_tool] = re.findall(r"```python\n(.*?)```", section, re.S)
    assert lines[0].split()[:3] == ["rung", "tools", "new"]
    env = dict(rung.env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    server = isolated_home / "tools" / "wordcount" / "wordcount_server.py"
    for line in lines:
        if line.startswith("rung ask"):
            ollama_server.script(
                Reply(tool_calls=[{"name": "longest_word", "arguments": {"text": "a bb ccc"}}]),
                Reply(text="The longest word is ccc."),
            )
        done = subprocess.run(["bash", "-c", line], env=env, capture_output=True, text=True)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
        if line.startswith("rung tools new"):
            code = server.read_text()
            main = code.index('\n\nif __name__ == "__main__":')
            server.write_text(code[:main] + "\n\n" + new_tool.rstrip() + code[main:])
        if line.startswith("rung tools test"):
            assert done.stdout.rstrip().endswith("quick")
    assert "The longest word is ccc." in done.stdout
    assert unmarked(ollama_server.chat_requests[1]["messages"][-1]["content"]) == "ccc"
