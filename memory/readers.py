"""Reading files into text: the document side of ingestion.

``find_files`` turns the paths a user gives into the files to read (folders walked, hidden
and junk skipped, include and exclude globs applied); ``read_document`` reads one file into
a ``Document``, or raises ``ReadError`` with one line that says why not (missing, not
allowed, too large, binary, a damaged PDF, a PDF without text). pypdf is imported only when
a PDF is read, so that start-up stays fast.
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import re
import stat
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

from rung.config.errors import UserError
from rung.memory.chunking import heading_title
from rung.memory.html import html_to_text

MAX_BYTES = 20_000_000

_KINDS = {
    **dict.fromkeys((".txt", ".text", ".org", ".adoc", ".tex"), "text"),
    **dict.fromkeys((".md", ".markdown"), "markdown"),
    ".rst": "rst",
    **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
    ".pdf": "pdf",
}
CODE_SUFFIXES = frozenset(
    {".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".svelte", ".go"}
    | {".rs", ".java", ".kt", ".kts", ".scala", ".groovy", ".gradle", ".c", ".h", ".cc"}
    | {".cpp", ".cxx", ".hpp", ".hh", ".cs", ".fs", ".swift", ".m", ".mm", ".rb", ".php"}
    | {".pl", ".lua", ".r", ".jl", ".dart", ".ex", ".exs", ".erl", ".hs", ".ml", ".clj"}
    | {".zig", ".nim", ".sh", ".bash", ".zsh", ".fish", ".ps1", ".bat", ".sql", ".toml"}
    | {".yaml", ".yml", ".json", ".xml", ".ini", ".cfg", ".conf", ".css", ".scss", ".proto"}
    | {".graphql", ".tf", ".cmake", ".mk"}
)
SUPPORTED: frozenset[str] = frozenset(_KINDS) | CODE_SUFFIXES
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "bower_components"})

_KINDS_HINT = "only text, Markdown, RST, HTML, PDF and source code files are read"
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


class ReadError(UserError):
    """A file cannot be read as a document: ``"<path>: <why>"``, with a hint where one helps."""


def _error(path: Path, reason: str, hint: str = "") -> ReadError:
    return ReadError(f"{path}: {reason}", hint=hint)


@dataclass(frozen=True)
class Document:
    """A file's text, its title (from its headings or metadata, else its name), its kind."""

    path: Path
    title: str
    text: str
    kind: str  # "text", "markdown", "rst", "html", "pdf" or "code"
    encoding: str = "utf-8"  # how the bytes were decoded ("" for a PDF)
    pages: tuple[int, ...] = ()  # for a PDF: the offset in text where each page starts

    def page_at(self, offset: int) -> int | None:
        """The page (from 1) that holds ``text[offset]``; None for a document without pages."""
        return bisect_right(self.pages, offset) if self.pages else None


def kind_of(path: PurePosixPath | Path) -> str | None:
    """The kind of document a file name says it is; None when it is not read."""
    suffix = path.suffix.lower()
    return "code" if suffix in CODE_SUFFIXES else _KINDS.get(suffix)


# --- finding files ------------------------------------------------------------------------


