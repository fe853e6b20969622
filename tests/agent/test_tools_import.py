"""`rung tools import`: every field shown before it is written, approval keys only on a yes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pexpect
import pytest

from rung.config.mcp_file import load_mcp_file
from tests.conftest import Rung

BLOCK = {
    "aws": {
        "command": "uvx",
        "args": ["aws-mcp", "--profile", "${AWS_PROFILE:-default}"],
        "env": {"AWS_SECRET_ACCESS_KEY": "${AWS_SECRET_ACCESS_KEY}", "REGION": "eu-west-1"},
        "approval": "allow",
        "startup_timeout": 10,
    },
    "notes": {
        "url": "https://notes.example/mcp",
        "headers": {"Authorization": "Bearer ${NOTES_TOKEN}"},
        "approval": {"search_*": "allow", "delete": "deny"},
        "autoApprove": ["search"],
    },
    "plain": {"command": "node", "args": ["server.js"], "cwd": "/srv/plain"},
}
WITHOUT_APPROVALS = {
    "aws": {k: v for k, v in BLOCK["aws"].items() if k != "approval"},
    "notes": {"url": "https://notes.example/mcp", "headers": BLOCK["notes"]["headers"]},
    "plain": BLOCK["plain"],
}


@pytest.fixture
def other(isolated_home: Path) -> Path:
    """Another client's config, with secrets passed by template and approval keys."""
    path = isolated_home / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": BLOCK}))
    return path


def written(home: Path) -> object:
    path = home / "config" / "rung" / "mcp.json"
    return json.loads(path.read_text())["mcpServers"] if path.exists() else None


def test_every_field_is_shown_and_each_variable_in_words(
    rung: Rung, isolated_home: Path, other: Path
) -> None:
    shown = rung("tools", "import", str(other))
    assert shown.code == 1, shown.err
    lines = [line.strip() for line in shown.out.splitlines()]
    aws, notes, plain = (lines.index(name) for name in ("aws", "notes", "plain"))
    assert lines[aws + 1 : notes] == [
        "runs: uvx aws-mcp --profile '${AWS_PROFILE:-default}'  "
        '(passes your AWS_PROFILE, or "default" where unset)',
        "env: AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}  (passes your AWS_SECRET_ACCESS_KEY)",
        "env: REGION=eu-west-1",
        "startup_timeout: 10",
        'approval: "allow"  (an approval key: every tool would run without asking you)',
    ]
    assert lines[notes + 1 : plain] == [
        "connects to: https://notes.example/mcp",
        "header: Authorization=Bearer ${NOTES_TOKEN}  (passes your NOTES_TOKEN)",
        'approval: {"search_*": "allow", "delete": "deny"}  '
        "(an approval key: the tools search_* would run without asking you)",
        'autoApprove: ["search"]  (an approval key of another client; Rung does not read it)',
    ]
    assert lines[plain + 1 : plain + 3] == ["runs: node server.js", "in: /srv/plain"]
    assert lines[-1] == (
        "Nothing added: run again with --yes to add them "
        "(approval keys only with --keep-approvals)."
    )
    assert written(isolated_home) is None


def test_yes_leaves_the_approval_keys_out_and_says_so_in_one_line(
    rung: Rung, isolated_home: Path, other: Path
) -> None:
    added = rung("tools", "import", str(other), "--yes")
    assert added.code == 0, added.err
    assert written(isolated_home) == WITHOUT_APPROVALS
    assert (
        "Left out the approval keys of aws, notes: add --keep-approvals to import them, or set "
        "policies with `rung tools allow|ask|deny SERVER[:TOOL]`.\n"
    ) in added.out


def test_keep_approvals_imports_them_as_shown(rung: Rung, isolated_home: Path, other: Path) -> None:
    added = rung("tools", "import", str(other), "--yes", "--keep-approvals")
    assert added.code == 0, added.err
    assert written(isolated_home) == BLOCK
    assert "Kept the approval keys of aws, notes, as shown." in added.out
    loaded = load_mcp_file(isolated_home / "config" / "rung" / "mcp.json")
    assert not loaded.problems and loaded.servers["aws"].approval == {"*": "allow"}


