"""The files server: list, read, search and write files inside the folders the user allows.

The allowed folders are the ``roots`` option (the current directory by default); relative
paths start at the first root. Every path is resolved first, following ``..`` and
symbolic links, and refused unless the result lies inside a root, so neither a crafted
path nor a link leads out; hidden files (a dot in the path below the root) are refused the
same way, also behind a link. A file with more than one hard link is refused too, unless
allowed: its other name may lie anywhere. Reads are bounded and text only; writes are
atomic (a temporary file, then a rename), so a crash never leaves half a file behind.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import os
import secrets
import stat
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.tools.builtin import Options, new_server, parse_options, serve

NAME = "files"
READ_ONLY: frozenset[str] = frozenset({"list_directory", "read_file", "search_files"})

MAX_LIST_ENTRIES = 500
MAX_SEARCH_RESULTS = 100
MAX_SEARCH_FILES = 20_000
MAX_MATCH_CHARS = 200
SNIFF_BYTES = 8192
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
LINKS_TO = {  # where a symbolic link that is not followed leads (see Roots.barred)
    "outside": ("outside the allowed folders", "outside the allowed folders"),
    "hidden": ("a hidden file or folder", "hidden files or folders"),
}

PathArg = Annotated[
    str, Field(description="Path of the file, relative to the working folder or absolute")
]
FolderArg = Annotated[
    str, Field(description="Folder path, relative to the working folder or absolute")
]


class FilesOptions(Options):
    roots: list[str] = Field(default_factory=lambda: [os.getcwd()], min_length=1)
    max_read_bytes: int = Field(default=1_000_000, gt=0)
    allow_hidden: bool = False  # dotfiles and dot-folders hold keys, tokens and settings
    allow_hard_links: bool = False  # a file's other name may lie outside the roots


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a files server for ``roots`` (folders) with reads capped at ``max_read_bytes``."""
    settings = parse_options(FilesOptions, NAME, options)
    roots = Roots(
        [_root(root) for root in settings.roots],
        allow_hidden=settings.allow_hidden,
        allow_hard_links=settings.allow_hard_links,
    )
    files = Files(roots, settings.max_read_bytes)
    server = new_server(NAME, f"Files inside {files.roots.listing}.")
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True)
    for tool in (files.list_directory, files.read_file, files.search_files):
        server.add_tool(tool, annotations=reads, structured_output=False)
    server.add_tool(files.write_file, annotations=writes, structured_output=False)
    return server


def _root(folder: str) -> Path:
    path = Path(os.path.realpath(os.path.expanduser(folder)))
    if not path.is_dir():
        raise ValueError(f"option 'roots' of the files server: {folder!r} is not a folder")
    return path


class Roots:
    """The allowed folders, and the check that every path goes through."""

    def __init__(
        self, roots: list[Path], *, allow_hidden: bool = False, allow_hard_links: bool = False
    ) -> None:
        self.paths = roots
        self.allow_hidden = allow_hidden
        self.allow_hard_links = allow_hard_links
        self.listing = ", ".join(str(root) for root in roots)

    def resolve(self, path: str) -> Path:
        """The real path for ``path``; ToolError unless it lies inside a root."""
        candidate = Path(os.path.expanduser(path.strip() or "."))
        if not candidate.is_absolute():
            candidate = self.paths[0] / candidate
        try:
            real = Path(os.path.realpath(candidate))
        except (OSError, ValueError) as exc:
            raise ToolError(f"bad path {path!r}: {exc}") from None
        barred = self.barred(real)
        if barred == "outside":
            raise ToolError(
                f"{path!r} is outside the folders this tool may use ({self.listing}); "
                "use a path inside them"
            )
        if barred == "hidden":
            raise ToolError(
                f"{path!r} is hidden (a dotfile or inside a dot-folder); hidden files often "
                "hold keys and settings, so this tool does not open them"
            )
        return real

    def barred(self, real: Path) -> str | None:
        """Why a resolved path may not be used ("outside" or "hidden"); None where it may."""
        if not self.contains(real):
            return "outside"
        if not self.allow_hidden and self.hidden(real):
            return "hidden"
        return None

    def barred_link(self, path: Path) -> str | None:
        """For a symbolic link, why its target may not be used (as ``barred``); else None."""
        if not path.is_symlink():
            return None
        return self.barred(Path(os.path.realpath(path)))

    def hard_linked(self, info: os.stat_result) -> bool:
        """Whether this is a regular file with another name, and such files are refused."""
        return not self.allow_hard_links and stat.S_ISREG(info.st_mode) and info.st_nlink > 1

    def hidden(self, path: Path) -> bool:
        """Whether a part of ``path`` below its root starts with a dot."""
        root = next(r for r in self.paths if path == r or path.is_relative_to(r))
        return any(part.startswith(".") for part in path.relative_to(root).parts)

    def contains(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.paths)

    def show(self, path: Path) -> str:
        """How a path is shown to the model: relative to the first root where possible."""
        if path.is_relative_to(self.paths[0]):
            return str(path.relative_to(self.paths[0])) or "."
        return str(path)


