"""The memory's ledger: which version of each source is current, its chunks, keyword search,
and the facts about the user with their vectors.

A SQLite file beside the vectors. A chunk is *visible* when its row is here: a changed
document's new chunks go into the vector store first, then one transaction here swaps the
old rows for the new ones, then the old vectors are deleted. A kill at any moment leaves
either the old document or the new one visible, never a mix, and a re-run finishes the job
(`stale()` lists sources whose old vectors still wait to be deleted; `pending()` the new
vectors of a version that a kill stopped before its swap).

Keyword search is SQLite's FTS5 with BM25 ranking, so exact names, codes and numbers are
found even where the embedding model sees only a paraphrase.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rung.memory.facts import Fact

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    version TEXT NOT NULL,          -- content hash of what is visible now
    title TEXT NOT NULL,
    mtime REAL,
    chunks INTEGER NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    stale INTEGER NOT NULL DEFAULT 0, -- old vectors not yet deleted from the vector store
    PRIMARY KEY (collection, source)
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    meta TEXT NOT NULL              -- JSON: title, heading path, offsets, ...
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks (collection, source);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5 (
    text, content='chunks', content_rowid='rowid', tokenize='unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab (chunks_fts, 'row');
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (       -- vectors written for a version not yet swapped in
    collection TEXT NOT NULL,
    source TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (collection, source, version)
);
CREATE TABLE IF NOT EXISTS forgotten (     -- what the user told memory to forget and not
    collection TEXT NOT NULL,               -- take back in ("session:ID" or "session:ID#3")
    source TEXT NOT NULL,
    PRIMARY KEY (collection, source)
);
CREATE TABLE IF NOT EXISTS facts (
    id TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    superseded_by TEXT,
    superseded_at TEXT,
    vector BLOB                     -- float32, unit length; the model is in state 'facts_model'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts (chunks_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
"""


_FACT = "id, text, source, created_at, superseded_by, superseded_at"
COMMON_SHARE = 0.2  # a word in more of the chunks than this says too little to match on
COMMON_FLOOR = 10  # (but in a small store, a word in this many chunks still counts)
BM25_K1 = 1.2  # FTS5's bm25() default
STOPWORDS = frozenset(
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be",
        "been", "before", "but", "by", "can", "could", "did", "do", "does", "for", "from", "had",
        "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me",
        "my", "no", "not", "of", "on", "or", "our", "she", "should", "so", "some", "than", "that",
        "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "up", "us",
        "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with",
        "would", "you", "your",
    }
)  # fmt: skip
_DELETE_CHUNKS = "DELETE FROM chunks WHERE collection = ? AND source = ?"


@dataclass(frozen=True)
class ChunkRow:
    id: str
    collection: str
    source: str
    position: int
    text: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class NewFact:
    """A fact for `Index.add_facts`: with its vector and the ids of the facts it replaces."""

    id: str
    text: str
    source: str
    vector: bytes  # float32, as `fact_vectors` reads it back
    supersedes: Sequence[str] = ()


@dataclass(frozen=True)
class Swap:
    """A source's new visible version, for `Index.replace_many`."""

    source: str
    version: str
    title: str
    mtime: float | None
    chunks: Sequence[ChunkRow]


@dataclass(frozen=True)
class SourceRow:
    collection: str
    source: str
    version: str
    title: str
    mtime: float | None
    chunks: int
    updated_at: str


