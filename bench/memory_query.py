"""Memory search latency at 10k and 100k chunks: the full search, the search part, each piece.

The store is built in a temp folder each run, without the embedding model: chunk texts are
generated (English function words and a few hundred topic words with Zipf frequencies, a
long tail of made-up words, now and then a code like "K7-4471"), ten chunks per source, and
each chunk gets a SYNTHETIC vector (random, unit length, dimension 384) written with
`VectorStore.add`, its row with `Index.replace` and `Index.cleaned` (per source), as
ingestion writes them. Embedding 100k chunks would take about ten minutes here; the
vectors' values do not change what a search costs, only what it finds. 10k are built and
measured, then 90k more are added and everything is measured again.

The queries are real questions, embedded by the real model. Per query, in turn:
- full search: `Memory.search(query)`, which embeds the query and runs the hybrid search;
- search part: the same `search()` with a stand-in embedder that returns the query's vector
  computed before the clock (`CachedQueryEmbedder`): Chroma, FTS5 and the fusion, no model;
- its pieces: `VectorStore.search`, `Index.keyword_scores` (the query's rarest words, within
  the hybrid's budget of matched chunks), `VectorStore.similarities` (the
  stored vectors of the keyword-only candidates), `Index.chunks` on the ids found;
- baselines: the bare `Embedder.embed_one` and a bare Chroma `collection.query` for as many
  neighbours as `search()` asks for.

    python -m bench.memory_query [--quick]
"""

from __future__ import annotations

import hashlib
import itertools
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import Report, Target, median, parse_args, percentile, publish
from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow
from rung.memory.search import CANDIDATES, MATCH_BUDGET, search
from rung.memory.service import Memory, MemoryConfig

FULL_TARGET_MS = 40.0  # p95 of the full search at 100k chunks
SEARCH_TARGET_MS = 10.0  # p95 of the search part alone at 100k chunks
TARGET_SIZE = 100_000
DIMENSION = 384
LIMIT = 5  # hits per search, the default
PER_SOURCE = 10  # chunks per source document
BATCH = 5000  # chunks generated and written at a time
COLLECTION = "documents"
SEED = 4471

FUNCTION_WORDS = (
    "the of and to a in is it you that for on was with as are be this have from or at by not "
    "but what all were we when your can said there use an each which she do how their if will "
    "up other about out many then them these so some her would make like him into time has "
    "look two more write go see number no way could people my than first been call who its "
    "now find long down day did get come made may part"
)
TOPIC_WORDS = (
    "garden water engine invoice meeting budget travel plan report server backup tomato bike "
    "chain insurance policy car doctor appointment dentist passport flight hotel train ticket "
    "recipe risotto bread oven flour salary tax refund bank account loan mortgage rent landlord "
    "lease contract deadline project release version upgrade database migration password "
    "router wifi printer laptop battery charger warranty repair dishwasher fridge boiler "
    "heating radiator window roof gutter paint kitchen bathroom tile plumber electrician "
    "receipt order delivery parcel courier address phone email calendar birthday wedding "
    "holiday vacation beach mountain hike trail camping tent weather rain snow winter summer "
    "spring autumn school teacher homework exam grade university course lecture library book "
    "novel author chapter poem music guitar piano concert film cinema museum gallery painting "
    "photo camera lens football tennis running marathon gym swim yoga diet vitamin medicine "
    "pharmacy prescription allergy vaccine hospital nurse clinic symptom fever cough cat dog "
    "vet food walk fish plant seed soil compost harvest apple pear cherry coffee tea milk "
    "sugar cheese wine market shop price discount coupon card subscription renewal cancel "
    "complaint support manager colleague team review feedback promotion interview office "
    "remote commute bus metro parking fine licence registration inspection tyre brake oil "
    "filter clutch mileage fuel diesel electric charging station solar panel inverter meter "
    "bill energy supplier tariff gas electricity renew pressure leak noise schedule"
)
SYLLABLES = "ka ro mi ten sul bra vo nel dri pa tor gun sel mar qui lo fen dar wes zi"
TAIL_WORDS = 6000  # made-up words after the real ones, ever rarer
QUERIES = (
    "how do I renew the car insurance policy",
    "what did the plumber say about the boiler pressure",
    "when is the dentist appointment",
    "which hotel did we book for the summer holiday",
    "how much was the electricity bill last winter",
    "what is the wifi password for the router",
    "tips for watering tomato plants in the garden",
    "who is the landlord and when is the rent due",
    "what did my manager say in the project review",
    "how to bake bread in the oven with less flour",
    "where can I charge the electric car near the office",
    "what is the deadline for the tax refund",
    "which vaccine does the cat need at the vet",
    "what was decided about the database migration",
    "how far is the mountain hike trail from the station",
    "list of things to pack for camping",
    "when does the gym subscription need renewal",
    "what was wrong with the dishwasher and who repaired it",
    "the printer makes a noise when it prints",
    "how do I cancel the coupon card subscription",
    "which book did the teacher recommend for the exam",
    "what medicine did the doctor prescribe for the cough",
    "how much mileage before the brake and oil inspection",
    "what does the solar panel inverter meter show",
    "notes from the meeting with the team about the budget",
    "when is the train ticket for the concert",
    "what is the warranty on the laptop battery",
    "which supplier has the cheapest energy tariff",
    "how to fix the leak in the bathroom tile",
    "what did we plan for the wedding",
    "where is the invoice K7-4471",
    "status of order INV-2024-0117",
    "what changed in release v2.13.0",
    "error ERR-4021 on the backup server",
    "parcel tracking number Q3-8812",
    "contract reference X5-2290 with the landlord",
)
PLANTED = ("K7-4471", "INV-2024-0117", "v2.13.0", "ERR-4021", "Q3-8812", "X5-2290")


