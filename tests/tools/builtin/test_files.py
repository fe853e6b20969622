"""The files server, called through a real in-process MCP client, on folders in tmp_path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.types import TextContent

from rung.tools.builtin import files
from tests.tools.builtin.helpers import ok, refused


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A root folder with some text, a binary, a hidden folder and a subfolder."""
    root = tmp_path / "root"
    (root / "notes").mkdir(parents=True)
    (root / "notes" / "todo.md").write_text("buy milk\ncall Alice\nwrite report\n")
    (root / "notes" / "ideas.txt").write_text("A garden on the roof\n")
    (root / "README.md").write_text("# Project\nSee notes/todo.md\n")
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff\x00milk\x00" * 10)
    (root / ".git").mkdir()
    (root / ".git" / "milk-config").write_text("milk\n")
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the root, with a secret in it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the password\n")
    return outside


def server(*roots: Path, **options: object) -> MCPServer:
    return files.create({"roots": [str(root) for root in roots], **options})


# --- list_directory ----------------------------------------------------------------------


async def test_list_directory_shows_folders_first_with_sizes(root: Path) -> None:
    text = await ok(server(root), "list_directory")
    assert text.splitlines() == [
        "./ (4 entries)",
        ".git/",
        "notes/",
        "photo.jpg  90 bytes",
        "README.md  28 bytes",
    ]


async def test_list_directory_of_a_subfolder_and_an_empty_one(root: Path) -> None:
    assert "todo.md  " in await ok(server(root), "list_directory", path="notes")
    (root / "empty").mkdir()
    assert (
        await ok(server(root), "list_directory", path="empty")
        == "empty/ (0 entries)\n(empty folder)"
    )


async def test_list_directory_of_a_file_or_nothing_is_refused(root: Path) -> None:
    assert "README.md is a file, not a folder" in await refused(
        server(root), "list_directory", path="README.md"
    )
    assert "nope is not there" in await refused(server(root), "list_directory", path="nope")


async def test_list_directory_marks_links_that_lead_outside(root: Path, outside: Path) -> None:
    (root / "escape").symlink_to(outside)
    text = await ok(server(root), "list_directory")
    assert "escape (link to outside the allowed folders)" in text


# --- read_file ---------------------------------------------------------------------------


async def test_read_file_returns_the_text(root: Path) -> None:
    text = await ok(server(root), "read_file", path="notes/todo.md")
    assert text == "buy milk\ncall Alice\nwrite report\n"


async def test_read_file_by_line_range_says_where_to_go_on(root: Path) -> None:
    text = await ok(server(root), "read_file", path="notes/todo.md", offset_line=1, max_lines=1)
    assert text == "call Alice\n[... more lines follow: read_file with offset_line=2]"
    rest = await ok(server(root), "read_file", path="notes/todo.md", offset_line=2)
    assert rest == "write report\n"


async def test_read_file_past_the_end_is_refused(root: Path) -> None:
    message = await refused(server(root), "read_file", path="notes/todo.md", offset_line=3)
    assert message == "notes/todo.md has fewer than 4 lines"


async def test_read_file_stops_at_max_read_bytes(root: Path) -> None:
    (root / "big.txt").write_text("".join(f"line {n}\n" for n in range(1000)))
    text = await ok(server(root, max_read_bytes=20), "read_file", path="big.txt")
    assert text == "line 0\nline 1\n[... more lines follow: read_file with offset_line=2]"


async def test_read_file_cuts_a_line_longer_than_max_read_bytes(root: Path) -> None:
    (root / "one-line.txt").write_text("x" * 100)
    text = await ok(server(root, max_read_bytes=10), "read_file", path="one-line.txt")
    assert text == "x" * 10 + "\n[... line 1 is longer than 10 bytes: cut here]"


async def test_read_file_refuses_binary_folders_and_missing_files(root: Path) -> None:
    assert await refused(server(root), "read_file", path="photo.jpg") == (
        "photo.jpg is a binary file, not text; read_file reads text"
    )
    assert "notes is a folder; use list_directory" in await refused(
        server(root), "read_file", path="notes"
    )
    assert "missing.txt does not exist" in await refused(
        server(root), "read_file", path="missing.txt"
    )


async def test_pipes_are_not_read(root: Path) -> None:
    os.mkfifo(root / "pipe")
    message = await refused(server(root), "read_file", path="pipe")
    assert message == "pipe is not a regular file (a device, pipe or socket)"
    assert await ok(server(root), "search_files", query="zebra") == "nothing matches 'zebra' in ."


async def test_read_file_of_an_empty_file(root: Path) -> None:
    (root / "empty.txt").touch()
    assert await ok(server(root), "read_file", path="empty.txt") == "(empty file)"


