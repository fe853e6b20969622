"""Docs that execute: every `rung …` command the README shows is one the CLI accepts."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from rung.agent.cli import build_parser

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
    from rung.agent.chat import COMMANDS

    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(/\w+)", text, re.M))
    assert documented == set(COMMANDS)


def test_readme_settings_table_matches_the_settings() -> None:
    from rung.config.settings import Settings

    text = README.read_text(encoding="utf-8")
    table = text[text.index("| setting | default |") :].split("\n\n")[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    assert documented == list(Settings.model_fields)