def find_files(
    paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> Iterator[Path]:
    """The files to read under ``paths``, each once, as resolved paths.

    A path that is not a folder is taken as it is (``read_document`` reports one that is
    missing or of an unsupported kind). Folders are walked in name order; hidden entries,
    junk folders (``node_modules``, ``__pycache__``, virtual environments), symlinks to
    folders and files of unsupported kinds are skipped. The globs are matched against the
    path relative to the folder given and against the name, so ``*.md`` and ``drafts/*``
    both work; an excluded folder is not entered. A folder that cannot be listed is
    yielded itself, so that ``read_document`` reports it with the other failures.
    """
    include, exclude = _patterns(include), _patterns(exclude)
    seen: set[Path] = set()
    for given in paths:
        found = _walk(given, PurePosixPath(), include, exclude) if given.is_dir() else [given]
        for path in found:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield resolved


def _patterns(globs: Sequence[str]) -> list[str]:
    patterns = [glob.removeprefix("./").rstrip("/") for glob in globs]
    return patterns + [p[3:] for p in patterns if p.startswith("**/")]


def _matches(relative: PurePosixPath, patterns: Sequence[str]) -> bool:
    return any(fnmatch(str(relative), p) or fnmatch(relative.name, p) for p in patterns)


def _walk(
    folder: Path, relative: PurePosixPath, include: Sequence[str], exclude: Sequence[str]
) -> Iterator[Path]:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        yield folder
        return
    for entry in entries:
        path, rel = Path(entry.path), relative / entry.name
        if entry.name.startswith(".") or _matches(rel, exclude):
            continue
        if entry.is_dir(follow_symlinks=False):
            if entry.name not in SKIPPED_DIRS and not (path / "pyvenv.cfg").exists():
                yield from _walk(path, rel, include, exclude)
        elif entry.is_file() and kind_of(rel) and (not include or _matches(rel, include)):
            yield path


# --- reading one file ---------------------------------------------------------------------


def read_document(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    """Read a file into a Document, or raise ReadError saying why it cannot be read.

    Text that is not UTF-8 (nor UTF-16 with a byte-order mark) is read as Windows-1252,
    else Latin-1, unless it looks binary: someone adding an old Latin-1 file wants its
    accents kept rather than the file refused. ``Document.encoding`` records the guess.
    An empty file gives a Document with empty text.
    """
    size = _check_file(path)
    kind = kind_of(path)
    if kind is None:
        raise _error(path, f"unsupported file type {path.suffix or '(no suffix)'!r}", _KINDS_HINT)
    if size > max_bytes:
        raise _error(
            path,
            f"too large: {_human(size)}, over the limit of {_human(max_bytes)}",
            "split it into smaller files, or raise memory.max_file_mb (RUNG_MEMORY_MAX_FILE_MB)",
        )
    data = _read_bytes(path, max_bytes)
    if kind == "pdf":
        return _read_pdf(path, data)
    text, encoding = _decode(path, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title = None
    if kind == "html":
        title, text = html_to_text(text)
    title = title or heading_title(text, kind) or path.name
    return Document(path, title, text, kind, encoding)


def _check_file(path: Path) -> int:
    """The size of a regular file; ReadError for anything else."""
    try:
        info = path.stat()
    except OSError as exc:
        raise _os_error(path, exc) from None
    if stat.S_ISDIR(info.st_mode):
        try:
            os.scandir(path).close()
        except OSError as exc:
            raise _error(path, f"cannot list the folder: {_strerror(exc)}") from None
        raise _error(path, "is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise _error(path, "not a regular file (a device, pipe or socket)")
    return info.st_size


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise _os_error(path, exc) from None
    if len(data) > max_bytes:  # it grew since stat
        raise _error(path, f"too large: over the limit of {_human(max_bytes)}")
    return data


def _os_error(path: Path, exc: OSError) -> ReadError:
    if isinstance(exc, FileNotFoundError):
        return _error(path, "no such file or folder", "check the path")
    if isinstance(exc, PermissionError):
        return _error(path, "permission denied", "check the file's permissions")
    return _error(path, _strerror(exc))


def _strerror(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _human(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """The text of a file and the encoding it was read with."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise _error(path, "binary content, not text", _KINDS_HINT) from None
    if b"\x00" not in data:
        try:
            return data.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            for encoding in ("cp1252", "latin-1"):
                text = _try_decode(data, encoding)
                if text is not None:
                    return text, encoding
    raise _error(path, "binary content, not text", _KINDS_HINT)


def _try_decode(data: bytes, encoding: str) -> str | None:
    """The bytes decoded, unless that fails or gives many control characters (binary)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if len(_CONTROL.findall(text)) * 20 > len(text) else text


# --- PDF ----------------------------------------------------------------------------------


def _read_pdf(path: Path, data: bytes) -> Document:
    try:
        pages, title = _pdf_pages(data)
    except Exception as exc:  # pypdf raises many kinds of error on a damaged file
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise _error(
            path, f"not a readable PDF: {reason}", "open it in a PDF viewer to check it"
        ) from None
    if not any(pages):
        raise _error(
            path,
            "the PDF has no text that can be extracted (a scan?)",
            "run OCR on it first (for example with ocrmypdf)",
        )
    offsets, position = [], 0
    for page in pages:
        offsets.append(position)
        position += len(page) + 2
    text = "\n\n".join(pages)
    return Document(path, title or path.name, text, "pdf", "", tuple(offsets))


def _pdf_pages(data: bytes) -> tuple[list[str], str]:
    """The text of each page, stripped, and the title in the PDF's metadata."""
    import pypdf  # lazily: it is not needed to start

    # pypdf logs what it repairs ("EOF marker not found"); the outcome is reported instead.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    reader = pypdf.PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("it is encrypted with a password")
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    metadata = reader.metadata
    title = " ".join(str(metadata.title).split()) if metadata and metadata.title else ""
    return pages, title