# --- paths that lead outside -----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "../outside/secret.txt",
        "notes/../../outside/secret.txt",
        "{outside}/secret.txt",
        "/etc/passwd",
    ],
)
async def test_paths_outside_the_roots_are_refused(root: Path, outside: Path, path: str) -> None:
    path = path.format(outside=outside)
    message = await refused(server(root), "read_file", path=path)
    assert message == (
        f"{path!r} is outside the folders this tool may use ({root}); use a path inside them"
    )


async def test_hidden_files_and_folders_are_refused_unless_allowed(root: Path) -> None:
    (root / ".env").write_text("API_KEY=secret\n")
    for tool, path in (("read_file", ".env"), ("read_file", ".git/milk-config")):
        assert "is hidden" in await refused(server(root), tool, path=path)
    assert "is hidden" in await refused(server(root), "write_file", path=".env", content="x")
    assert "is hidden" in await refused(server(root), "list_directory", path=".git")
    assert ".env" not in await ok(server(root), "search_files", query="API_KEY")
    assert "API_KEY=secret" in await ok(server(root, allow_hidden=True), "read_file", path=".env")


async def test_a_hidden_root_itself_is_usable(tmp_path: Path) -> None:
    hidden_root = tmp_path / ".notes"
    hidden_root.mkdir()
    (hidden_root / "a.txt").write_text("inside a hidden root\n")
    assert "inside a hidden root" in await ok(server(hidden_root), "read_file", path="a.txt")


async def test_symlinks_leading_outside_are_refused(root: Path, outside: Path) -> None:
    (root / "linked-folder").symlink_to(outside)
    (root / "linked-file.txt").symlink_to(outside / "secret.txt")
    for path in ("linked-folder/secret.txt", "linked-file.txt"):
        assert "is outside the folders" in await refused(server(root), "read_file", path=path)
    assert "is outside the folders" in await refused(
        server(root), "list_directory", path="linked-folder"
    )


async def test_symlinks_inside_the_roots_are_followed(root: Path) -> None:
    (root / "shortcut").symlink_to(root / "notes")
    assert "call Alice" in await ok(server(root), "read_file", path="shortcut/todo.md")


async def test_several_roots_relative_paths_start_at_the_first(root: Path, outside: Path) -> None:
    both = server(root, outside)
    assert await ok(both, "read_file", path=str(outside / "secret.txt")) == "the password\n"
    assert "secret.txt does not exist" in await refused(both, "read_file", path="secret.txt")
    message = await refused(both, "read_file", path="/etc/passwd")
    assert f"({root}, {outside})" in message


async def test_the_default_root_is_the_current_folder(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root / "notes")
    assert await ok(files.create(), "read_file", path="ideas.txt") == "A garden on the roof\n"
    assert "is outside" in await refused(files.create(), "read_file", path="../README.md")


# --- search_files ------------------------------------------------------------------------


async def test_search_files_finds_names_and_lines(root: Path) -> None:
    text = await ok(server(root), "search_files", query="MILK")
    assert text.splitlines() == ["1 match for 'MILK' in .:", "notes/todo.md:1: buy milk"]


async def test_search_files_matches_names_by_substring_and_glob(root: Path) -> None:
    by_name = await ok(server(root), "search_files", query="todo", content=False)
    assert by_name.splitlines()[1:] == ["notes/todo.md"]
    glob = await ok(server(root), "search_files", query="*.md")
    assert glob.splitlines()[1:] == ["README.md", "notes/todo.md"]


async def test_search_files_in_a_subfolder_finds_folders_too(root: Path) -> None:
    (root / "notes" / "old-notes").mkdir()
    text = await ok(server(root), "search_files", query="notes", path="notes", content=False)
    assert text.splitlines()[1:] == ["notes/old-notes/"]


async def test_search_files_skips_hidden_folders_and_binaries(root: Path) -> None:
    text = await ok(server(root), "search_files", query="milk")
    assert ".git" not in text and "photo.jpg" not in text


async def test_search_files_with_no_match(root: Path) -> None:
    text = await ok(server(root), "search_files", query="zebra")
    assert text == "nothing matches 'zebra' in ."


async def test_search_files_bounds_its_results(root: Path) -> None:
    (root / "many.txt").write_text("needle\n" * (files.MAX_SEARCH_RESULTS + 50))
    text = await ok(server(root), "search_files", query="needle")
    lines = text.splitlines()
    assert lines[0] == f"{files.MAX_SEARCH_RESULTS} matches for 'needle' in .:"
    assert len(lines) == files.MAX_SEARCH_RESULTS + 2
    assert lines[-1].startswith("[... more matches not shown")