# -- the synthetic corpus -------------------------------------------------------------------


def vocabulary() -> tuple[list[str], list[float]]:
    """Words, most common first, and their cumulative Zipf weights (for random.choices)."""
    words = list(dict.fromkeys(FUNCTION_WORDS.split() + TOPIC_WORDS.split()))
    syllables = SYLLABLES.split()
    seen, rng = set(words), random.Random(SEED)
    target = len(words) + TAIL_WORDS
    while len(words) < target:
        word = "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words, list(itertools.accumulate(1 / (rank + 2.7) for rank in range(len(words))))


@dataclass
class Corpus:
    """Generates chunk texts: sentences of Zipf-distributed words, about 900 characters."""

    rng: random.Random
    words: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.words, self.weights = vocabulary()

    def sentence(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.weights, k=self.rng.randint(6, 18))
        if self.rng.random() < 0.04:  # a code, as notes hold now and then
            code = (
                f"{self.rng.choice('ABKQX')}{self.rng.randint(1, 9)}-{self.rng.randint(1000, 9999)}"
            )
            words.insert(self.rng.randrange(len(words)), code)
        if self.rng.random() < 0.001:  # the queries' codes, in a few chunks each
            words.insert(self.rng.randrange(len(words)), self.rng.choice(PLANTED))
        text = " ".join(words)
        return text[0].upper() + text[1:] + "."

    def chunk(self) -> str:
        sentences: list[str] = []
        while sum(map(len, sentences)) < 900:
            sentences.append(self.sentence())
        return " ".join(sentences)


@dataclass
class Build:
    chunks: int = 0
    text_s: float = 0.0
    vectors_s: float = 0.0  # VectorStore.add
    index_s: float = 0.0  # Index.replace and Index.cleaned

    @property
    def total_s(self) -> float:
        return self.text_s + self.vectors_s + self.index_s