def test_a_block_without_approval_keys_says_nothing_of_them(
    rung: Rung, isolated_home: Path
) -> None:
    path = isolated_home / "cursor.json"
    path.write_text(json.dumps({"mcpServers": {"plain": BLOCK["plain"]}}))
    added = rung("tools", "import", str(path), "--yes")
    assert added.code == 0, added.err
    assert "approval key" not in added.out
    assert written(isolated_home) == {"plain": BLOCK["plain"]}


def test_keys_rung_does_not_use_are_named_not_written(rung: Rung, isolated_home: Path) -> None:
    path = isolated_home / "cursor.json"
    entry = {"command": "node", "args": ["s.js"], "icon": "x.png", "env": {"DEBUG": "1"}}
    path.write_text(json.dumps({"mcpServers": {"s": entry, "broken": ["not", "an", "object"]}}))
    added = rung("tools", "import", str(path), "--yes")
    assert added.code == 0, added.err
    assert "not imported: icon (not used by Rung)" in added.out
    assert "broken: skipped: mcpServers.broken" in added.out
    assert written(isolated_home) == {
        "s": {"command": "node", "args": ["s.js"], "env": {"DEBUG": "1"}}
    }


def test_control_characters_in_a_value_are_shown_escaped(rung: Rung, isolated_home: Path) -> None:
    """A value that would move the cursor or hide text is shown quoted, never sent raw."""
    path = isolated_home / "cursor.json"
    sneaky = {"command": "node", "args": ["s.js", "x\rok"], "env": {"K": "a\x1b[2Kb\u202e"}}
    path.write_text(json.dumps({"mcpServers": {"s": sneaky}}))
    shown = rung("tools", "import", str(path))
    assert '    runs: ["node", "s.js", "x\\rok"]' in shown.out
    assert '    env: K="a\\u001b[2Kb\\u202e"' in shown.out
    assert "\x1b" not in shown.out and "\r" not in shown.out and "\u202e" not in shown.out


def test_help_names_the_flags_as_they_work(rung: Rung) -> None:
    helped = rung("tools", "import", "--help")
    assert helped.code == 0
    text = " ".join(helped.out.split())
    assert (
        "--yes add them without asking; approval keys are left out unless --keep-approvals" in text
    )
    assert "--keep-approvals also import the servers' approval keys" in text


def import_in_a_terminal(rung: Rung, other: Path) -> pexpect.spawn:
    """`rung tools import OTHER` in a real terminal (a pty), for its questions."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "rung.agent.cli", "tools", "import", str(other)],
        env=rung.env,
        encoding="utf-8",
        dimensions=(40, 200),
        timeout=30,
    )


@pytest.mark.parametrize(
    ("answer", "expected", "said"),
    [
        ("", WITHOUT_APPROVALS, "Left out the approval keys of aws, notes: set policies with"),
        ("y", BLOCK, "Kept the approval keys of aws, notes, as shown."),
    ],
    ids=["enter-means-no", "yes"],
)
def test_in_a_terminal_approval_keys_are_a_second_question(
    rung: Rung, isolated_home: Path, other: Path, answer: str, expected: object, said: str
) -> None:
    child = import_in_a_terminal(rung, other)
    try:
        child.expect_exact("Add them to Rung? [y/N] ")
        assert "passes your AWS_SECRET_ACCESS_KEY" in str(child.before)
        child.send("y\r")
        child.expect_exact("Import the approval keys of aws, notes too")
        child.expect_exact("? [y/N] ")
        child.send(answer + "\r")
        child.expect_exact(said)
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    assert written(isolated_home) == expected


def test_in_a_terminal_a_no_adds_nothing(rung: Rung, isolated_home: Path, other: Path) -> None:
    child = import_in_a_terminal(rung, other)
    try:
        child.expect_exact("Add them to Rung? [y/N] ")
        child.send("\r")
        child.expect_exact("Nothing added.")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 1
    assert written(isolated_home) is None
