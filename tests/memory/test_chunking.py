"""Chunking: headings give paths, paragraphs pack up to size, overlap is bounded, all covered."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rung.memory.chunking import Chunk, chunk_document, embed_text
from rung.memory.readers import Document, read_document


def doc(text: str, kind: str = "markdown", title: str = "Doc") -> Document:
    return Document(Path(f"doc.{kind}"), title, text, kind)


def sentences(count: int, start: int = 0) -> str:
    return " ".join(f"Sentence number {i} says something plain." for i in range(start, count))


def check_invariants(document: Document, chunks: list[Chunk], size: int, overlap: int) -> None:
    """What holds for every chunking: slices, bounded, not blank, ordered, overlap, coverage."""
    covered = bytearray(len(document.text))
    for i, chunk in enumerate(chunks):
        assert chunk.position == i
        assert chunk.text == document.text[chunk.start : chunk.end]
        assert chunk.text.strip() and len(chunk.text) <= size
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
        if i and chunks[i - 1].heading_path == chunk.heading_path:
            assert chunks[i - 1].start < chunk.start
            assert chunks[i - 1].end - chunk.start <= overlap
    missed = [c for c, hit in zip(document.text, covered, strict=True) if not hit]
    assert not "".join(missed).strip(), "characters no chunk covers"


def test_markdown_headings_give_heading_paths() -> None:
    text = (
        "Preface before any heading.\n\n# Guide\n\nIntro.\n\n## Install\n\nGeneral.\n\n"
        "### On Linux\n\nUse apt.\n\n### On macOS\n\nUse brew.\n\n## Use\n\nRun it.\n"
    )
    chunks = chunk_document(doc(text))
    paths = [(c.heading_path, c.text.splitlines()[-1]) for c in chunks]
    assert paths == [
        ((), "Preface before any heading."),
        (("Guide",), "Intro."),
        (("Guide", "Install"), "General."),
        (("Guide", "Install", "On Linux"), "Use apt."),
        (("Guide", "Install", "On macOS"), "Use brew."),
        (("Guide", "Use"), "Run it."),
    ]
    assert chunks[3].text == "### On Linux\n\nUse apt."  # the heading line stays in its chunk
    check_invariants(doc(text), chunks, 1000, 150)


def test_a_heading_with_nothing_under_it_joins_the_next_section() -> None:
    text = "# Guide\n\n## Install\n\nRun the installer.\n\n## Empty at the end\n"
    chunks = chunk_document(doc(text))
    assert [(c.heading_path, c.text) for c in chunks] == [
        (("Guide", "Install"), "# Guide\n\n## Install\n\nRun the installer."),
        (("Guide", "Empty at the end"), "## Empty at the end"),
    ]


def test_setext_headings_and_heading_markup_are_understood() -> None:
    text = "Guide\n=====\n\nIntro.\n\nThe [`setup`](x.md) **step**\n-----\n\nDo it.\n"
    chunks = chunk_document(doc(text))
    assert [c.heading_path for c in chunks] == [("Guide",), ("Guide", "The setup step")]


def test_hash_lines_inside_fenced_code_are_not_headings_and_fences_stay_whole() -> None:
    fence = "```bash\n# install it\npip install rung\n\n# run it\nrung chat\n```"
    text = f"# Setup\n\nFirst:\n\n{fence}\n\nDone.\n"
    chunks = chunk_document(doc(text), size=100, overlap=0)
    assert {c.heading_path for c in chunks} == {("Setup",)}
    assert any(fence in c.text for c in chunks)
    indented = chunk_document(doc("- step:\n\n  ```\n  # x\n  ```\n\n# After\n\nText."))
    assert [c.heading_path for c in indented] == [(), ("After",)]


def test_rst_titles_take_levels_from_their_adornment_in_order_of_use() -> None:
    text = (
        "=====\nGuide\n=====\n\nIntro.\n\nInstall\n-------\n\nGeneral.\n\nLinux\n~~~~~\n\n"
        "Apt.\n\nUse\n---\n\nRun.\n"
    )
    chunks = chunk_document(doc(text, "rst"))
    assert [c.heading_path for c in chunks] == [
        ("Guide",),
        ("Guide", "Install"),
        ("Guide", "Install", "Linux"),
        ("Guide", "Use"),
    ]


def test_plain_text_has_no_headings() -> None:
    chunks = chunk_document(doc("# not a heading in a .txt\n\nText.", "text"))
    assert [c.heading_path for c in chunks] == [()]


def test_html_headings_give_heading_paths(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Manual</title></head><body><h1>Manual</h1><p>Intro.</p>"
        "<h2>Install</h2><p>Use the installer.</p></body></html>"
    )
    document = read_document(page)
    chunks = chunk_document(document)
    assert [c.heading_path for c in chunks] == [("Manual",), ("Manual", "Install")]
    assert embed_text(document.title, chunks[1]).startswith("Manual > Install\n\n## Install")


def test_paragraphs_are_packed_up_to_size_and_never_over() -> None:
    paragraphs = [f"Paragraph {i}. " + "word " * 55 for i in range(6)]  # about 300 each
    text = "\n\n".join(p.strip() for p in paragraphs)
    chunks = chunk_document(doc(text, "text"), size=700, overlap=0)
    assert len(chunks) == 3
    for chunk in chunks:  # two whole paragraphs each, cut at the blank line
        assert chunk.text.count("Paragraph") == 2 and chunk.text.endswith("word")
    check_invariants(doc(text, "text"), chunks, 700, 0)


def test_a_long_paragraph_is_cut_at_sentences() -> None:
    text = sentences(40)
    chunks = chunk_document(doc(text, "text"), size=300, overlap=0)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.text.startswith("Sentence number") and chunk.text.endswith("plain.")
    for chunk in chunks[:-1]:
        assert len(chunk.text) > 300 - 45  # packed: another sentence would not have fitted
    check_invariants(doc(text, "text"), chunks, 300, 0)


def test_a_sentence_longer_than_size_is_cut_at_words_and_only_a_huge_word_inside() -> None:
    words = " ".join(f"w{i:03d}" for i in range(200))  # one sentence, 999 characters
    huge = "x" * 450
    text = f"{words}\n\n{huge}"
    chunks = chunk_document(doc(text, "text"), size=200, overlap=0)
    for chunk in chunks[:-3]:
        assert re.fullmatch(r"(w\d{3} )*w\d{3}", chunk.text)
    assert [c.text for c in chunks[-3:]] == ["x" * 200, "x" * 200, "x" * 50]
    check_invariants(doc(text, "text"), chunks, 200, 0)


def test_consecutive_chunks_overlap_by_whole_sentences_within_the_bound() -> None:
    text = sentences(60)
    chunks = chunk_document(doc(text, "text"), size=400, overlap=120)
    for previous, chunk in pairwise(chunks):
        shared = previous.end - chunk.start
        assert 0 < shared <= 120
        assert chunk.text.startswith("Sentence number")  # a whole sentence
        assert previous.text.endswith(chunk.text[:shared])
    check_invariants(doc(text, "text"), chunks, 400, 120)


def test_overlap_falls_back_to_whole_words_and_not_across_sections() -> None:
    body = " ".join(f"word{i}" for i in range(150))
    text = f"# One\n\n{body}\n\n# Two\n\n{body}\n"
    chunks = chunk_document(doc(text), size=300, overlap=50)
    for previous, chunk in pairwise(chunks):
        if previous.heading_path == chunk.heading_path:
            assert 0 < previous.end - chunk.start <= 50
            assert chunk.text.startswith("word")
        else:
            assert chunk.start > previous.end
    check_invariants(doc(text), chunks, 300, 50)


def test_code_is_cut_between_definitions_not_at_sentences() -> None:
    functions = [
        f"def function_{i}(x):\n    # Add one. Then return it. Done.\n    y = x + {i}\n"
        + "    y = y * 2\n" * 6
        + "    return y\n"
        for i in range(6)
    ]
    text = "import os\n" + "".join(functions)  # no blank lines at all
    chunks = chunk_document(doc(text, "code"), size=250, overlap=0)
    assert chunks[0].text.startswith("import os\ndef function_0")
    for chunk in chunks[1:]:
        assert chunk.text.startswith("def function_") and chunk.text.endswith("return y")
    check_invariants(doc(text, "code"), chunks, 250, 0)


def test_a_long_code_block_is_cut_at_lines_keeping_indentation() -> None:
    text = "class Big:\n" + "".join(f"    value_{i} = {i}  # a. b. c.\n" for i in range(60))
    chunks = chunk_document(doc(text, "code"), size=200, overlap=60)
    assert len(chunks) > 5
    for previous, chunk in pairwise(chunks):
        assert chunk.text.startswith("    value_")  # a whole line, indent and all
        assert 0 < previous.end - chunk.start <= 60
        assert chunk.text.endswith("# a. b. c.")
    check_invariants(doc(text, "code"), chunks, 200, 60)


def test_an_empty_or_blank_document_has_no_chunks() -> None:
    assert chunk_document(doc("")) == []
    assert chunk_document(doc("  \n\n \t\n")) == []


@pytest.mark.parametrize(
    ("size", "overlap", "message"),
    [
        (99, 0, "at least 100"),
        (1000, -1, "less than half"),
        (1000, 500, "less than half"),
    ],
)
def test_bad_size_or_overlap_is_refused_clearly(size: int, overlap: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chunk_document(doc("text"), size=size, overlap=overlap)


def test_embed_text_puts_title_and_headings_before_the_text() -> None:
    chunk = Chunk("Use apt.", ("Guide", "Install", "On Linux"), 3, 10, 18)
    assert embed_text("Manual", chunk) == "Manual > Guide > Install > On Linux\n\nUse apt."
    assert embed_text("Guide", chunk) == "Guide > Install > On Linux\n\nUse apt."
    assert embed_text("", Chunk("Text.", (), 0, 0, 5)) == "Text."


# --- properties ---------------------------------------------------------------------------

word = st.one_of(
    st.text(alphabet="abcdefghij", min_size=1, max_size=12),
    st.text(alphabet="xyz", min_size=100, max_size=300),  # longer than the smallest size
)
sentence = st.lists(word, min_size=1, max_size=15).map(lambda ws: " ".join(ws) + ".")
paragraph = st.lists(sentence, min_size=1, max_size=12).map(" ".join)
heading = st.tuples(st.integers(1, 4), st.lists(word, min_size=1, max_size=4)).map(
    lambda h: "#" * h[0] + " " + " ".join(h[1])
)
rst_heading = st.tuples(st.lists(word, min_size=1, max_size=3), st.sampled_from("=-~")).map(
    lambda h: " ".join(h[0]) + "\n" + h[1] * len(" ".join(h[0]))
)
fence = paragraph.map(lambda p: "```\n" + p.replace(". ", ".\n\n") + "\n```")
block = st.one_of(
    paragraph, heading, rst_heading, fence, paragraph.map(lambda p: p.replace(". ", ".\n"))
)
texts = st.lists(block, max_size=15).flatmap(
    lambda blocks: st.sampled_from(["\n\n", "\n", "\n\n\n  "]).map(lambda sep: sep.join(blocks))
)


@settings(max_examples=150, deadline=None)
@given(
    text=texts,
    kind=st.sampled_from(["markdown", "text", "code", "rst"]),
    size=st.integers(100, 600),
    overlap_share=st.floats(0, 0.49),
)
def test_any_text_is_chunked_within_size_covered_and_deterministic(
    text: str, kind: str, size: int, overlap_share: float
) -> None:
    overlap = int(size * overlap_share)
    document = doc(text, kind)
    chunks = chunk_document(document, size=size, overlap=overlap)
    check_invariants(document, chunks, size, overlap)
    assert chunk_document(document, size=size, overlap=overlap) == chunks