class Files:
    """The tools, bound to their roots and limits; blocking work runs in a thread."""

    def __init__(self, roots: Roots, max_read_bytes: int) -> None:
        self.roots = roots
        self.max_read_bytes = max_read_bytes

    async def list_directory(self, path: FolderArg = ".") -> str:
        """List the files and folders in a folder, with file sizes."""
        return await asyncio.to_thread(self._list, self._folder(path))

    async def read_file(
        self,
        path: PathArg,
        offset_line: Annotated[int, Field(ge=0, description="Lines to skip first")] = 0,
        max_lines: Annotated[int, Field(ge=1, description="Most lines to return")] = 500,
    ) -> str:
        """Read a text file, optionally a range of its lines."""
        file = self._file(path)
        return await asyncio.to_thread(self._read, file, offset_line, max_lines)

    async def search_files(
        self,
        query: Annotated[str, Field(description="Text to find, or a name pattern such as '*.py'")],
        path: FolderArg = ".",
        content: Annotated[
            bool, Field(description="Also search inside files, not only their names")
        ] = True,
    ) -> str:
        """Find files whose name or text matches a query, in a folder and its subfolders."""
        if not query.strip():
            raise ToolError("the query is empty; give a word or a pattern such as '*.md'")
        folder = self._folder(path)
        return await asyncio.to_thread(self._search, folder, query.strip(), content)

    async def write_file(
        self,
        path: PathArg,
        content: Annotated[str, Field(description="The complete new text of the file")],
    ) -> str:
        """Write text to a file, creating it (and its folders) or replacing it."""
        target = self.roots.resolve(path)
        if target.is_dir():
            raise ToolError(f"{self.roots.show(target)} is a folder, not a file")
        return await asyncio.to_thread(self._write, target, content)

    # --- checks -------------------------------------------------------------------------

    def _folder(self, path: str) -> Path:
        folder = self.roots.resolve(path)
        if not folder.is_dir():
            what = "a file, not a folder" if folder.exists() else "not there"
            raise ToolError(f"{self.roots.show(folder)} is {what}; give a folder")
        return folder

    def _file(self, path: str) -> Path:
        file = self.roots.resolve(path)
        shown = self.roots.show(file)
        if file.is_dir():
            raise ToolError(f"{shown} is a folder; use list_directory to see what is in it")
        if not file.exists():
            raise ToolError(f"{shown} does not exist; use list_directory or search_files")
        if not file.is_file():
            raise ToolError(f"{shown} is not a regular file (a device, pipe or socket)")
        return file

    # --- the work, in a thread ----------------------------------------------------------

    def _list(self, folder: Path) -> str:
        shown = self.roots.show(folder)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: (not _is_dir(e), e.name.lower()))
        except OSError as exc:
            raise ToolError(f"cannot list {shown}: {exc.strerror}") from None
        lines = [self._entry(entry) for entry in entries[:MAX_LIST_ENTRIES]]
        if len(entries) > MAX_LIST_ENTRIES:
            lines.append(f"[... {len(entries) - MAX_LIST_ENTRIES} more entries not shown]")
        return f"{shown}/ ({len(entries)} entries)\n" + "\n".join(lines or ["(empty folder)"])

    def _entry(self, entry: os.DirEntry[str]) -> str:
        barred = self.roots.barred_link(Path(entry.path)) if entry.is_symlink() else None
        if barred:
            return f"{entry.name} (link to {LINKS_TO[barred][0]})"
        if _is_dir(entry):
            return f"{entry.name}/"
        try:
            info = entry.stat()
        except OSError:
            return f"{entry.name}  (unreadable)"
        if self.roots.hard_linked(info):
            return f"{entry.name}  {_size(info.st_size)} ({info.st_nlink} hard links: not opened)"
        return f"{entry.name}  {_size(info.st_size)}"

    def _read(self, file: Path, offset: int, max_lines: int) -> str:
        shown = self.roots.show(file)
        try:
            with file.open("rb") as stream:
                info = os.fstat(stream.fileno())  # the file opened, whatever its path is now
                if self.roots.hard_linked(info):
                    raise ToolError(_hard_link_refusal(shown, info.st_nlink, "opened"))
                if b"\0" in stream.read(SNIFF_BYTES):
                    raise ToolError(f"{shown} is a binary file, not text; read_file reads text")
                stream.seek(0)
                skipped = _skip_lines(stream, offset)
                lines, more = _take_lines(stream, max_lines, self.max_read_bytes)
        except OSError as exc:
            raise ToolError(f"cannot read {shown}: {exc.strerror}") from None
        if offset and not (skipped and lines):
            raise ToolError(f"{shown} has fewer than {offset + 1} lines")
        if more and len(lines) > 1 and not lines[-1].endswith(b"\n"):
            lines.pop()  # a line cut by the byte limit is shown whole next time
        text = b"".join(lines).decode("utf-8", errors="replace")
        if not more:
            return text or "(empty file)"
        if not lines[-1].endswith(b"\n"):
            limit = self.max_read_bytes
            return _noted(text, f"[... line {offset + 1} is longer than {limit} bytes: cut here]")
        next_line = offset + len(lines)
        return _noted(text, f"[... more lines follow: read_file with offset_line={next_line}]")

    def _search(self, folder: Path, query: str, content: bool) -> str:
        needle = query.lower()
        glob = any(char in query for char in "*?[")
        results: list[str] = []
        skipped: Counter[str] = Counter()  # why -> how many: said in the report
        seen = 0
        for path, is_dir in _walk(folder):
            seen += 1
            if seen > MAX_SEARCH_FILES or len(results) > MAX_SEARCH_RESULTS:
                break
            barred = self.roots.barred_link(path)
            if barred:  # a link that read_file would refuse is neither shown nor read
                skipped[barred] += 1
                continue
            name = path.name.lower()
            if fnmatch.fnmatch(name, needle) if glob else needle in name:
                results.append(self.roots.show(path) + ("/" if is_dir else ""))
            if content and not glob and not is_dir:
                results.extend(self._grep(path, needle, skipped))
        return self._search_report(folder, query, results, seen, skipped)

    def _grep(self, file: Path, needle: str, skipped: Counter[str]) -> list[str]:
        if not file.is_file():
            return []
        try:
            with file.open("rb") as stream:
                if self.roots.hard_linked(os.fstat(stream.fileno())):
                    skipped["hard link"] += 1
                    return []
                data = stream.read(self.max_read_bytes)
        except OSError:
            return []
        if b"\0" in data[:SNIFF_BYTES]:
            return []
        shown = self.roots.show(file)
        text = data.decode("utf-8", errors="replace")
        return [
            f"{shown}:{number}: {line.strip()[:MAX_MATCH_CHARS]}"
            for number, line in enumerate(text.splitlines(), start=1)
            if needle in line.lower()
        ][: MAX_SEARCH_RESULTS + 1]

    def _search_report(
        self, folder: Path, query: str, results: list[str], seen: int, skipped: Counter[str]
    ) -> str:
        where = self.roots.show(folder)
        if not results:
            text = f"nothing matches {query!r} in {where}"
        else:
            shown = results[:MAX_SEARCH_RESULTS]
            count = f"{len(shown)} match{'' if len(shown) == 1 else 'es'}"
            text = f"{count} for {query!r} in {where}:\n" + "\n".join(shown)
        if len(results) > MAX_SEARCH_RESULTS:
            text += "\n[... more matches not shown: search a narrower folder or query]"
        elif seen > MAX_SEARCH_FILES:
            text += f"\n[... stopped after {MAX_SEARCH_FILES} files: search a narrower folder]"
        for why, times in skipped.items():
            text += "\n" + _skipped_note(why, times)
        return text

    def _write(self, target: Path, content: str) -> str:
        shown = self.roots.show(target)
        data = content.encode("utf-8")
        try:
            info: os.stat_result | None = target.stat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from None
        if info is not None and self.roots.hard_linked(info):
            raise ToolError(_hard_link_refusal(shown, info.st_nlink, "replaced"))
        existed = info is not None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace_atomically(target, data)
        except OSError as exc:
            raise ToolError(f"cannot write {shown}: {exc.strerror or exc}") from None
        lines = len(content.splitlines())
        done = "replaced" if existed else "created"
        return f"{done} {shown} ({len(data)} bytes, {lines} line{'' if lines == 1 else 's'})"


