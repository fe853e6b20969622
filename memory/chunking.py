"""Cutting a document's text into chunks for embedding: structure first, size second.

Headings (Markdown, RST, and HTML, whose reader writes headings the Markdown way) cut the
text into sections and give each chunk its heading path. Inside a section, paragraphs are
packed into chunks of up to ``size`` characters; a paragraph that does not fit is cut at
sentences, then at words, and only a single word longer than ``size`` is cut inside. Code
is cut at blank lines and top-level definitions, then at lines, never at sentences.
Consecutive chunks of one section overlap by up to ``overlap`` characters, taken from
whole sentences (lines, for code) or else whole words at the end of the previous chunk.

Each chunk is a slice of the document, ``chunk.text == doc.text[chunk.start:chunk.end]``,
no longer than ``size`` and never blank; together the chunks cover every character of the
document that is not white space. The same text always gives the same chunks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # readers.py imports this module for heading_title
    from rung.memory.readers import Document

MIN_SIZE = 100

Span = tuple[int, int]  # start and end offsets in the document text

_SYNTAX = {"markdown": "markdown", "html": "markdown", "rst": "rst", "code": "code"}
_SENTENCE_BREAK = re.compile(r"[.!?…][\"'”’)\]]*\s+(?=\S)|[。！？]\s*(?=\S)")
_WORD = re.compile(r"\S+")
_WORD_START = re.compile(r"(?<!\S)\S")
_LINE_START = re.compile(r"(?<=\n)[ \t]*\S")
_ATX = re.compile(r" {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_SETEXT = re.compile(r" {0,3}(=+|-{2,})[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1+[ \t]*")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TOP_LEVEL = re.compile(
    r"@|(?:(?:export|pub(?:\([^)]*\))?|public|private|protected|internal|static|async|abstract"
    r"|final|default|open|override)\s+)*"
    r"(?:def|class|func|fn|function|impl|struct|enum|trait|interface|type|module|object"
    r"|namespace)\b"
)
_LEADS_IN = ("@", "#", "//", "/*", "*", "--", ";")  # decorators and comments before a def


@dataclass(frozen=True)
class Chunk:
    """A slice of a document's text with the headings it stands under."""

    text: str
    heading_path: tuple[str, ...]  # the headings above the chunk, outermost first
    position: int  # index of the chunk in its document
    start: int  # offsets of text in the document's text
    end: int


def chunk_document(doc: Document, size: int = 1000, overlap: int = 150) -> list[Chunk]:
    """The chunks of a document; ``size`` and ``overlap`` count characters."""
    _validate(size, overlap)
    text, syntax = doc.text, _SYNTAX.get(doc.kind, "plain")
    chunks: list[Chunk] = []
    for path, blocks in _sections(_blocks(text, syntax)):
        units = [span for block in blocks for span in _pieces(text, block, size)]
        for start, end in _pack(text, units, size, overlap, code=syntax == "code"):
            chunks.append(Chunk(text[start:end], path, len(chunks), start, end))
    return chunks


def embed_text(doc_title: str, chunk: Chunk) -> str:
    """What to embed for a chunk: ``title > heading > subheading``, a blank line, the text.

    A first heading that repeats the title (a Markdown file's ``# Title``) is given once.
    """
    headings = list(chunk.heading_path)
    if headings and headings[0] == doc_title:
        headings.pop(0)
    context = " > ".join(part for part in (doc_title, *headings) if part)
    return f"{context}\n\n{chunk.text}" if context else chunk.text


def heading_title(text: str, kind: str) -> str | None:
    """The title a document's headings give it: Markdown's first level-1 heading, RST's first."""
    syntax = _SYNTAX.get(kind, "plain")
    for block in _blocks(text, syntax):
        if block.heading and (syntax == "rst" or block.heading[0] == 1):
            return block.heading[1]
    return None


def _validate(size: int, overlap: int) -> None:
    if size < MIN_SIZE:
        raise ValueError(f"chunk size must be at least {MIN_SIZE} characters, not {size}")
    if not 0 <= overlap < size / 2:
        raise ValueError(
            f"chunk overlap must be at least 0 and less than half the chunk size ({size}), "
            f"not {overlap}"
        )


# --- blocks: paragraphs, headings, code ---------------------------------------------------


