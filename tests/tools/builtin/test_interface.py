"""What the tool hub relies on: every built-in module offers the same small interface."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from mcp.client import Client

from rung.tools.builtin import BUILTINS, ENABLED_BY_DEFAULT
from tests.tools.builtin.helpers import skip_without_bubblewrap

TOOLS = {
    "clock": {"now", "convert_time", "add_time", "days_between"},
    "files": {"list_directory", "read_file", "search_files", "write_file"},
    "fetch": {"fetch"},
    "shell": {"run_command"},
    "memory": {"search_memory", "remember", "forget"},
}


def module(name: str) -> ModuleType:
    return importlib.import_module(BUILTINS[name])


def test_the_registry_names_five_servers_and_leaves_shell_off() -> None:
    assert set(BUILTINS) == set(TOOLS)
    assert {"clock", "files", "fetch", "memory"} == ENABLED_BY_DEFAULT


@pytest.mark.parametrize("name", sorted(TOOLS))
async def test_each_server_lists_its_tools_with_descriptions(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    if name == "shell":
        skip_without_bubblewrap()  # without it the shell is off, and says so
    builtin = module(name)
    assert name == builtin.NAME
    assert builtin.__doc__
    async with Client(builtin.create()) as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == TOOLS[name]
    assert TOOLS[name] >= builtin.READ_ONLY
    for tool in tools:
        assert tool.description and "\n" not in tool.description.strip()
        for parameter, schema in tool.input_schema.get("properties", {}).items():
            assert schema.get("description"), f"{tool.name}.{parameter} has no description"
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint == (tool.name in builtin.READ_ONLY)


def test_read_only_tools() -> None:
    assert TOOLS["clock"] == module("clock").READ_ONLY
    assert {"list_directory", "read_file", "search_files"} == module("files").READ_ONLY
    assert {"fetch"} == module("fetch").READ_ONLY
    assert frozenset() == module("shell").READ_ONLY


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_an_unknown_option_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValueError, match=rf"unknown option 'colour' for the {name} server"):
        module(name).create({"colour": "blue"})


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("files", {"max_read_bytes": 0}, "option 'max_read_bytes' of the files server"),
        ("files", {"roots": "/tmp"}, "option 'roots' of the files server"),
        ("files", {"roots": []}, "option 'roots' of the files server"),
        ("files", {"roots": ["/no/such/folder"]}, "'/no/such/folder' is not a folder"),
        ("fetch", {"timeout": -1}, "option 'timeout' of the fetch server"),
        ("fetch", {"allow_private": "yes"}, "option 'allow_private' of the fetch server"),
        ("fetch", {"max_bytes": "big"}, "option 'max_bytes' of the fetch server"),
        ("shell", {"timeout": 0}, "option 'timeout' of the shell server"),
        ("shell", {"cwd": "/no/such/folder"}, "option 'cwd' of the shell server"),
        ("shell", {"max_output_chars": 1.5}, "option 'max_output_chars' of the shell server"),
    ],
)
def test_a_bad_option_value_is_refused_in_one_line(
    name: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        module(name).create(options)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_help_describes_the_server(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        module(name).main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"python -m rung.tools.builtin.{name}" in out
    assert "MCP server over stdio" in out


def test_a_bad_flag_value_exits_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        module("files").main(["--root", "/no/such/folder"])
    assert exited.value.code == 2
    assert "'/no/such/folder' is not a folder" in capsys.readouterr().err