def _hard_link_refusal(shown: str, links: int, verb: str) -> str:
    return (
        f"{shown} has {links} hard links (names for the same file), and another name may lie "
        f"outside the folders this tool may use, so it is not {verb}; to allow such files, set "
        '"allow_hard_links": true for the files server (builtins.files in mcp.json)'
    )


def _skipped_note(why: str, count: int) -> str:
    if why == "hard link":
        files = f"{count} file{'' if count == 1 else 's'}"
        return (
            f"[skipped {files} with more than one hard link: another name may lie outside "
            'the allowed folders; "allow_hard_links": true for the files server searches them]'
        )
    one, many = LINKS_TO[why]
    return f"[skipped {count} link{'' if count == 1 else 's'} to {one if count == 1 else many}]"


def _noted(text: str, note: str) -> str:
    return f"{text}{'' if text.endswith(chr(10)) else chr(10)}{note}"


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    scaled = size / 1024
    for unit in ("KB", "MB", "GB"):
        if scaled < 1024 or unit == "GB":
            break
        scaled /= 1024
    return f"{scaled:.1f} {unit}"


def _skip_lines(stream: BinaryIO, count: int) -> bool:
    """Skip ``count`` lines; False if the file ends first."""
    skipped = 0
    while skipped < count:
        chunk = stream.readline(SNIFF_BYTES)
        if not chunk:
            return False
        skipped += chunk.endswith(b"\n")
    return True


