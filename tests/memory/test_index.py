"""The ledger: what is visible, keyword search, and the clean-up a killed run leaves."""

from __future__ import annotations

from pathlib import Path

from rung.memory.index import ChunkRow, Index


def rows(source: str, version: str, *texts: str) -> list[ChunkRow]:
    return [
        ChunkRow(f"{source}:{version}:{n}", "documents", source, n, text, {"title": source})
        for n, text in enumerate(texts)
    ]


def test_replace_swaps_all_chunks_of_a_source_at_once(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    index.replace("documents", "a.md", "v1", "A", 1.0, rows("a.md", "v1", "old one", "old two"))
    index.replace("documents", "a.md", "v2", "A", 2.0, rows("a.md", "v2", "new text"))
    assert index.count("documents") == 1
    assert index.keyword_search("documents", "old", 10) == []
    assert index.keyword_search("documents", "new", 10) == ["a.md:v2:0"]
    source = index.source("documents", "a.md")
    assert source is not None and source.version == "v2" and source.chunks == 1


def test_keyword_search_finds_exact_codes_and_ranks_by_bm25(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    index.replace(
        "documents",
        "codes.md",
        "v1",
        "Codes",
        None,
        rows("codes.md", "v1", "error ERR-4021 means the disk is full", "error ERR-5000 is fine"),
    )
    assert index.keyword_search("documents", "what is ERR-4021?", 1) == ["codes.md:v1:0"]
    assert index.keyword_search("documents", "???", 5) == []
    assert index.keyword_search("conversations", "ERR", 5) == []


def test_stale_lists_what_a_killed_run_left_until_cleaned(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    index.replace("documents", "a.md", "v1", "A", 1.0, rows("a.md", "v1", "text"))
    assert index.stale() == [("documents", "a.md", "v1")]
    index.cleaned("documents", "a.md")
    assert index.stale() == []
    index.remove("documents", "a.md")
    assert index.count() == 0 and index.stale() == [("documents", "a.md", None)]
    index.cleaned("documents", "a.md")
    assert index.source("documents", "a.md") is None and index.stale() == []


def test_the_index_survives_reopening(tmp_path: Path) -> None:
    Index(tmp_path / "i.sqlite3").replace("documents", "a", "v", "A", None, rows("a", "v", "x"))
    assert Index(tmp_path / "i.sqlite3").chunks(["a:v:0"])["a:v:0"].text == "x"


def test_a_word_in_most_chunks_is_left_out_of_the_match_and_a_rare_one_counts(
    tmp_path: Path,
) -> None:
    index = Index(tmp_path / "index.sqlite3")
    texts = [f"Ana: note {n} about the garden and the weather" for n in range(40)]
    texts[7] = "Ana: the boiler code is K7-4471, call the plumber"
    index.replace("documents", "n.md", "v1", "N", 1.0, rows("n.md", "v1", *texts))
    found = index.keyword_scores("documents", "What did Ana say about K7-4471?", 5)
    assert [id for id, _ in found] == ["n.md:v1:7"]  # "ana" is in all 40: no match on it
    # a query of only common words still matches on its rarest ones
    assert len(index.keyword_scores("documents", "Ana garden", 5)) == 5
    assert index.common_words(["Ana", "Plumber", "Crème"], 0.5) == {"Ana"}


def test_keyword_filters_apply_before_the_limit(tmp_path: Path) -> None:
    """Thirty old chunks match better than the one new one: with the time filter in the
    query the new one is still found within a limit of 5."""
    index = Index(tmp_path / "index.sqlite3")
    for n in range(30):
        chunks = rows(f"old{n}.md", "v1", "invoice invoice invoice for the hosting")
        chunks = [ChunkRow(c.id, c.collection, c.source, c.position, c.text, {"mtime": 100.0})
                  for c in chunks]  # fmt: skip
        index.replace("documents", f"old{n}.md", "v1", "Old", 100.0, chunks)
    new = ChunkRow("new.md:v1:0", "documents", "new.md", 0, "an invoice", {"mtime": 900.0})
    index.replace("documents", "new.md", "v1", "New", 900.0, [new])
    assert [id for id, _ in index.keyword_scores("documents", "invoice", 5, since=500)] == [
        "new.md:v1:0"
    ]
    assert len(index.keyword_scores("documents", "invoice", 5, until=500)) == 5
    assert index.keyword_scores("documents", "invoice", 5, source="new.md")[0][0] == "new.md:v1:0"


def test_counts_are_kept_until_anything_writes(tmp_path: Path) -> None:
    index = Index(tmp_path / "index.sqlite3")
    index.replace("documents", "a.md", "v1", "A", 1.0, rows("a.md", "v1", "the boiler", "K7-4471"))
    assert index.count() == 2 and index.common_words(["boiler"], 0.4) == {"boiler"}
    index.replace("documents", "b.md", "v1", "B", 1.0, rows("b.md", "v1", "tomatoes", "sun"))
    assert index.count() == 4 and index.common_words(["boiler"], 0.4) == set()  # 1 of 4 now
    other = Index(tmp_path / "index.sqlite3")  # another connection (as another process)
    other.remove("documents", "a.md")
    assert index.count() == 2 and index.count("documents") == 2
    assert index.keyword_scores("documents", "K7-4471", 5) == []
    other.close()
    index.close()