class Index:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(facts)")}
        if "vector" not in columns:  # made by an older Rung, whose facts' vectors were in Chroma
            self.db.execute("ALTER TABLE facts ADD COLUMN vector BLOB")
        # What a search asks every time and only a write changes (how many chunks, how many
        # hold a word: FTS5's vocabulary counts a word's chunks by reading them all), kept
        # until this connection or another one writes.
        self._cached: dict[tuple[str, str | None], Any] = {}
        self._cached_at: tuple[int, int] = (-1, -1)

    def close(self) -> None:
        self.db.close()

    def _cache(self) -> dict[tuple[str, str | None], Any]:
        """The counts cache, emptied when anything was written since it was filled."""
        version = (self.db.execute("PRAGMA data_version").fetchone()[0], self.db.total_changes)
        if version != self._cached_at:
            self._cached, self._cached_at = {}, version
        return self._cached

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get_state(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_state(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM state WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, value))

    # -- sources ----------------------------------------------------------------------

    def source(self, collection: str, source: str) -> SourceRow | None:
        row = self.db.execute(
            "SELECT collection, source, version, title, mtime, chunks, updated_at FROM sources"
            " WHERE collection = ? AND source = ?",
            (collection, source),
        ).fetchone()
        return SourceRow(*row) if row else None

    def sources(self, collection: str | None = None) -> list[SourceRow]:
        sql = "SELECT collection, source, version, title, mtime, chunks, updated_at FROM sources"
        args: tuple[str, ...] = ()
        if collection is not None:
            sql, args = sql + " WHERE collection = ?", (collection,)
        return [SourceRow(*row) for row in self.db.execute(sql + " ORDER BY source", args)]

    def replace(
        self, collection: str, source: str, version: str, title: str, mtime: float | None,
        chunks: Sequence[ChunkRow],
    ) -> None:  # fmt: skip
        """Make `chunks` the visible content of `source`, in one transaction."""
        self.replace_many(collection, [Swap(source, version, title, mtime, chunks)])

    def replace_many(self, collection: str, swaps: Sequence[Swap]) -> None:
        """Each swap's chunks become the visible content of its source, all in one
        transaction (one fsync for a batch of turns)."""
        with self._transaction() as db:
            for swap in swaps:
                db.execute(_DELETE_CHUNKS, (collection, swap.source))
                db.executemany(
                    "INSERT INTO chunks (id, collection, source, position, text, meta)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (c.id, collection, swap.source, c.position, c.text, json.dumps(c.meta))
                        for c in swap.chunks
                    ],
                )
                db.execute(
                    "INSERT INTO sources (collection, source, version, title, mtime, chunks,"
                    " stale) VALUES (?, ?, ?, ?, ?, ?, 1) ON CONFLICT (collection, source) DO"
                    " UPDATE SET version = excluded.version, title = excluded.title,"
                    " mtime = excluded.mtime, chunks = excluded.chunks, stale = 1,"
                    " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')",
                    (
                        collection, swap.source, swap.version, swap.title, swap.mtime,
                        len(swap.chunks),
                    ),
                )  # fmt: skip

    def remove(self, collection: str, source: str) -> None:
        """Hide a source at once; its vectors are deleted after (see `stale`)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM chunks WHERE collection = ? AND source = ?", (collection, source)
            )
            db.execute(
                "UPDATE sources SET stale = 2, chunks = 0 WHERE collection = ? AND source = ?",
                (collection, source),
            )

    def stale(self) -> list[tuple[str, str, str | None]]:
        """(collection, source, version to keep or None) whose old vectors wait for deletion."""
        rows = self.db.execute("SELECT collection, source, version, stale FROM sources WHERE stale")
        return [(c, s, v if flag == 1 else None) for c, s, v, flag in rows]

    def pending(self) -> list[tuple[str, str, str]]:
        """(collection, source, version) whose vectors were written, then the writer died
        before the swap (or before saying it was done)."""
        rows = self.db.execute("SELECT collection, source, version FROM pending")
        return [(c, s, v) for c, s, v in rows]

    def set_pending(self, collection: str, source: str, version: str, on: bool = True) -> None:
        self.set_pending_many(collection, [(source, version)], on)

    def set_pending_many(
        self, collection: str, versions: Sequence[tuple[str, str]], on: bool = True
    ) -> None:
        """Record (or, `on=False`, clear) the (source, version) pairs whose vectors are
        being written, in one transaction."""
        sql = (
            "INSERT OR IGNORE INTO pending (collection, source, version) VALUES (?, ?, ?)"
            if on
            else "DELETE FROM pending WHERE collection = ? AND source = ? AND version = ?"
        )
        with self._transaction() as db:
            db.executemany(sql, [(collection, s, v) for s, v in versions])

    def cleaned(self, collection: str, source: str) -> None:
        """The vector store holds nothing old of `source` any more."""
        self.cleaned_many(collection, [source])

    def cleaned_many(self, collection: str, sources: Sequence[str]) -> None:
        with self._transaction() as db:
            rows = [(collection, s) for s in sources]
            db.executemany(
                "DELETE FROM sources WHERE collection = ? AND source = ? AND stale = 2", rows
            )
            db.executemany("UPDATE sources SET stale = 0 WHERE collection = ? AND source = ?", rows)

    def forgotten(self, collection: str) -> set[str]:
        rows = self.db.execute("SELECT source FROM forgotten WHERE collection = ?", (collection,))
        return {row[0] for row in rows}

    def keep_out(self, collection: str, sources: Iterable[str], keep: bool = True) -> None:
        """Mark `sources` as forgotten for good (or, with keep=False, no longer)."""
        sql = (
            "INSERT OR IGNORE INTO forgotten (collection, source) VALUES (?, ?)"
            if keep
            else "DELETE FROM forgotten WHERE collection = ? AND source = ?"
        )
        with self._transaction() as db:
            db.executemany(sql, [(collection, s) for s in sources])

    # -- chunks ---------------------------------------------------------------------

    def chunks(self, ids: Iterable[str]) -> dict[str, ChunkRow]:
        """The visible chunks among `ids`."""
        return {row.id: row for row in self._chunks_where("id IN ({})", (), list(ids))}

    def visible(self, ids: Iterable[str]) -> set[str]:
        """Which of `ids` are visible chunks (their rows not read)."""
        return {id for (id,) in self._select_where("id", "id IN ({})", (), list(ids))}

    def first_chunks(self, collection: str, sources: Iterable[str]) -> dict[str, ChunkRow]:
        """The first visible chunk of each of `sources` that has one, by source."""
        where = "collection = ? AND position = 0 AND source IN ({})"
        rows = self._chunks_where(where, (collection,), list(sources))
        return {row.source: row for row in rows}

    def _chunks_where(self, where: str, args: Sequence[str], among: list[str]) -> list[ChunkRow]:
        columns = "id, collection, source, position, text, meta"
        return [
            ChunkRow(id, collection, source, position, text, json.loads(meta))
            for id, collection, source, position, text, meta in self._select_where(
                columns, where, args, among
            )
        ]

    def _select_where(
        self, columns: str, where: str, args: Sequence[str], among: list[str], table: str = "chunks"
    ) -> list[tuple[Any, ...]]:
        """`columns` of the rows of `table` matching `where`, whose `{}` is filled with
        `among`'s placeholders (in slices: SQLite limits how many one statement takes)."""
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(among), 500):
            part = among[start : start + 500]
            marks = ",".join("?" * len(part))
            sql = f"SELECT {columns} FROM {table} WHERE " + where.format(marks)
            found.extend(self.db.execute(sql, [*args, *part]))
        return found

    def keyword_search(self, collection: str, query: str, limit: int) -> list[str]:
        """Chunk ids, best BM25 match first (see `keyword_scores`)."""
        return [id for id, _ in self.keyword_scores(collection, query, limit)]

    def keyword_scores(
        self,
        collection: str,
        query: str,
        limit: int,
        *,
        source: str | None = None,
        since: float | None = None,
        until: float | None = None,
        budget: int | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, score), best first: the chunk's BM25 over the most a chunk could score
        for these words (each word's IDF times k1 + 1), so 0..1 and comparable from query
        to query. Any of the query's words may match but the commonest English ones, which
        match everything and say nothing; BM25 weighs each word by how rare it is here.
        `source`, `since` and `until` (Unix times of the chunk's `mtime`) filter in the
        query itself, so the `limit` best of what they keep come back. `budget`: see
        `_telling_words`."""
        total = self.count()
        found = self._telling_words(query, budget, total)
        if not found:
            return []
        words = list(found)
        ceiling = sum(_idf(total, n) for n in found.values()) * (BM25_K1 + 1)
        sql = (
            "SELECT chunks.id, -bm25(chunks_fts) FROM chunks_fts"
            " JOIN chunks ON chunks.rowid = chunks_fts.rowid"
            " WHERE chunks_fts MATCH ? AND chunks.collection = ?"
        )
        args: list[Any] = [" OR ".join(f'"{w}"' for w in words), collection]
        if source is not None:
            sql += " AND chunks.source = ?"
            args.append(source)
        if since is not None:
            sql += " AND json_extract(chunks.meta, '$.mtime') >= ?"
            args.append(since)
        if until is not None:
            sql += " AND json_extract(chunks.meta, '$.mtime') < ?"
            args.append(until)
        rows = self.db.execute(sql + " ORDER BY bm25(chunks_fts) LIMIT ?", (*args, limit))
        return [(id, min(1.0, float(score) / ceiling)) for id, score in rows]

    def common_words(self, words: Sequence[str], share: float) -> set[str]:
        """Of `words`, those that more than `share` of all chunks hold (compared as FTS5
        indexes them: case and accents aside)."""
        folded = {w: _folded(w) for w in words}
        counts = self._holding({f for f in folded.values() if f and " " not in f})
        total = self.count()
        return {w for w, f in folded.items() if counts.get(f, 0) > share * total > 0}

    def _holding(self, terms: Iterable[str]) -> dict[str, int]:
        """How many chunks hold each of `terms` (as FTS5 indexes words); absent: none."""
        terms = set(terms)
        cache = self._cache()
        missing = sorted(t for t in terms if ("holding", t) not in cache)
        if missing:
            marks = ",".join("?" * len(missing))
            sql = f"SELECT term, doc FROM chunks_vocab WHERE term IN ({marks})"
            found = dict(self.db.execute(sql, missing))
            cache.update({("holding", t): found.get(t, 0) for t in missing})
        held = {t: cache[("holding", t)] for t in terms}
        return {t: n for t, n in held.items() if n}

    def _telling_words(self, query: str, budget: int | None, total: int) -> dict[str, int]:
        """The query's words that can tell chunks apart here, with how many chunks hold
        each: words in the store, and in at most COMMON_SHARE of its chunks (a word in most
        of them, such as a name that is in every memory, matches everything). With a
        `budget`, the rarest of them while the chunks they are in add up to at most that
        many: BM25 scores every chunk a word is in, and the common words, whose weight is
        small, are what make that slow in a large store. Without one, when every word is
        common, the rarest two. `total`: how many chunks there are."""
        plain = re.sub(r"(?<=\w)['’](?:s|t|d|m|ll|ve|re)\b", "", query)  # not the s of Ana's
        words = [w for w in dict.fromkeys(_folded(plain).split()) if w not in STOPWORDS]
        seen = self._holding(words)
        present = sorted((w for w in words if seen.get(w)), key=lambda w: seen[w])
        limit = max(COMMON_FLOOR, COMMON_SHARE * total)
        telling = [w for w in present if seen[w] <= limit]
        if budget is None:
            return {w: seen[w] for w in telling or present[:2]}
        kept: dict[str, int] = {}
        for word in telling:
            budget -= seen[word]
            if budget < 0:
                break
            kept[word] = seen[word]
        return kept

    def forget_chunk(self, id: str) -> ChunkRow | None:
        """Hide one chunk at once (its vector is deleted after); the chunk, if it was there."""
        row = self.chunks([id]).get(id)
        if row is None:
            return None
        with self._transaction() as db:
            db.execute("DELETE FROM chunks WHERE id = ?", (id,))
            db.execute(
                "UPDATE sources SET chunks = chunks - 1 WHERE collection = ? AND source = ?",
                (row.collection, row.source),
            )
        return row

    def all_chunks(self, collection: str | None = None) -> Iterator[ChunkRow]:
        """Every visible chunk, by source and position (for export and reindex)."""
        sql = "SELECT id, collection, source, position, text, meta FROM chunks"
        args: tuple[str, ...] = ()
        if collection is not None:
            sql, args = sql + " WHERE collection = ?", (collection,)
        for id, coll, source, position, text, meta in self.db.execute(
            sql + " ORDER BY collection, source, position", args
        ).fetchall():
            yield ChunkRow(id, coll, source, position, text, json.loads(meta))

    # -- facts ------------------------------------------------------------------------

    def add_facts(self, facts: Sequence[NewFact]) -> list[Fact]:
        """Store facts and mark those each replaces, in one transaction."""
        with self._transaction() as db:
            for fact in facts:
                db.execute(
                    "INSERT INTO facts (id, text, source, vector) VALUES (?, ?, ?, ?)",
                    (fact.id, fact.text, fact.source, fact.vector),
                )
                db.executemany(
                    "UPDATE facts SET superseded_by = ?,"
                    " superseded_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
                    [(fact.id, old) for old in fact.supersedes],
                )
        found = self.facts_by_id([f.id for f in facts])
        return [found[f.id] for f in facts if f.id in found]

    def fact(self, id: str) -> Fact | None:
        return self.facts_by_id([id]).get(id)

    def facts_by_id(self, ids: Sequence[str]) -> dict[str, Fact]:
        rows = self._select_where(_FACT, "id IN ({})", (), list(ids), table="facts")
        return {row[0]: Fact(*row) for row in rows}

    def facts(self, *, current_only: bool = True) -> list[Fact]:
        where = " WHERE superseded_by IS NULL" if current_only else ""
        rows = self.db.execute(f"SELECT {_FACT} FROM facts{where} ORDER BY created_at, rowid")
        return [Fact(*row) for row in rows]

    def fact_vectors(self) -> tuple[list[str], Any]:
        """The current facts that have a vector: their ids, and the vectors as the rows of
        a float32 matrix (kept until anything writes)."""
        import numpy as np

        cache = self._cache()
        if ("fact_vectors", None) not in cache:
            rows = self.db.execute(
                "SELECT id, vector FROM facts WHERE superseded_by IS NULL AND vector IS NOT NULL"
                " ORDER BY rowid"
            ).fetchall()
            matrix = np.frombuffer(b"".join(v for _, v in rows), dtype=np.float32)
            matrix = matrix.reshape(len(rows), -1) if rows else np.zeros((0, 0), np.float32)
            cache[("fact_vectors", None)] = ([id for id, _ in rows], matrix)
        ids, matrix = cache[("fact_vectors", None)]
        return list(ids), matrix

    def facts_without_vector(self) -> list[Fact]:
        """The current facts that have no vector (yet)."""
        sql = f"SELECT {_FACT} FROM facts WHERE superseded_by IS NULL AND vector IS NULL"
        return [Fact(*row) for row in self.db.execute(sql + " ORDER BY rowid")]

    def clear_fact_vectors(self) -> None:
        self.db.execute("UPDATE facts SET vector = NULL WHERE vector IS NOT NULL")

    def set_fact_vectors(self, vectors: Sequence[tuple[str, bytes]]) -> None:
        """Give facts (id, vector) their vectors, in one transaction."""
        with self._transaction() as db:
            db.executemany("UPDATE facts SET vector = ? WHERE id = ?", [(v, i) for i, v in vectors])

    def edit_fact(self, id: str, text: str, vector: bytes) -> None:
        self.db.execute("UPDATE facts SET text = ?, vector = ? WHERE id = ?", (text, vector, id))

    def delete_fact(self, id: str) -> None:
        self.db.execute("DELETE FROM facts WHERE id = ?", (id,))

    def count(self, collection: str | None = None) -> int:
        cache = self._cache()
        key = ("count", collection)
        if key not in cache:
            if collection is None:
                found = self.db.execute("SELECT count(*) FROM chunks").fetchone()
            else:
                sql = "SELECT count(*) FROM chunks WHERE collection = ?"
                found = self.db.execute(sql, (collection,)).fetchone()
            cache[key] = int(found[0])
        return int(cache[key])


def _folded(text: str) -> str:
    """Words as FTS5's unicode61 tokenizer indexes them: lower case, accents removed, one
    space between (crème brûlée -> creme brulee)."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.findall(r"\w+", plain))


def _idf(total: int, holding: int) -> float:
    """A word's inverse document frequency as FTS5's bm25() weighs it."""
    return max(1e-6, math.log((total - holding + 0.5) / (holding + 0.5)))