def _take_lines(stream: BinaryIO, count: int, budget: int) -> tuple[list[bytes], bool]:
    """Up to ``count`` lines and ``budget`` bytes; and whether the file goes on after them."""
    lines: list[bytes] = []
    while len(lines) < count and budget > 0:
        line = stream.readline(budget)
        if not line:
            return lines, False
        lines.append(line)
        budget -= len(line)
    return lines, stream.read(1) != b""


def _walk(folder: Path) -> Iterator[tuple[Path, bool]]:
    """Every folder and file below ``folder``, skipping hidden ones and caches."""
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        base = Path(parent)
        yield from ((base / name, True) for name in dirs)
        yield from ((base / name, False) for name in sorted(names) if not name.startswith("."))


def _replace_atomically(target: Path, data: bytes) -> None:
    """Write a temporary file beside ``target``, then rename it over ``target``."""
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    handle = os.open(temporary, flags, mode)  # the umask applies to a new file's mode
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        if mode != 0o666:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the files server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.files",
        description="Rung's file tools as an MCP server over stdio: list_directory, "
        "read_file, search_files, write_file. Paths outside the roots are refused.",
    )
    parser.add_argument(
        "--root",
        action="append",
        metavar="DIR",
        help="a folder the tools may use (repeat for more; the first is the working "
        "folder for relative paths; default: the current directory)",
    )
    parser.add_argument(
        "--max-read-bytes",
        type=int,
        metavar="N",
        help="most bytes one read returns (default: 1000000)",
    )
    parser.add_argument(
        "--allow-hidden",
        action="store_true",
        help="also open dotfiles and files in dot-folders (off: they hold keys and settings)",
    )
    parser.add_argument(
        "--allow-hard-links",
        action="store_true",
        help="also open and replace files with more than one hard link (off: another name "
        "of such a file may lie outside the roots)",
    )
    args = parser.parse_args(argv)
    options: dict[str, Any] = {}
    if args.root:
        options["roots"] = args.root
    if args.max_read_bytes is not None:
        options["max_read_bytes"] = args.max_read_bytes
    if args.allow_hidden:
        options["allow_hidden"] = True
    if args.allow_hard_links:
        options["allow_hard_links"] = True
    serve(parser, create, options)


if __name__ == "__main__":
    main()
