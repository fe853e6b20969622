"""`mcp.json`: the mcpServers format, Rung's own keys, `${VAR}` expansion, saving."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rung.config.errors import ConfigError
from rung.config.mcp_file import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_STARTUP_TIMEOUT,
    McpFile,
    expand,
    load_mcp_file,
    set_approval,
)

BUILTINS = frozenset({"files", "shell", "clock", "fetch"})


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "mcp.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def load(tmp_path: Path, content: Any) -> McpFile:
    return load_mcp_file(write(tmp_path, content), BUILTINS)


def error(tmp_path: Path, content: Any) -> ConfigError:
    """The error for a whole file, or for the one server entry it skips."""
    try:
        file = load(tmp_path, content)
    except ConfigError as exc:
        return exc
    assert len(file.problems) == 1, file.problems
    [(name, problem)] = file.problems.items()
    assert name not in file.servers
    return problem


def server(tmp_path: Path, entry: dict[str, Any]) -> ConfigError:
    """The error for a file with one server, `s`, whose entry is `entry`."""
    return error(tmp_path, {"mcpServers": {"s": entry}})


FULL = {
    "mcpServers": {
        "notes": {
            "command": "uvx",
            "args": ["notes-mcp", "--db", "${HOME}/notes db"],
            "env": {"NOTES_KEY": "${NOTES_KEY}", "LEVEL": 3},
            "cwd": "~/notes",
            "enabled": True,
            "tools": {"include": ["note_*", "search"], "exclude": ["note_delete"]},
            "startup_timeout": 5,
            "call_timeout": 2.5,
            "approval": {"note_*": "allow", "search": "ask"},
        },
        "web": {
            "type": "streamable-http",
            "url": "https://example.org/mcp",
            "headers": {"Authorization": "Bearer ${TOKEN}"},
            "approval": "deny",
        },
    },
    "builtins": {"files": {"roots": ["~/docs"], "enabled": True, "call_timeout": 9}},
    "approvals": {"notes:note_write": "deny", "*:search": "allow"},
}


def test_a_file_with_every_key(tmp_path: Path) -> None:
    file = load(tmp_path, FULL)
    notes, web = file.servers["notes"], file.servers["web"]
    assert notes.transport == "stdio"
    assert (notes.command, notes.args) == ("uvx", ("notes-mcp", "--db", "${HOME}/notes db"))
    assert notes.env == {"NOTES_KEY": "${NOTES_KEY}", "LEVEL": "3"}  # expanded on start
    assert notes.cwd == "~/notes"
    assert notes.enabled is True
    assert (notes.include, notes.exclude) == (("note_*", "search"), ("note_delete",))
    assert (notes.startup_timeout, notes.call_timeout) == (5.0, 2.5)
    assert notes.approval == {"note_*": "allow", "search": "ask"}
    assert notes.launch_line() == "uvx notes-mcp --db '${HOME}/notes db'"

    assert web.transport == "http"
    assert web.url == "https://example.org/mcp"
    assert web.headers == {"Authorization": "Bearer ${TOKEN}"}
    assert web.approval == {"*": "deny"}
    assert (web.startup_timeout, web.call_timeout) == (
        DEFAULT_STARTUP_TIMEOUT,
        DEFAULT_CALL_TIMEOUT,
    )
    assert web.launch_line() == "https://example.org/mcp"

    files = file.builtins["files"]
    assert files.builtin and files.transport == "builtin"
    assert files.options == {"roots": ["~/docs"]}
    assert files.call_timeout == 9.0
    assert files.launch_line() == "built-in (files)"
    assert file.approvals == {"notes:note_write": "deny", "*:search": "allow"}


def test_a_block_pasted_from_claude_desktop(tmp_path: Path) -> None:
    pasted = """{
      "mcpServers": {
        "filesystem": {
          "command": "npx",
          "args": ["-y", "@modelcontextprotocol/server-filesystem", "/Users/me/Desktop"]
        },
        "github": {
          "command": "docker",
          "args": ["run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
          "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "<YOUR_TOKEN>"},
          "autoApprove": [],
          "disabled": false
        }
      },
      "globalShortcut": "Ctrl+Space"
    }"""  # noqa: E501
    file = load(tmp_path, pasted)
    assert list(file.servers) == ["filesystem", "github"]
    github = file.servers["github"]
    assert github.command == "docker" and github.args[-1] == "ghcr.io/github/github-mcp-server"
    assert github.env == {"GITHUB_PERSONAL_ACCESS_TOKEN": "<YOUR_TOKEN>"}
    assert github.enabled is True
    assert file.servers["filesystem"].call_timeout == DEFAULT_CALL_TIMEOUT
    assert file.builtins == {} and file.approvals == {}


def test_disabled_true_and_enabled_false_turn_a_server_off(tmp_path: Path) -> None:
    file = load(
        tmp_path,
        {
            "mcpServers": {
                "a": {"command": "a", "disabled": True},
                "b": {"command": "b", "enabled": False},
                "c": {"command": "c", "disabled": False},
            }
        },
    )
    assert [(n, s.enabled) for n, s in file.servers.items()] == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]


def test_expand_variables() -> None:
    env = {"HOME": "/home/ann", "EMPTY": "", "KEY": "k-123"}
    assert expand("${HOME}/notes", env, "x") == "/home/ann/notes"
    assert expand("Bearer ${KEY} and ${KEY}", env, "x") == "Bearer k-123 and k-123"
    assert expand("${UNSET:-fallback}", env, "x") == "fallback"
    assert expand("${EMPTY:-fallback}", env, "x") == "fallback"  # as in the shell
    assert expand("${EMPTY}", env, "x") == ""
    assert expand("${KEY:-unused}", env, "x") == "k-123"
    assert expand("${UNSET:-}", env, "x") == ""
    assert expand("no variables, $HOME stays", env, "x") == "no variables, $HOME stays"


def test_a_missing_variable_names_itself_and_where_it_is_used() -> None:
    with pytest.raises(ConfigError) as caught:
        expand("Bearer ${API_TOKEN}", {}, "mcpServers.web.headers.Authorization")
    assert str(caught.value) == (
        "mcpServers.web.headers.Authorization uses ${API_TOKEN}, but API_TOKEN is not set"
    )
    assert "export API_TOKEN=" in caught.value.hint
    assert "${API_TOKEN:-default}" in caught.value.hint


def test_variables_are_not_needed_to_read_the_file(tmp_path: Path) -> None:
    file = load(tmp_path, {"mcpServers": {"s": {"command": "x", "env": {"K": "${NOT_SET}"}}}})
    assert file.servers["s"].env == {"K": "${NOT_SET}"}  # one server's missing var stops none


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    text = '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n'
    caught = error(tmp_path, text)
    assert "is not valid JSON" in str(caught)
    assert "line 3, column 26" in str(caught)
    assert caught.hint


@pytest.mark.parametrize(
    ("entry", "names", "allowed"),
    [
        ({"command": "x", "args": "--flag"}, "mcpServers.s.args", "list of texts"),
        ({"command": "x", "args": ["a", 1]}, "mcpServers.s.args", "list of texts"),
        ({"command": "x", "env": ["A=1"]}, "mcpServers.s.env", "JSON object"),
        ({"command": "x", "env": {"A": None}}, "mcpServers.s.env.A", "is not a text"),
        ({"command": "x", "env": {"A": True}}, "mcpServers.s.env.A", "is not a text"),
        ({"command": ""}, "mcpServers.s.command", "non-empty text"),
        ({"command": 5}, "mcpServers.s.command", "non-empty text"),
        ({"command": "x", "cwd": 1}, "mcpServers.s.cwd", "text"),
        ({"url": "ftp://example.org"}, "mcpServers.s.url", "not an http(s) URL"),
        ({"url": "http://h", "headers": {"A": []}}, "mcpServers.s.headers.A", "not a text"),
        ({"command": "x", "enabled": "yes"}, "mcpServers.s.enabled", "true or false"),
        ({"command": "x", "startup_timeout": 0}, "startup_timeout", "number of seconds > 0"),
        ({"command": "x", "call_timeout": -1}, "call_timeout", "number of seconds > 0"),
        ({"command": "x", "call_timeout": "10"}, "call_timeout", "number of seconds > 0"),
        ({"command": "x", "call_timeout": True}, "call_timeout", "number of seconds > 0"),
        ({"command": "x", "tools": []}, "mcpServers.s.tools", "JSON object"),
        ({"command": "x", "tools": {"include": "a*"}}, "tools.include", "list of texts"),
        ({"command": "x", "approval": "maybe"}, "mcpServers.s.approval.*", "is not a policy"),
        ({"command": "x", "approval": {"t": "yes"}}, "mcpServers.s.approval.t", "not a policy"),
        ({"command": "x", "approval": ["allow"]}, "mcpServers.s.approval", "JSON object"),
        ({"command": "x", "type": ["stdio"]}, "mcpServers.s.type", "not supported"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(
    tmp_path: Path, entry: dict[str, Any], names: str, allowed: str
) -> None:
    message = str(server(tmp_path, entry))
    assert names in message
    assert allowed in message
    assert str(tmp_path / "mcp.json") in message


def test_a_bad_policy_hints_at_the_allowed_ones(tmp_path: Path) -> None:
    caught = error(tmp_path, {"approvals": {"notes:*": "sometimes"}})
    assert "approvals.notes:*" in str(caught) and "'sometimes'" in str(caught)
    assert caught.hint == "allowed: allow | ask | deny"


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_timeouts_must_be_finite(tmp_path: Path, value: float) -> None:
    # Python's json module reads NaN and Infinity; a timeout of either would never fire.
    text = json.dumps({"mcpServers": {"s": {"command": "x", "call_timeout": value}}})
    assert "call_timeout" in str(error(tmp_path, text))


def test_an_unknown_key_is_named_with_the_allowed_ones(tmp_path: Path) -> None:
    caught = server(tmp_path, {"command": "x", "comand": "y"})
    assert "mcpServers.s.comand" in str(caught) and "unknown key" in str(caught)
    assert "command" in caught.hint and "call_timeout" in caught.hint
    caught = server(tmp_path, {"command": "x", "tools": {"allow": ["a"]}})
    assert "mcpServers.s.tools.allow" in str(caught)
    assert caught.hint == "allowed: include, exclude"


def test_other_clients_keys_are_accepted(tmp_path: Path) -> None:
    entry = {
        "command": "x",
        "autoApprove": ["a"],
        "alwaysAllow": [],
        "timeout": 60,
        "description": "mine",
        "transportType": "stdio",
    }
    assert load(tmp_path, {"mcpServers": {"s": entry}}).servers["s"].command == "x"


@pytest.mark.parametrize(
    "entry", [{"command": "x", "url": "http://h/mcp"}, {}, {"args": ["only args"]}]
)
def test_exactly_one_of_command_and_url(tmp_path: Path, entry: dict[str, Any]) -> None:
    assert "give either 'command' (a stdio server) or 'url'" in str(server(tmp_path, entry))


@pytest.mark.parametrize("kind", ["sse", "websocket"])
def test_sse_and_other_transports_are_refused_clearly(tmp_path: Path, kind: str) -> None:
    caught = server(tmp_path, {"type": kind, "url": "http://127.0.0.1:8000/sse"})
    assert f"mcpServers.s.type in {tmp_path / 'mcp.json'}: {kind!r} is not supported" in str(caught)
    assert "streamable HTTP" in caught.hint


@pytest.mark.parametrize("kind", ["stdio", "http", "streamable-http", "streamableHttp"])
def test_supported_transport_types(tmp_path: Path, kind: str) -> None:
    entry = {"type": kind, "command": "x"} if kind == "stdio" else {"type": kind, "url": "http://h"}
    config = load(tmp_path, {"mcpServers": {"s": entry}}).servers["s"]
    assert config.transport == ("stdio" if kind == "stdio" else "http")


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "a/b", "x" * 65, "ünï"])
def test_unusable_server_names(tmp_path: Path, name: str) -> None:
    caught = error(tmp_path, {"mcpServers": {name: {"command": "x"}}})
    assert "is not usable" in str(caught) and caught.hint


def test_the_file_must_hold_objects(tmp_path: Path) -> None:
    assert "must hold a JSON object" in str(error(tmp_path, "[1, 2]"))
    assert "mcpServers" in str(error(tmp_path, {"mcpServers": []}))
    assert "builtins" in str(error(tmp_path, {"builtins": "files"}))
    assert "approvals" in str(error(tmp_path, {"approvals": None}))


def test_builtins_are_checked_against_the_known_ones(tmp_path: Path) -> None:
    caught = error(tmp_path, {"builtins": {"filez": {}}})
    assert "builtins.filez" in str(caught) and "no built-in server of that name" in str(caught)
    assert caught.hint == "built-in servers: clock, fetch, files, shell"
    caught = error(tmp_path, {"mcpServers": {"files": {"command": "x"}}, "builtins": {"files": {}}})
    assert "'files' is the name of a built-in server" in str(caught) and "rename" in caught.hint


def test_one_bad_server_is_skipped_and_the_others_load(tmp_path: Path) -> None:
    file = load(
        tmp_path,
        {
            "mcpServers": {
                "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
                "old": {"type": "sse", "url": "http://x/sse"},
                "good": {"command": "ok"},
            }
        },
    )
    assert list(file.servers) == ["good"]
    assert set(file.problems) == {"fetch", "old"}
    assert "built-in" in file.problems["fetch"].message
    assert "builtins.shell.enabled" in str(error(tmp_path, {"builtins": {"shell": {"enabled": 1}}}))


def test_a_missing_or_empty_file_is_an_empty_one(tmp_path: Path) -> None:
    missing = load_mcp_file(tmp_path / "nowhere" / "mcp.json")
    assert (missing.raw, missing.servers, missing.builtins, missing.approvals) == ({}, {}, {}, {})
    empty = load(tmp_path, "  \n")
    assert (empty.raw, empty.servers) == ({}, {})


def test_a_directory_or_unreadable_bytes_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_mcp_file(tmp_path / "folder.json")
    binary = tmp_path / "bad.json"
    binary.write_bytes(b'{"mcpServers": "\xff\xfe"}')
    with pytest.raises(ConfigError, match="cannot read"):
        load_mcp_file(binary)


def test_save_keeps_what_it_does_not_know_and_is_private(tmp_path: Path) -> None:
    original = {
        **FULL,
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {
            **FULL["mcpServers"],  # type: ignore[dict-item]
            "other": {"command": "o", "autoApprove": ["x"], "description": "kept"},
        },
    }
    folder = tmp_path / "config"
    folder.mkdir()
    path = write(folder, original)
    path.chmod(0o644)
    file = load_mcp_file(path, BUILTINS)
    set_approval(file, "notes:search", "allow")
    file.save()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it may hold tokens
    assert [p.name for p in folder.iterdir()] == ["mcp.json"]  # no temp file left
    saved = json.loads(path.read_text())
    assert saved == {**original, "approvals": {**FULL["approvals"], "notes:search": "allow"}}  # type: ignore[dict-item]
    again = load_mcp_file(path, BUILTINS)
    assert again.approvals["notes:search"] == "allow"
    assert again.servers == file.servers


def test_save_creates_the_file_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "config" / "rung" / "mcp.json"
    file = load_mcp_file(path)
    file.server_entries()["box"] = {"command": "box"}
    set_approval(file, "box:*", "ask")
    file.save()
    again = load_mcp_file(path)
    assert again.servers["box"].command == "box"
    assert again.approvals == {"box:*": "ask"}
    assert os.stat(path).st_mode & 0o077 == 0


# -- fuzzing: any JSON at all gives a file or a ConfigError, never a traceback -----------

SERVER_KEYS = [
    "command",
    "args",
    "env",
    "cwd",
    "url",
    "headers",
    "type",
    "transportType",
    "enabled",
    "disabled",
    "tools",
    "startup_timeout",
    "call_timeout",
    "approval",
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers(-5, 100)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(["allow", "ask", "deny", "stdio", "http", "http://h/mcp", "${X}", "x"])
    | st.text(max_size=6)
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["include", "exclude", "*", "x"]) | st.text(max_size=4),
            inner,
            max_size=3,
        )
    ),
    max_leaves=12,
)
# A valid server entry with a few keys set to anything: each key's check meets every shape.
ENTRY = st.builds(
    lambda base, extra: {**base, **extra},
    st.sampled_from([{"command": "x"}, {"url": "http://h/mcp"}]),
    st.dictionaries(st.sampled_from(SERVER_KEYS) | st.text(max_size=4), JSON, max_size=3),
)
DOCUMENT = st.fixed_dictionaries(
    {},
    optional={
        "mcpServers": st.dictionaries(st.sampled_from(["s", "files", "a b"]), ENTRY | JSON),
        "builtins": st.dictionaries(st.sampled_from(["files", "nope"]), ENTRY | JSON),
        "approvals": st.dictionaries(st.sampled_from(["*", "s:x"]), JSON, max_size=2),
        "other": JSON,
    },
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(document=DOCUMENT | JSON)
def test_any_json_loads_or_raises_config_error(tmp_path: Path, document: Any) -> None:
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(document))
    try:
        file = load_mcp_file(path, BUILTINS)
    except ConfigError as exc:
        assert str(exc)
        return
    for config in [*file.servers.values(), *file.builtins.values()]:
        assert 0 < config.startup_timeout < math.inf and 0 < config.call_timeout < math.inf
        assert all(p in ("allow", "ask", "deny") for p in config.approval.values())
        assert config.builtin or (config.command is None) != (config.url is None)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_any_bytes_load_or_raise_config_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.json"
    path.write_bytes(data)
    try:
        load_mcp_file(path)
    except ConfigError as exc:
        assert str(exc)
