"""HTML to readable text: the page's title, and its visible text with Markdown headings.

Scripts, styles, navigation and hidden elements are dropped; when the page marks its main
content (`<main>`, `<article>`), only that is kept. Used by the memory's readers and by the
built-in fetch tool.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object"}
    | {"nav", "footer", "aside", "button", "select", "dialog"}
)
VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}
    | {"track", "wbr"}
)
BLOCK_TAGS = frozenset(
    {"address", "article", "blockquote", "dd", "details", "div", "dl", "dt", "fieldset"}
    | {"figcaption", "figure", "form", "header", "hr", "main", "ol", "p", "pre", "section"}
    | {"summary", "table", "tr", "ul", "br", "caption"}
)
MAIN_TAGS = frozenset({"main", "article"})
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
PARAGRAPHS = frozenset({"p", "pre", "table", "blockquote"})


def html_to_text(html: str) -> tuple[str, str]:
    """An HTML page's title and its readable text (the main element's, when it has one)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return " ".join(parser.title.split()), parser.body()


class _TextExtractor(HTMLParser):
    """Collects the visible text, marking headings, list items and table cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.in_title = False
        self.skipping: list[str] = []  # the open tags inside a skipped element
        self.pre = 0
        self.main = 0
        self.cells = 0
        self.all = _Lines()
        self.main_text = _Lines()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping:
            if tag not in VOID_TAGS:
                self.skipping.append(tag)
        elif tag == "title" and not self.title:
            self.in_title = True
        elif tag in SKIPPED_TAGS or _hidden(dict(attrs)):
            if tag not in VOID_TAGS:
                self.skipping.append(tag)
        else:
            self._open(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            if tag in self.skipping:
                del self.skipping[len(self.skipping) - 1 - self.skipping[::-1].index(tag) :]
        elif tag == "title":
            self.in_title = False
        else:
            self._close(tag)

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
        elif not self.skipping:
            self._write(data if self.pre else re.sub(r"\s+", " ", data), raw=bool(self.pre))

    def _open(self, tag: str) -> None:
        self.main += tag in MAIN_TAGS
        self.pre += tag == "pre"
        if tag in HEADINGS:
            self._break(2)
            self._write("#" * int(tag[1]) + " ", raw=True)
        elif tag == "li":
            self._break(1)
            self._write("- ", raw=True)
        elif tag in ("td", "th"):
            if self.cells:
                self._write(" | ", raw=True)
            self.cells += 1
        elif tag in BLOCK_TAGS:
            self.cells = 0
            self._break(2 if tag in PARAGRAPHS else 1)

    def _close(self, tag: str) -> None:
        if tag in HEADINGS or tag in BLOCK_TAGS:
            self._break(2 if tag in HEADINGS or tag in PARAGRAPHS else 1)
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag in MAIN_TAGS:
            self.main = max(0, self.main - 1)

    def _write(self, text: str, *, raw: bool = False) -> None:
        self.all.write(text, raw=raw)
        if self.main:
            self.main_text.write(text, raw=raw)

    def _break(self, lines: int) -> None:
        self.all.break_lines(lines)
        if self.main:
            self.main_text.break_lines(lines)

    def body(self) -> str:
        return self.main_text.value() or self.all.value()


class _Lines:
    """Text with line breaks that merge: breaks in a row count as the largest of them."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0

    def write(self, text: str, *, raw: bool = False) -> None:
        at_line_start = self.pending or not self.parts
        if not raw and (at_line_start or self.parts[-1].endswith(" ")):
            text = text.lstrip(" ")
        if not text:
            return
        if self.pending and self.parts:
            self.parts[-1] = self.parts[-1].rstrip(" ")
            self.parts.append("\n" * self.pending)
        self.pending = 0
        self.parts.append(text)

    def break_lines(self, lines: int) -> None:
        self.pending = max(self.pending, lines)

    def value(self) -> str:
        return "".join(self.parts).strip()


def _hidden(attrs: dict[str, str | None]) -> bool:
    style = (attrs.get("style") or "").replace(" ", "").lower()
    return (
        "hidden" in attrs
        or attrs.get("aria-hidden") == "true"
        or "display:none" in style
        or "visibility:hidden" in style
    )
