"""`rung tools …` and `rung ask` with tools, run as a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer, Reply
from tests.tools.builtin.helpers import skip_without_bubblewrap

ROOT = Path(__file__).resolve().parents[2]
BOX = ["--", sys.executable, "-m", "tests.mcp_servers.toolbox"]


def mcp_json(home: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((home / "config" / "rung" / "mcp.json").read_text())
    return data


def add_box(rung: Rung, home: Path) -> None:
    result = rung("tools", "add", "box", *BOX)
    assert result.code == 0, result.err
    data = mcp_json(home)
    data["mcpServers"]["box"]["cwd"] = str(ROOT)  # type: ignore[index]
    (home / "config" / "rung" / "mcp.json").write_text(json.dumps(data))


def test_add_test_and_remove_a_server(rung: Rung, isolated_home: Path) -> None:
    add_box(rung, isolated_home)
    entry = mcp_json(isolated_home)["mcpServers"]["box"]  # type: ignore[index]
    assert entry["command"] == sys.executable and entry["args"][-1] == "tests.mcp_servers.toolbox"
    tested = rung("tools", "test", "box", "add", "--args", '{"a": 2, "b": 3}')
    assert tested.code == 0, tested.err
    assert "ready in" in tested.out and "9 tools" in tested.out and "echo" in tested.out
    assert "add answered in" in tested.out and tested.out.rstrip().endswith("5")
    assert rung("tools", "remove", "box").code == 0
    assert "box" not in mcp_json(isolated_home)["mcpServers"]  # type: ignore[operator]


def test_list_shows_servers_tools_and_policies(rung: Rung, isolated_home: Path) -> None:
    add_box(rung, isolated_home)
    assert rung("tools", "deny", "box:crash").code == 0
    assert rung("tools", "allow", "box:echo").code == 0
    listed = rung("tools", "list")
    assert listed.code == 0, listed.err
    lines = listed.out.splitlines()
    assert any(line.startswith("box ready") for line in lines)
    assert any(line.split()[:2] == ["echo", "allow"] for line in lines)
    assert any(line.split()[:2] == ["crash", "deny"] for line in lines)
    assert any(line.split()[:2] == ["add", "ask"] for line in lines)
    assert any(line.split()[:2] == ["now", "allow"] for line in lines)  # built-in, read-only
    assert any(line.startswith("shell disabled") for line in lines)


def test_disable_and_enable(rung: Rung, isolated_home: Path) -> None:
    add_box(rung, isolated_home)
    assert rung("tools", "disable", "box").code == 0
    assert any(line.startswith("box disabled") for line in rung("tools", "list").out.splitlines())
    assert rung("tools", "enable", "box").code == 0
    assert mcp_json(isolated_home)["mcpServers"]["box"]["enabled"] is True  # type: ignore[index]
    assert rung("tools", "enable", "shell").code == 0
    assert mcp_json(isolated_home)["builtins"] == {"shell": {"enabled": True}}


def test_a_server_that_cannot_start_is_explained(rung: Rung, isolated_home: Path) -> None:
    assert rung("tools", "add", "ghost", "--", "no-such-command-xyz").code == 0
    tested = rung("tools", "test", "ghost")
    assert tested.code == 1
    assert "no-such-command-xyz" in tested.out and "ghost.log" in tested.out


def test_bad_input_gets_one_line_and_a_hint(rung: Rung, isolated_home: Path) -> None:
    for args, words in (
        (("tools", "add", "x"), "no server given"),
        (("tools", "allow", "nobody:thing"), "no server named 'nobody'"),
        (("tools", "remove", "nobody"), "no server named 'nobody'"),
        (("tools", "test", "clock", "now", "--args", "{bad"), "--args is not valid JSON"),
        (("tools", "add", "x", "--url", "ftp://host"), "is not an http(s) URL"),
    ):
        result = rung(*args)
        assert result.code == 2, (args, result.err)
        assert words in result.err and "Traceback" not in result.err


def test_a_malformed_mcp_json_is_named_and_left_alone(rung: Rung, isolated_home: Path) -> None:
    path = isolated_home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"mcpServers": {')
    result = rung("tools", "allow", "clock")
    assert result.code == 2 and "not valid JSON" in result.err and str(path) in result.err
    assert path.read_text() == '{"mcpServers": {'


def test_ask_without_a_terminal_denies_what_would_ask(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    add_box(rung, isolated_home)
    ollama_server.script(
        Reply(tool_calls=[{"name": "echo", "arguments": {"text": "x"}}]),
        Reply(text="Could not."),
    )
    result = rung("ask", "--json", "echo x")
    assert result.code == 0, result.err
    [call] = json.loads(result.out)["tool_calls"]
    assert call["server"] == "box" and "did not run" in call["result"]


def test_ask_runs_an_allowed_tool(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    add_box(rung, isolated_home)
    assert rung("tools", "allow", "box:add").code == 0
    ollama_server.script(
        Reply(tool_calls=[{"name": "add", "arguments": {"a": 20, "b": 22}}]),
        Reply(text="42."),
    )
    result = rung("ask", "--json", "add them")
    assert result.code == 0, result.err
    answer = json.loads(result.out)
    assert answer["answer"] == "42." and answer["tool_calls"][0]["result"] == "42"


def test_a_crashing_server_shows_its_last_words(rung: Rung, isolated_home: Path) -> None:
    broken = ("--", sys.executable, "-c", "import no_such_module_xyz")
    assert rung("tools", "add", "broken", *broken).code == 0
    tested = rung("tools", "test", "broken")
    assert tested.code == 1
    assert "exited before it finished starting" in tested.out
    assert "No module named 'no_such_module_xyz'" in tested.out and "broken.log" in tested.out


def test_an_unreachable_http_server_is_named(rung: Rung, isolated_home: Path) -> None:
    assert rung("tools", "add", "far", "--url", "http://127.0.0.1:9/mcp").code == 0
    tested = rung("tools", "test", "far")
    assert tested.code == 1 and "cannot reach http://127.0.0.1:9/mcp" in tested.out


def test_new_scaffolds_a_server_that_passes_its_test_and_answers(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    made = rung("tools", "new", "notes", "--dir", str(tmp_path / "mine"))
    assert made.code == 0, made.err
    folder = tmp_path / "mine" / "notes"
    test = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, test.stdout + test.stderr
    tested = rung("tools", "test", "notes", "count_words", "--args", '{"text": "a b c"}')
    assert tested.code == 0 and tested.out.rstrip().endswith("3")
    again = rung("tools", "new", "notes", "--dir", str(tmp_path / "mine"))
    assert again.code == 2 and "already a server named 'notes'" in again.err


def test_import_shows_commands_and_adds_only_on_yes(rung: Rung, isolated_home: Path) -> None:
    other = isolated_home / "claude_desktop_config.json"
    block = {"fs": {"command": "npx", "args": ["-y", "server-fs", "/data"], "env": {"T": "x"}}}
    other.write_text(json.dumps({"mcpServers": block, "globalShortcut": "Ctrl+Space"}))
    shown = rung("tools", "import", str(other))
    assert shown.code == 1 and "npx -y server-fs /data" in shown.out and "env: T" in shown.out
    assert "Nothing added" in shown.out
    assert not (isolated_home / "config" / "rung" / "mcp.json").exists()
    added = rung("tools", "import", str(other), "--yes")
    assert added.code == 0, added.err
    assert mcp_json(isolated_home)["mcpServers"] == block
    assert "already configured" in rung("tools", "import", str(other), "--yes").out


def test_a_disabled_server_can_still_be_tested(rung: Rung, isolated_home: Path) -> None:
    skip_without_bubblewrap()  # the shell runs commands in its sandbox, or stays off
    tested = rung("tools", "test", "shell")  # off by default; the doctor starts it anyway
    assert tested.code == 0, tested.out + tested.err
    assert "run_command" in tested.out


def test_removing_a_server_drops_its_approval_rules(rung: Rung, isolated_home: Path) -> None:
    add_box(rung, isolated_home)
    assert rung("tools", "allow", "box:echo").code == 0
    assert rung("tools", "allow", "clock").code == 0
    removed = rung("tools", "remove", "box")
    assert removed.code == 0 and "dropped the rule box:echo" in removed.out
    assert mcp_json(isolated_home)["approvals"] == {"clock:*": "allow"}


def test_a_server_wide_rule_replaces_the_narrower_ones(rung: Rung, isolated_home: Path) -> None:
    add_box(rung, isolated_home)
    assert rung("tools", "allow", "box:echo").code == 0
    assert rung("tools", "ask", "box").code == 0
    assert mcp_json(isolated_home)["approvals"] == {"box:*": "ask"}


def test_a_bad_entry_is_skipped_and_named_the_others_work(rung: Rung, isolated_home: Path) -> None:
    path = isolated_home / "config" / "rung" / "mcp.json"
    path.parent.mkdir(parents=True)
    servers = {"fetch": {"command": "uvx", "args": ["mcp-server-fetch"]}, "old": {"type": "sse"}}
    path.write_text(json.dumps({"mcpServers": servers}))
    listed = rung("tools", "list")
    assert listed.code == 0, listed.err
    assert "tool server fetch skipped" in listed.out and "built-in" in listed.out
    assert "tool server old skipped" in listed.out
    assert any(line.startswith("fetch ready built-in") for line in listed.out.splitlines())


def test_import_skips_what_it_cannot_use_and_adds_the_rest(rung: Rung, isolated_home: Path) -> None:
    other = isolated_home / "cursor.json"
    block = {
        "fetch": {"command": "uvx", "args": ["mcp-server-fetch"]},
        "old": {"type": "sse", "url": "http://127.0.0.1:1/sse"},
        "git": {"command": "uvx", "args": ["mcp-server-git"]},
    }
    other.write_text(json.dumps({"mcpServers": block}))
    result = rung("tools", "import", str(other), "--yes")
    assert result.code == 0, result.err
    assert "fetch: skipped: the name of a built-in server" in result.out
    assert "old: skipped" in result.out
    assert list(mcp_json(isolated_home)["mcpServers"]) == ["git"]  # type: ignore[call-overload]
