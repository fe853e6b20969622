"""Reading files into documents, and finding the files under the paths a user gives."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from rung.config.errors import UserError
from rung.memory.readers import SUPPORTED, Document, ReadError, find_files, read_document

as_root = pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files whatever their mode"
)


def make_pdf(pages: list[str], title: str = "") -> bytes:
    """A real PDF with one line of Helvetica text on each page."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in pages:
        page = writer.add_blank_page(612, 792)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode())
        page.replace_contents(content)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if title:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def reason(path: Path, **kwargs: int) -> str:
    """Why read_document refuses the file: its message less the path in front."""
    with pytest.raises(ReadError) as caught:
        read_document(path, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message.removeprefix(f"{path}: ")


# --- formats ------------------------------------------------------------------------------


def test_text_file_title_is_its_name_and_crlf_becomes_lf(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "notes.txt", "one\r\ntwo\rthree\n"))
    assert document == Document(tmp_path / "notes.txt", "notes.txt", "one\ntwo\nthree\n", "text")


def test_markdown_title_is_the_first_level_one_heading_outside_code(tmp_path: Path) -> None:
    text = "Intro line.\n\n```sh\n# not the title\n```\n\n## Sub\n\n# The Title #\n\nBody.\n"
    document = read_document(write(tmp_path / "guide.md", text))
    assert (document.kind, document.title, document.text) == ("markdown", "The Title", text)
    assert read_document(write(tmp_path / "b.markdown", "## Only sub")).title == "b.markdown"


def test_rst_title_is_the_first_section_title(tmp_path: Path) -> None:
    text = "=========\nUser Guide\n==========\n\nIntro.\n\nInstall\n-------\n"
    document = read_document(write(tmp_path / "guide.rst", text))
    assert (document.kind, document.title) == ("rst", "User Guide")


def test_html_becomes_text_with_title_and_headings_scripts_and_nav_dropped(
    tmp_path: Path,
) -> None:
    html = (
        "<!doctype html><html><head><title> The  Manual </title><style>p {color: red}</style>"
        "<script>alert('x')</script></head><body><nav><a href='/'>Home</a></nav>"
        "<h1>Manual</h1><p>First   paragraph,\n with <b>bold</b> &amp; more.</p>"
        "<h2>Install</h2><ul><li>one</li><li>two</li></ul><pre>  x = 1\n  y = 2</pre>"
        "<footer>copyright</footer></body></html>"
    )
    document = read_document(write(tmp_path / "page.html", html))
    assert document.kind == "html" and document.title == "The Manual"
    assert document.text == (
        "# Manual\n\nFirst paragraph, with bold & more.\n\n## Install\n\n- one\n- two"
        "\n\n  x = 1\n  y = 2"
    )


def test_html_without_a_title_uses_its_first_h1(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "p.htm", "<h1>Heading</h1><p>Text</p>"))
    assert document.title == "Heading"


def test_source_code_is_read_as_code(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "tool.py", "# comment\ndef f():\n    pass\n"))
    assert (document.kind, document.title) == ("code", "tool.py")  # no heading from "# "


def test_pdf_text_per_page_with_page_offsets_and_metadata_title(tmp_path: Path) -> None:
    pdf = write(tmp_path / "report.pdf", make_pdf(["Hello page one.", "Second page."], "Report"))
    document = read_document(pdf)
    assert (document.kind, document.title) == ("pdf", "Report")
    assert document.text == "Hello page one.\n\nSecond page."
    assert document.page_at(0) == 1 and document.page_at(document.text.index("Second")) == 2
    assert read_document(write(tmp_path / "plain.txt", "x")).page_at(0) is None


def test_pdf_without_a_metadata_title_is_named_by_its_file(tmp_path: Path) -> None:
    assert read_document(write(tmp_path / "x.pdf", make_pdf(["Text."]))).title == "x.pdf"


def test_utf8_bom_and_utf16_are_decoded(tmp_path: Path) -> None:
    bom = read_document(write(tmp_path / "bom.txt", "\ufeffcafé".encode()))
    assert (bom.text, bom.encoding) == ("café", "utf-8")
    wide = read_document(write(tmp_path / "wide.txt", "naïve\n".encode("utf-16")))
    assert (wide.text, wide.encoding) == ("naïve\n", "utf-16")


def test_latin1_text_is_read_with_its_accents_and_the_encoding_recorded(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "old.txt", "Crème brûlée à Noël\n".encode("latin-1")))
    assert document.text == "Crème brûlée à Noël\n"
    assert document.encoding == "cp1252"


def test_an_empty_file_is_a_document_with_empty_text(tmp_path: Path) -> None:
    document = read_document(write(tmp_path / "empty.md", ""))
    assert (document.text, document.title) == ("", "empty.md")


# --- bad input: each a ReadError with a reason --------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert reason(tmp_path / "nope.md") == "no such file or folder"


def test_errors_are_user_errors_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        read_document(tmp_path / "nope.md")
    assert caught.value.hint == "check the path"


@as_root
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", "x")
    path.chmod(0)
    assert reason(path) == "permission denied"


def test_permission_denied_reading_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the test above, where root's reads cannot be refused by chmod."""
    path = write(tmp_path / "secret.txt", "x")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert reason(path) == "permission denied"