@dataclass(frozen=True)
class _Line:
    start: int  # offset of the line's first character
    content: str  # the line without its line break and trailing white space

    @property
    def end(self) -> int:
        return self.start + len(self.content)

    @property
    def blank(self) -> bool:
        return not self.content

    @property
    def indent(self) -> int:
        return len(self.content) - len(self.content.lstrip())


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    heading: tuple[int, str] | None = None  # (level, title) when the block is a heading
    code: bool = False  # cut at lines, not sentences


def _lines(text: str) -> list[_Line]:
    lines, offset = [], 0
    for line in text.splitlines(keepends=True):
        lines.append(_Line(offset, line.rstrip()))
        offset += len(line)
    return lines


def _blocks(text: str, syntax: str) -> list[_Block]:
    lines = _lines(text)
    if syntax == "markdown":
        return _markdown_blocks(lines)
    if syntax == "rst":
        return _rst_blocks(lines)
    return _paragraphs(lines, code=syntax == "code")


def _block(lines: Sequence[_Line], *, code: bool = False) -> _Block:
    """One block over lines; prose starts at its first character, code keeps its indent."""
    start = lines[0].start if code else lines[0].start + lines[0].indent
    return _Block(start, lines[-1].end, code=code)


def _paragraphs(lines: Sequence[_Line], *, code: bool) -> list[_Block]:
    """Runs of non-blank lines; in code, a top-level definition also starts a new run."""
    blocks: list[_Block] = []
    run: list[_Line] = []
    for line in lines:
        if run and (line.blank or (code and _starts_definition(line, run[-1]))):
            blocks.append(_block(run, code=code))
            run = []
        if not line.blank:
            run.append(line)
    if run:
        blocks.append(_block(run, code=code))
    return blocks


def _starts_definition(line: _Line, previous: _Line) -> bool:
    leads_in = previous.indent == 0 and previous.content.startswith(_LEADS_IN)
    return line.indent == 0 and bool(_TOP_LEVEL.match(line.content)) and not leads_in


def _markdown_blocks(lines: Sequence[_Line]) -> list[_Block]:
    """Paragraphs, ATX and setext headings, and fenced code kept whole."""
    blocks: list[_Block] = []
    run: list[_Line] = []
    fence = ""

    def flush(*, code: bool = False) -> None:
        if run:
            blocks.append(_block(run, code=code))
            run.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if fence:
            run.append(line)
            closing = line.content.strip()
            if closing.startswith(fence) and not closing.strip(fence[0]):
                fence = ""
                flush(code=True)
        elif opening := _FENCE.match(line.content):
            flush()
            fence = opening.group(1)
            run.append(line)
        elif line.blank:
            flush()
        elif heading := _atx_heading(line):
            flush()
            blocks.append(heading)
        elif not run and i < len(lines) and _SETEXT.fullmatch(lines[i].content):
            level = 1 if lines[i].content.strip()[0] == "=" else 2
            blocks.append(_Block(line.start, lines[i].end, (level, _clean(line.content))))
            i += 1
        else:
            run.append(line)
    flush(code=bool(fence))
    return blocks


def _atx_heading(line: _Line) -> _Block | None:
    match = _ATX.fullmatch(line.content)
    if not match or not _clean(match.group(2)):
        return None
    return _Block(line.start + line.indent, line.end, (len(match.group(1)), _clean(match.group(2))))


def _clean(title: str) -> str:
    """A heading's text without link targets and emphasis marks."""
    return " ".join(_LINK.sub(r"\1", title).replace("`", "").replace("*", "").split())


def _rst_blocks(lines: Sequence[_Line]) -> list[_Block]:
    """Paragraphs and section titles (underlined, or over- and underlined)."""
    blocks: list[_Block] = []
    run: list[_Line] = []
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = levels
    i = 0
    while i < len(lines):
        found = None if run else _rst_heading(lines, i)
        if found:
            title, style, used = found
            if style not in styles:
                styles.append(style)
            level = styles.index(style) + 1
            blocks.append(_Block(lines[i].start, lines[i + used - 1].end, (level, title)))
            i += used
            continue
        if lines[i].blank:
            if run:
                blocks.append(_block(run))
            run = []
        else:
            run.append(lines[i])
        i += 1
    if run:
        blocks.append(_block(run))
    return blocks