async def test_search_files_does_not_read_through_links_outside(root: Path, outside: Path) -> None:
    (root / "linked.txt").symlink_to(outside / "secret.txt")
    (root / "linked-folder").symlink_to(outside)
    text = await ok(server(root), "search_files", query="password")
    assert (
        text == "nothing matches 'password' in .\n[skipped 2 links to outside the allowed folders]"
    )


async def test_search_files_refuses_an_empty_query(root: Path) -> None:
    assert "the query is empty" in await refused(server(root), "search_files", query="  ")


# --- write_file --------------------------------------------------------------------------


async def test_write_file_creates_folders_and_the_file(root: Path) -> None:
    text = await ok(server(root), "write_file", path="drafts/2026/plan.md", content="one\ntwo\n")
    assert text == "created drafts/2026/plan.md (8 bytes, 2 lines)"
    assert (root / "drafts" / "2026" / "plan.md").read_text() == "one\ntwo\n"
    assert not [p for p in (root / "drafts" / "2026").iterdir() if p.name.startswith(".")]


async def test_write_file_replaces_and_keeps_the_mode(root: Path) -> None:
    script = root / "run.sh"
    script.write_text("old\n")
    script.chmod(0o750)
    text = await ok(server(root), "write_file", path="run.sh", content="new")
    assert text == "replaced run.sh (3 bytes, 1 line)"
    assert script.read_text() == "new"
    assert script.stat().st_mode & 0o777 == 0o750


async def test_write_file_outside_the_roots_is_refused(root: Path, outside: Path) -> None:
    (root / "linked-folder").symlink_to(outside)
    (root / "dangling.txt").symlink_to(outside / "new.txt")
    for path in ("../outside/new.txt", "linked-folder/new.txt", "dangling.txt", "/tmp/x.txt"):
        assert "is outside the folders" in await refused(
            server(root), "write_file", path=path, content="x"
        )
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "the password\n"


async def test_write_file_onto_a_folder_is_refused(root: Path) -> None:
    assert "notes is a folder" in await refused(
        server(root), "write_file", path="notes", content="x"
    )


async def test_write_file_under_a_file_is_refused(root: Path) -> None:
    message = await refused(server(root), "write_file", path="README.md/x.txt", content="x")
    assert message.startswith("cannot write README.md/x.txt: ")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
async def test_write_file_into_a_read_only_folder_says_why(root: Path) -> None:
    (root / "locked").mkdir(mode=0o500)
    message = await refused(server(root), "write_file", path="locked/x.txt", content="x")
    assert message == "cannot write locked/x.txt: Permission denied"


# --- links to hidden files, and hard links -----------------------------------------------


@pytest.fixture
def env_link(root: Path) -> Path:
    """docs/x.txt -> ../.env and docs/settings -> ../.git: links to hidden things."""
    (root / ".env").write_text("API_KEY=secret\n")
    (root / "docs").mkdir()
    (root / "docs" / "x.txt").symlink_to(Path("..") / ".env")
    (root / "docs" / "settings").symlink_to(Path("..") / ".git")
    return root / "docs" / "x.txt"


async def test_a_link_to_a_hidden_file_is_not_searched(root: Path, env_link: Path) -> None:
    assert "is hidden" in await refused(server(root), "read_file", path="docs/x.txt")
    text = await ok(server(root), "search_files", query="API_KEY")
    assert text == "nothing matches 'API_KEY' in .\n[skipped 2 links to hidden files or folders]"
    by_name = await ok(server(root), "search_files", query="x.txt", path="docs", content=False)
    assert (
        by_name == "nothing matches 'x.txt' in docs\n[skipped 2 links to hidden files or folders]"
    )
    milk = await ok(server(root), "search_files", query="milk-config", content=False)
    assert milk.endswith("[skipped 2 links to hidden files or folders]") and "settings" not in milk


async def test_a_link_to_a_hidden_file_is_listed_as_one(root: Path, env_link: Path) -> None:
    text = await ok(server(root), "list_directory", path="docs")
    assert text.splitlines() == [
        "docs/ (2 entries)",
        "settings (link to a hidden file or folder)",
        "x.txt (link to a hidden file or folder)",
    ]


async def test_allow_hidden_opens_links_to_hidden_files_too(root: Path, env_link: Path) -> None:
    allowed = server(root, allow_hidden=True)
    assert await ok(allowed, "read_file", path="docs/x.txt") == "API_KEY=secret\n"
    text = await ok(allowed, "search_files", query="API_KEY", path="docs")
    assert text.splitlines() == ["1 match for 'API_KEY' in docs:", "docs/x.txt:1: API_KEY=secret"]
    listed = await ok(allowed, "list_directory", path="docs")
    assert listed.splitlines()[1:] == ["settings/", "x.txt  15 bytes"]