def test_too_large_says_the_size_and_the_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 2500)
    assert reason(path, max_bytes=1000) == "too large: 2.5 KB, over the limit of 1.0 KB"
    assert read_document(path, max_bytes=2500).text == "x" * 2500


def test_binary_content_is_refused(tmp_path: Path) -> None:
    assert reason(write(tmp_path / "data.txt", b"ab\x00\x01\x02cd")) == "binary content, not text"
    noise = bytes(range(1, 32)) * 20 + b"\xff\xfe\x81"  # no NUL, not UTF-8, mostly control
    assert reason(write(tmp_path / "noise.md", noise)) == "binary content, not text"


def test_corrupt_pdf(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.pdf", b"%PDF-1.7\nthis is not really a pdf\n")
    assert reason(path).startswith("not a readable PDF: ")


def test_pdf_without_text(tmp_path: Path) -> None:
    path = write(tmp_path / "scan.pdf", make_pdf([""]))
    assert "no text that can be extracted" in reason(path)


def test_unsupported_kind_given_directly(tmp_path: Path) -> None:
    assert reason(write(tmp_path / "photo.png", b"\x89PNG")) == "unsupported file type '.png'"
    assert reason(write(tmp_path / "Makefile", "all:")) == "unsupported file type '(no suffix)'"


def test_a_folder_is_not_a_document(tmp_path: Path) -> None:
    assert reason(tmp_path) == "is a folder, not a file"


def test_pypdf_is_imported_only_when_a_pdf_is_read() -> None:
    code = "import sys, rung.memory.readers, rung.memory.chunking; print('pypdf' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


# --- finding files ------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    for name in [
        "b.md",
        "a.txt",
        "image.png",
        "src/tool.py",
        "drafts/idea.md",
        "drafts/deep/more.md",
        ".hidden.md",
        ".git/config.md",
        "node_modules/pkg/readme.md",
        "src/__pycache__/tool.py",
        "env/pyvenv.cfg",
        "env/lib/site.py",
    ]:
        write(root / name, "text")
    return root


def names(found: list[Path], root: Path) -> list[str]:
    return [p.relative_to(root.resolve()).as_posix() for p in found]


def test_folders_are_walked_sorted_skipping_hidden_junk_and_unsupported(tree: Path) -> None:
    assert names(list(find_files([tree])), tree) == [
        "a.txt",
        "b.md",
        "drafts/deep/more.md",
        "drafts/idea.md",
        "src/tool.py",
    ]


def test_include_and_exclude_match_relative_paths_and_names(tree: Path) -> None:
    assert names(list(find_files([tree], include=["*.md"])), tree) == [
        "b.md",
        "drafts/deep/more.md",
        "drafts/idea.md",
    ]
    assert names(list(find_files([tree], exclude=["drafts/*", "*.py"])), tree) == [
        "a.txt",
        "b.md",
    ]
    assert names(list(find_files([tree], include=["**/*.md"], exclude=["deep/"])), tree) == [
        "b.md",
        "drafts/idea.md",
    ]


def test_files_given_directly_are_taken_as_they_are_once_each(tree: Path) -> None:
    found = list(find_files([tree / ".hidden.md", tree / "image.png", tree, tree / "b.md"]))
    assert names(found, tree)[:3] == [".hidden.md", "image.png", "a.txt"]
    assert names(found, tree).count("b.md") == 1
    assert list(find_files([tree / "missing.md"])) == [(tree / "missing.md").resolve()]


def test_symlinked_folders_are_not_followed_and_file_links_resolve(tree: Path) -> None:
    (tree / "src" / "loop").symlink_to(tree, target_is_directory=True)
    (tree / "link.md").symlink_to(tree / "b.md")
    (tree / "dangling.md").symlink_to(tree / "gone.md")
    found = names(list(find_files([tree])), tree)
    assert found == ["a.txt", "b.md", "drafts/deep/more.md", "drafts/idea.md", "src/tool.py"]


def test_every_supported_suffix_is_found(tmp_path: Path) -> None:
    for suffix in SUPPORTED:
        write(tmp_path / f"file{suffix}", "x")
    assert {p.suffix for p in find_files([tmp_path])} == SUPPORTED
    assert {".md", ".txt", ".rst", ".html", ".pdf", ".py", ".go", ".yaml"} <= SUPPORTED


def test_a_folder_that_cannot_be_listed_is_yielded_for_read_document_to_report(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same as the test below, where root's listings cannot be refused by chmod."""
    locked, scandir = tree / "drafts", os.scandir

    def refuse(path: Path) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse)
    assert names(list(find_files([tree])), tree) == ["a.txt", "b.md", "drafts", "src/tool.py"]
    assert reason(locked) == "cannot list the folder: permission denied"


@as_root
def test_a_folder_that_cannot_be_listed_is_reported_by_read_document(tree: Path) -> None:
    locked = tree / "drafts"
    locked.chmod(0)
    try:
        found = list(find_files([tree]))
        assert locked.resolve() in found
        assert reason(locked.resolve()).startswith("cannot list the folder: ")
    finally:
        locked.chmod(0o755)