def _rst_heading(lines: Sequence[_Line], i: int) -> tuple[str, tuple[str, bool], int] | None:
    """A section title at lines[i]: its text, its adornment style and how many lines it takes."""
    over = _RST_ADORNMENT.fullmatch(lines[i].content)
    first = i + 1 if over else i
    if first + 1 >= len(lines) or lines[first].blank:
        return None
    title = lines[first].content.strip()
    under = _RST_ADORNMENT.fullmatch(lines[first + 1].content)
    if not under or _RST_ADORNMENT.fullmatch(title) or len(under.group(0).strip()) < len(title):
        return None
    if over and over.group(1) != under.group(1):
        return None
    return _clean(title), (under.group(1), bool(over)), first + 2 - i


def _sections(blocks: Sequence[_Block]) -> Iterator[tuple[tuple[str, ...], list[_Block]]]:
    """The blocks grouped under their heading path.

    A heading with nothing under it before the next heading is not a chunk on its own: it
    goes with the next section, so ``# Guide`` then ``## Install`` starts one chunk.
    """
    stack: list[tuple[int, str]] = []
    path: tuple[str, ...] = ()
    current: list[_Block] = []
    for block in blocks:
        if block.heading is None:
            current.append(block)
            continue
        if any(b.heading is None for b in current):
            yield path, current
            current = []
        level, title = block.heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        path = tuple(title for _, title in stack)
        current.append(block)
    if current:
        yield path, current


# --- pieces no longer than size, and packing them ------------------------------------------

Splitter = Callable[[str, int, int], list[Span]]


def _pieces(text: str, block: _Block, size: int) -> list[Span]:
    splitters = (_code_lines, _words) if block.code else (_sentences, _words)
    return list(_split(text, block.start, block.end, size, splitters))


def _split(
    text: str, start: int, end: int, size: int, splitters: Sequence[Splitter]
) -> Iterator[Span]:
    """The span itself if it fits, else its parts by the first splitter, recursively."""
    if end <= start:
        return
    if end - start <= size:
        yield start, end
    elif not splitters:  # a single word longer than size
        for offset in range(start, end, size):
            yield offset, min(offset + size, end)
    else:
        for part_start, part_end in splitters[0](text, start, end):
            yield from _split(text, part_start, part_end, size, splitters[1:])


def _sentences(text: str, start: int, end: int) -> list[Span]:
    cuts = [start, *(m.end() for m in _SENTENCE_BREAK.finditer(text, start, end)), end]
    return [(a, a + len(text[a:b].rstrip())) for a, b in pairwise(cuts)]


def _code_lines(text: str, start: int, end: int) -> list[Span]:
    spans, offset = [], start
    for line in text[start:end].splitlines(keepends=True):
        if line.strip():
            spans.append((offset, offset + len(line.rstrip())))
        offset += len(line)
    return spans


def _words(text: str, start: int, end: int) -> list[Span]:
    return [m.span() for m in _WORD.finditer(text, start, end)]


def _pack(text: str, units: Sequence[Span], size: int, overlap: int, *, code: bool) -> list[Span]:
    """Greedily join consecutive units into chunks of at most size, each overlapping the last."""
    chunks: list[Span] = []
    i = 0
    while i < len(units):
        start = units[i][0]
        if chunks and overlap:
            start = _overlap_start(text, chunks[-1], units[i], size, overlap, code=code)
        j = i
        while j + 1 < len(units) and units[j + 1][1] - start <= size:
            j += 1
        chunks.append((start, units[j][1]))
        i = j + 1
    return chunks


def _overlap_start(
    text: str, previous: Span, unit: Span, size: int, overlap: int, *, code: bool
) -> int:
    """Where a chunk starts that begins with the tail of the previous one.

    The tail is at most ``overlap`` long, leaves room for ``unit`` within ``size``, and
    starts at a sentence (a line, in code) or else a word; without one there is no overlap.
    """
    prev_start, prev_end = previous
    low = max(prev_end - overlap, unit[1] - size, prev_start + 1)
    if low >= prev_end:
        return unit[0]
    if code:
        starts = (m.start() for m in _LINE_START.finditer(text, low, prev_end))
    else:
        starts = (m.end() for m in _SENTENCE_BREAK.finditer(text, prev_start, prev_end))
    for found in starts:
        if low <= found < prev_end:
            return found
    word = _WORD_START.search(text, low, prev_end)
    return word.start() if word else unit[0]