def grow(
    memory: Memory, corpus: Corpus, vectors: np.random.Generator, to: int, build: Build
) -> None:
    """Add synthetic chunks to `memory` until it holds `to`, as ingestion writes them."""
    while build.chunks < to:
        count = min(BATCH, to - build.chunks)
        started = time.perf_counter()
        texts = [corpus.chunk() for _ in range(count)]
        block = vectors.standard_normal((count, DIMENSION), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        sources = []
        for first in range(0, count, PER_SOURCE):
            number = (build.chunks + first) // PER_SOURCE
            source = f"/home/user/notes/synthetic-{number:06d}.md"
            version = hashlib.sha256(source.encode()).hexdigest()[:24]
            key = hashlib.sha256(source.encode()).hexdigest()[:16]
            positions = range(min(PER_SOURCE, count - first))
            ids = [f"{key}:{version}:{p}" for p in positions]
            sources.append((source, version, ids, texts[first : first + len(ids)]))
        build.text_s += time.perf_counter() - started

        started = time.perf_counter()
        ids = [i for _, _, source_ids, _ in sources for i in source_ids]
        metadatas: list[dict[str, str | float]] = [
            {"source": source, "version": version, "mtime": 1.7e9}
            for source, version, source_ids, _ in sources
            for _ in source_ids
        ]
        memory.store.add(COLLECTION, ids, block, metadatas)
        build.vectors_s += time.perf_counter() - started

        started = time.perf_counter()
        for source, version, source_ids, source_texts in sources:
            rows = [
                ChunkRow(id, COLLECTION, source, p, text, meta(source, text))
                for p, (id, text) in enumerate(zip(source_ids, source_texts, strict=True))
            ]
            memory.index.replace(COLLECTION, source, version, Path(source).stem, 1.7e9, rows)
            memory.index.cleaned(COLLECTION, source)
        build.index_s += time.perf_counter() - started
        build.chunks += count
    stored = (memory.index.count(COLLECTION), memory.store.count(COLLECTION))
    if stored != (to, to):
        raise SystemExit(f"bench: built {to} chunks, but the index and store hold {stored}")


def meta(source: str, text: str) -> dict[str, Any]:
    """What ingestion stores beside a chunk's text."""
    title = Path(source).stem
    return {"title": title, "headings": [title], "start": 0, "end": len(text), "mtime": 1.7e9}


# -- timing ---------------------------------------------------------------------------------


class CachedQueryEmbedder(Embedder):
    """A stand-in embedder: the vectors of known queries, computed before the clock; no model."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        super().__init__()
        self.vectors = vectors

    def embed_one(self, text: str) -> list[float]:
        return self.vectors[text]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([self.vectors[t] for t in texts], dtype=np.float32)


FULL = "full search: Memory.search (embed + hybrid)"
PART = "search part: search() with a cached query vector"
EMBED = "bare Embedder.embed_one (baseline)"
CHROMA = f"bare Chroma collection.query, top {CANDIDATES} (baseline)"
PIECES = (
    "  VectorStore.search (count + query)",
    "  Index.keyword_scores (FTS5 BM25, within the hybrid's budget)",
    "  VectorStore.similarities (keyword-only candidates)",
    "  Index.chunks (the ids found)",
)
ORDER = (EMBED, CHROMA, FULL, PART, *PIECES)


@dataclass
class Size:
    chunks: int
    build: Build
    times_ms: dict[str, list[float]] = field(default_factory=dict)

    def p50(self, what: str) -> float:
        return median(self.times_ms[what])

    def p95(self, what: str) -> float:
        return percentile(self.times_ms[what], 95)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def measure_size(memory: Memory, cached: CachedQueryEmbedder, rounds: int, size: Size) -> None:
    """Each query, each round: every operation once, timed on its own, in a rotating order."""
    store, index = memory.store, memory.index
    collection = store.collection(COLLECTION)
    wanted = CANDIDATES
    times: dict[str, list[float]] = {what: [] for what in ORDER}

    def one(query: str, turn: int, record: bool) -> None:
        vector = cached.vectors[query]
        results: dict[str, Any] = {}
        calls: dict[str, Callable[[], Any]] = {
            EMBED: lambda: memory.embedder.embed_one(query),
            CHROMA: lambda: collection.query(
                query_embeddings=[vector], n_results=wanted, include=["distances"]
            ),
            FULL: lambda: memory.search(query, limit=LIMIT),
            PART: lambda: search(query, embedder=cached, store=store, index=index, limit=LIMIT),
            PIECES[0]: lambda: store.search(COLLECTION, vector, wanted, None),
            PIECES[1]: lambda: index.keyword_scores(COLLECTION, query, wanted, budget=MATCH_BUDGET),
        }
        order = list(calls)  # rotated from query to query: no call always comes first
        for what in order[turn % len(order) :] + order[: turn % len(order)]:
            elapsed, results[what] = timed(calls[what])
            if record:
                times[what].append(elapsed)
        near = {h.id for h in results[PIECES[0]]}
        words = [id for id, _ in results[PIECES[1]]]
        others = [id for id in words if id not in near]
        elapsed, _ = timed(lambda: store.similarities(COLLECTION, vector, others))
        if record:
            times[PIECES[2]].append(elapsed)
        elapsed, _ = timed(lambda: index.chunks([*near, *words]))
        if record:
            times[PIECES[3]].append(elapsed)
        if len(results[FULL]) != LIMIT or len(results[PART]) != LIMIT:
            raise SystemExit(f"bench: a search for {query!r} found fewer than {LIMIT} chunks")

    for turn, query in enumerate(QUERIES):  # warm-up: caches, the index's pages, first queries
        one(query, turn, record=False)
    for shift in range(rounds):
        for turn, query in enumerate(QUERIES, start=shift):
            one(query, turn, record=True)
    size.times_ms = times


def measure(sizes: Sequence[int], rounds: int) -> list[Size]:
    embedder = Embedder()
    rng = random.Random(SEED)
    corpus, vectors = Corpus(rng), np.random.default_rng(SEED)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="rung-bench-query-") as tmp,
        Memory(MemoryConfig(folder=Path(tmp, "memory")), embedder) as memory,
    ):
        cached = CachedQueryEmbedder({q: embedder.embed_one(q) for q in QUERIES})
        build = Build()
        for chunks in sizes:
            grow(memory, corpus, vectors, chunks, build)
            size = Size(chunks, replace(build))
            measure_size(memory, cached, rounds, size)
            results.append(size)
    return results


# -- the report -----------------------------------------------------------------------------


def verdict(value: float, limit: float) -> str:
    return "PASS" if value < limit else "MISS"


def report(sizes: list[Size], rounds: int) -> Report:
    result = Report(
        name="memory_query",
        title=(
            f"Memory search latency: {len(QUERIES)} queries x {rounds} rounds per size, top "
            f"{LIMIT}; SYNTHETIC chunk vectors (random, unit length, {DIMENSION} dims), real "
            "query embeddings. Times in ms"
        ),
        columns=["chunks", "what", "p50 ms", "p95 ms", "vs baseline ms", "target", "met"],
        text_columns=(1, 5, 6),
    )
    for size in sizes:
        label = f"{size.chunks:,}"
        at_target = size.chunks == TARGET_SIZE
        for what in ORDER:
            p50, p95 = size.p50(what), size.p95(what)
            versus, target, met = "", "", ""
            if what in (EMBED, CHROMA):
                versus = "(baseline)"
            elif what == PART:
                versus = f"{p50 - size.p50(CHROMA):+.2f}"
                if at_target:
                    target, met = f"p95 < {SEARCH_TARGET_MS:g}", verdict(p95, SEARCH_TARGET_MS)
            elif what == FULL:
                versus = f"{p50 - size.p50(EMBED) - size.p50(CHROMA):+.2f}"
                if at_target:
                    target, met = f"p95 < {FULL_TARGET_MS:g}", verdict(p95, FULL_TARGET_MS)
            result.rows.append([label, what, f"{p50:.2f}", f"{p95:.2f}", versus, target, met])
            label = ""
    for size in sizes:
        b = size.build
        result.notes.append(
            f"built {b.chunks:,} synthetic chunks in {b.total_s:.1f} s: VectorStore.add "
            f"{b.vectors_s:.1f} s, Index.replace + cleaned {b.index_s:.1f} s, generating "
            f"{b.text_s:.1f} s"
        )
    result.notes.append(
        "vs baseline: the search part over the bare Chroma query; the full search over the bare "
        "embedder plus the bare Chroma query (medians)"
    )
    largest = sizes[-1]
    where = f"at {largest.chunks:,} chunks"
    if largest.chunks != TARGET_SIZE:
        where += f" (the targets are for {TARGET_SIZE:,})"
    result.targets = [
        Target(f"full search p95 {where}", largest.p95(FULL), FULL_TARGET_MS, "ms"),
        Target(f"search part alone p95 {where}", largest.p95(PART), SEARCH_TARGET_MS, "ms"),
    ]
    result.data = {
        "queries": list(QUERIES),
        "rounds": rounds,
        "limit": LIMIT,
        "vectors": f"synthetic: random unit vectors, dimension {DIMENSION}",
        "sizes": [
            {
                "chunks": s.chunks,
                "build_s": {
                    "total": s.build.total_s,
                    "vector_store_add": s.build.vectors_s,
                    "index_replace_and_cleaned": s.build.index_s,
                    "generate": s.build.text_s,
                },
                "p50_ms": {what.strip(): s.p50(what) for what in ORDER},
                "p95_ms": {what.strip(): s.p95(what) for what in ORDER},
                "times_ms": {what.strip(): s.times_ms[what] for what in ORDER},
            }
            for s in sizes
        ],
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Memory search latency at 10k and 100k chunks.", argv)
    sizes, rounds = ((10_000,), 1) if args.quick else ((10_000, TARGET_SIZE), 3)
    return publish(lambda: report(measure(sizes, rounds), rounds))


if __name__ == "__main__":
    sys.exit(main())
