"""Hybrid retrieval: meaning and words, fused by score.

Two candidate lists per query. The vector list: the chunks nearest to the query's
embedding (cosine similarity), which finds paraphrases. The keyword list: SQLite FTS5's
BM25 over the query's words (the commonest English words left out). BM25 weighs each word
by how rare it is in the store, so a name that is in most memories (the user's own, a
partner's, a home town) counts for little, and a part number, invoice or error code that is
in one chunk counts for much: that is what an embedding blurs into its look-alikes.

Each candidate of either list gets both scores (a keyword-only candidate's similarity is
computed from its stored vector), and the fused score is the convex combination

    VECTOR_WEIGHT * similarity + (1 - VECTOR_WEIGHT) * bm25 / (the most a chunk could score)

where the most a chunk could score is each query word's IDF times (k1 + 1): a chunk that
holds only a common word of the query scores little, even when it is the best there is.
Score fusion, not rank fusion: reciprocal-rank fusion counts a chunk that matched one
common word as much as one that matched the query's rare code, and it ignores how close
the vectors really are. `bench/memory_recall` measured the weight and the candidate depth
on three labelled sets (personal notes, long conversations between two named people, the
Python reference), against vector-only, BM25-only and plain reciprocal-rank fusion.

A time the query names ("in May", "last week": `memory/when.py`) adds TIME_WEIGHT to the
chunks of that time, and their nearest are fetched too. The keyword half runs in a worker
thread while Chroma searches (both let go of the GIL: `bench/memory_query` at 100k chunks),
and a keyword-only candidate that could not reach the top even as near as the farthest of
the vector list is dropped before its vector is fetched.

Only visible chunks (rows in the index) are returned, so a half-written document never
shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow, Index
from rung.memory.store import VectorHit, VectorStore
from rung.memory.when import named_span

VECTOR_WEIGHT = 0.75  # the rest is the keyword score's (bench/memory_recall)
CANDIDATES = 50  # each list fetches this many (at least), then fusion picks the best
# The hybrid's keyword half matches the query's rarest words while the chunks they are in
# add up to at most this many (a word in thousands of chunks weighs little in BM25 and
# makes it slow: bench/memory_query at 100k chunks).
MATCH_BUDGET = 1000
# Added to the fused score of a chunk of the time the query names. On bench/memory_recall's
# conversations set it changes nothing (its questions that name a month found that month's
# turns already); between two look-alikes of different months it picks the one asked for.
TIME_WEIGHT = 0.1
_KEYWORDS = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rung-keywords")


@dataclass(frozen=True)
class Hit:
    chunk: ChunkRow
    score: float  # what it was ranked by: the fused score (or the mode's own)
    similarity: float | None  # cosine similarity to the query, when its vector is stored
    keyword: float | None  # its BM25 over the most a chunk could score, 0..1; None: no word
    then: bool = False  # of the time the query names ("in May"), so favoured

    @property
    def why(self) -> str:
        """Why it ranked where it did, in a few words."""
        parts = []
        if self.similarity is not None:
            parts.append(f"meaning {self.similarity:.2f}")
        if self.keyword is not None:
            parts.append(f"words {self.keyword:.2f}")
        if self.then:
            parts.append("the time asked")
        return " + ".join(parts) or "no score"


def search(
    query: str,
    *,
    embedder: Embedder,
    store: VectorStore,
    index: Index,
    collection: str = "documents",
    limit: int = 5,
    source: str | None = None,
    since: float | None = None,
    until: float | None = None,
    mode: str = "hybrid",
    vector: Sequence[float] | None = None,
    now: datetime | None = None,
) -> list[Hit]:
    """The best `limit` chunks for `query`; `mode` is hybrid, vector or keyword.

    `source` keeps one source; `since` and `until` (Unix times) keep chunks whose time (a
    file's modification, a conversation turn's end) falls between them. `vector`: the
    query's embedding, when the caller has it already (searching several collections).
    In hybrid mode a time the query names ("in May", "last week"; counted back from `now`)
    favours the chunks of that time, by TIME_WEIGHT (see `memory/when.py`).
    """
    wanted = max(CANDIDATES, limit * 4)
    named = mode == "hybrid" and since is None and until is None
    span = named_span(query, now) if named else None
    keyword_job = None  # the keyword half runs beside the vector half (both let go of the GIL)
    if mode in ("hybrid", "keyword"):
        keyword_job = _KEYWORDS.submit(
            index.keyword_scores,
            collection,
            query,
            wanted,
            source=source,
            since=since,
            until=until,
            budget=MATCH_BUDGET if mode == "hybrid" else None,
        )
    similarity: dict[str, float] = {}
    nearest: list[VectorHit] = []
    try:
        if mode in ("hybrid", "vector"):
            vector = vector if vector is not None else embedder.embed_one(query)
            nearest = store.search(collection, vector, wanted, _where(source, since, until))
            similarity = {h.id: h.similarity for h in nearest}
            if span is not None:  # the nearest of that time too, however far they are
                within = store.search(collection, vector, wanted, _where(source, *span))
                similarity |= {h.id: h.similarity for h in within}
    finally:  # the index is never left in use when this returns or raises
        bm25 = dict(keyword_job.result()) if keyword_job else {}  # 0..1: Index.keyword_scores
    # Which candidates are visible, and, when a time or source is asked for, their rows
    # (the rows of the rest are read for the best few only).
    found_ids = [*similarity, *bm25]
    timed = source is not None or since is not None or until is not None or span is not None
    rows = index.chunks(found_ids) if timed else {}
    visible = set(rows) if timed else index.visible(found_ids)

    def kept(id: str) -> bool:
        return id in visible and (not timed or _wanted(rows[id], source, since, until))

    similarity = {i: s for i, s in similarity.items() if kept(i)}
    keyword = {i: s for i, s in bm25.items() if kept(i)}
    then = {i for i in similarity | keyword if span and _wanted(rows[i], None, *span)}

    def fused(id: str, near: float) -> float:
        words = (1 - VECTOR_WEIGHT) * keyword.get(id, 0.0)
        return VECTOR_WEIGHT * near + words + (TIME_WEIGHT if id in then else 0.0)

    def score(id: str) -> float:
        if mode == "vector":
            return similarity[id]
        if mode == "keyword":
            return keyword[id]
        return fused(id, similarity.get(id, 0.0))

    if mode == "hybrid" and vector is not None:
        # A chunk the full vector list left out is no nearer than the last one in it, so a
        # keyword-only candidate that could not reach the top `limit` even that near is
        # dropped without fetching its vector.
        farthest = nearest[-1].similarity if len(nearest) >= wanted else 1.0
        known = sorted((score(i) for i in similarity), reverse=True)
        bar = known[limit - 1] if len(known) >= limit else -1.0
        hopeful = [i for i in keyword if i not in similarity and fused(i, farthest) > bar]
        keyword = {i: s for i, s in keyword.items() if i in similarity or i in hopeful}
        similarity |= store.similarities(collection, vector, hopeful)

    found = (
        similarity if mode == "vector" else keyword if mode == "keyword" else similarity | keyword
    )
    best = sorted(found, key=score, reverse=True)[:limit]
    rows = rows or index.chunks(best)
    return [
        Hit(rows[i], score(i), similarity.get(i), keyword.get(i), i in then)
        for i in best
        if i in rows
    ]


def _where(source: str | None, since: float | None, until: float | None) -> dict[str, Any] | None:
    """The vector store's filter for a source and a time range."""
    terms: list[dict[str, Any]] = []
    if source:
        terms.append({"source": source})
    if since is not None:
        terms.append({"mtime": {"$gte": since}})
    if until is not None:
        terms.append({"mtime": {"$lt": until}})
    if len(terms) > 1:
        return {"$and": terms}
    return terms[0] if terms else None


def _wanted(chunk: ChunkRow, source: str | None, since: float | None, until: float | None) -> bool:
    if source is not None and chunk.source != source:
        return False
    if since is None and until is None:
        return True
    when = chunk.meta.get("mtime")
    if not isinstance(when, int | float):
        return False
    return (since is None or when >= since) and (until is None or when < until)
