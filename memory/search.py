"""Hybrid retrieval: vector similarity fused with exact matches of codes and names.

Vector search finds paraphrases. A second list (SQLite FTS5, BM25-ranked phrase matches)
holds the chunks that contain the query's codes, identifiers and names word for word
("K7-4471", "INV-2024-0117", "v2.13.0", "Lyon"), which an embedding blurs into their
look-alikes. Reciprocal-rank fusion (score = sum of 1 / (K + rank) over the lists a chunk
appears in) needs no score calibration between them. Loose keyword matching of every
query word is `mode="keyword"` only: fused in, it let chunks that merely share words
outrank the answer to a paraphrased question (bench/memory_recall measured it). Only
visible chunks (rows in the index) are returned, so a half-written document never shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rung.memory.embedder import Embedder
from rung.memory.index import STOPWORDS, ChunkRow, Index
from rung.memory.store import VectorStore

RRF_K = 60
EXACT_WEIGHT = 2.0  # a chunk holding the query's very code or name outranks mere likeness
CANDIDATES = 4  # each list fetches this many times the hits asked for


@dataclass(frozen=True)
class Hit:
    chunk: ChunkRow
    score: float  # the fused score
    similarity: float | None  # cosine similarity, when the vector search found it
    keyword_rank: int | None  # 1-based rank among the word-for-word matches, if any


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
) -> list[Hit]:
    """The best `limit` chunks for `query`; `mode` is hybrid, vector or keyword.

    `source` keeps one source; `since` and `until` (Unix times) keep chunks whose time (a
    file's modification, a conversation turn's end) falls between them.
    """
    wanted = limit * CANDIDATES
    similarity: dict[str, float] = {}
    vector_ids: list[str] = []
    if mode in ("hybrid", "vector"):
        where = _where(source, since, until)
        for hit in store.search(collection, embedder.embed_one(query), wanted, where):
            similarity[hit.id] = hit.similarity
            vector_ids.append(hit.id)
    keyword_ids: list[str] = []
    exact_ids: list[str] = []
    if mode == "keyword":
        keyword_ids = index.keyword_search(collection, query, wanted)
    elif mode == "hybrid":
        exact_ids = index.phrase_search(collection, exact_terms(query), wanted)
    visible = index.chunks([*vector_ids, *keyword_ids, *exact_ids])
    vector_ids = [i for i in vector_ids if i in visible]

    def kept(id: str) -> bool:
        return id in visible and _wanted(visible[id], source, since, until)

    keyword_ids = [i for i in keyword_ids if kept(i)]
    exact_ids = [i for i in exact_ids if kept(i)]
    fused: dict[str, float] = {}
    for ranking, weight in ((vector_ids, 1.0), (keyword_ids, 1.0), (exact_ids, EXACT_WEIGHT)):
        for rank, id in enumerate(ranking, start=1):
            fused[id] = fused.get(id, 0.0) + weight / (RRF_K + rank)
    keyword_rank = {id: rank for rank, id in enumerate(keyword_ids or exact_ids, start=1)}
    best = sorted(fused, key=lambda i: fused[i], reverse=True)[:limit]
    return [Hit(visible[i], fused[i], similarity.get(i), keyword_rank.get(i)) for i in best]


def exact_terms(query: str) -> list[str]:
    """The query's codes and names, to be matched word for word: terms with a digit or
    inner punctuation (K7-4471, v2.13.0), in capitals (NAS), or capitalised past the first
    word (Lyon, Ana)."""
    terms = re.findall(r"\w+(?:[-_./:#]\w+)*", query)
    return [
        t
        for n, t in enumerate(terms)
        if any(c.isdigit() for c in t)
        or re.search(r"\w[-_./:#]\w", t)
        or (t.isupper() and len(t) > 1)
        or (n > 0 and t[0].isupper() and t.lower() not in STOPWORDS)
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