async def test_a_link_to_a_visible_file_inside_is_searched(root: Path) -> None:
    (root / "todo-link.md").symlink_to(root / "notes" / "todo.md")
    text = await ok(server(root), "search_files", query="milk")
    assert text.splitlines()[1:] == ["todo-link.md:1: buy milk", "notes/todo.md:1: buy milk"]


HARD_LINK_REFUSAL = (
    "notes/todo.md has 2 hard links (names for the same file), and another name may lie "
    "outside the folders this tool may use, so it is not {verb}; to allow such files, set "
    '"allow_hard_links": true for the files server (builtins.files in mcp.json)'
)


@pytest.fixture
def hard_link(root: Path, outside: Path) -> Path:
    """A second name, outside the root, for notes/todo.md."""
    other = outside / "todo-elsewhere.md"
    os.link(root / "notes" / "todo.md", other)
    return other


async def test_read_file_refuses_a_file_with_another_name(root: Path, hard_link: Path) -> None:
    message = await refused(server(root), "read_file", path="notes/todo.md")
    assert message == HARD_LINK_REFUSAL.format(verb="opened")


async def test_write_file_refuses_a_file_with_another_name(root: Path, hard_link: Path) -> None:
    message = await refused(server(root), "write_file", path="notes/todo.md", content="x")
    assert message == HARD_LINK_REFUSAL.format(verb="replaced")
    assert (root / "notes" / "todo.md").read_text() == "buy milk\ncall Alice\nwrite report\n"
    assert (root / "notes" / "todo.md").stat().st_ino == hard_link.stat().st_ino


async def test_search_files_skips_a_file_with_another_name_and_says_so(
    root: Path, hard_link: Path
) -> None:
    text = await ok(server(root), "search_files", query="milk")
    assert text.splitlines() == [
        "nothing matches 'milk' in .",
        "[skipped 1 file with more than one hard link: another name may lie outside the allowed "
        'folders; "allow_hard_links": true for the files server searches them]',
    ]
    assert "notes/todo.md:2: call Alice" not in await ok(server(root), "search_files", query="call")


async def test_list_directory_marks_a_file_with_another_name(root: Path, hard_link: Path) -> None:
    text = await ok(server(root), "list_directory", path="notes")
    assert text.splitlines()[1:] == [
        "ideas.txt  21 bytes",
        "todo.md  33 bytes (2 hard links: not opened)",
    ]


async def test_allow_hard_links_opens_such_files(root: Path, hard_link: Path) -> None:
    allowed = server(root, allow_hard_links=True)
    assert await ok(allowed, "read_file", path="notes/todo.md") == hard_link.read_text()
    found = await ok(allowed, "search_files", query="milk")
    assert found.splitlines() == ["1 match for 'milk' in .:", "notes/todo.md:1: buy milk"]
    assert "todo.md  33 bytes" in (await ok(allowed, "list_directory", path="notes")).splitlines()
    assert await ok(allowed, "write_file", path="notes/todo.md", content="new\n") == (
        "replaced notes/todo.md (4 bytes, 1 line)"
    )
    assert (root / "notes" / "todo.md").read_text() == "new\n"


async def test_allow_hard_links_is_a_true_or_false_option(root: Path) -> None:
    with pytest.raises(ValueError, match="option 'allow_hard_links' of the files server"):
        server(root, allow_hard_links="yes")


async def test_a_folder_or_a_file_with_one_name_is_not_a_hard_link(root: Path) -> None:
    (root / "notes" / "deeper").mkdir()  # a folder's link count is above 1: not refused
    assert "deeper/" in await ok(server(root), "list_directory", path="notes")
    assert await ok(server(root), "read_file", path="notes/ideas.txt") == "A garden on the roof\n"


async def test_the_allow_hard_links_flag_over_stdio(root: Path, hard_link: Path) -> None:
    """The module run as a stdio server: refused without the flag, read with it."""
    args = ["-m", "rung.tools.builtin.files", "--root", str(root)]
    texts = []
    for flags in ([], ["--allow-hard-links"]):
        params = StdioServerParameters(command=sys.executable, args=[*args, *flags])
        async with Client(params) as client:
            result = await client.call_tool("read_file", {"path": "notes/todo.md"})
        assert isinstance(result.content[0], TextContent)
        texts.append((result.is_error, result.content[0].text))
    assert texts[0][0] and 'set "allow_hard_links": true' in texts[0][1]
    assert texts[1] == (False, "buy milk\ncall Alice\nwrite report\n")
