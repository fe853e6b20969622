"""Retrieval quality on three labelled sets, every mode beside its baselines, in one run.

The sets (`bench/recall_sets/`, each built by code, deterministically):

- notes: 56 short personal notes (part numbers, invoices, people, bookings), 51 questions;
- conversations: long dated sessions between two named people whose names are in nearly
  every turn, questions labelled with the turns that answer them (single-hop, multi-hop
  across sessions, temporal, preference);
- documents: the Python language reference that ships with Python (`pydoc_data`), chunked
  like any document, questions labelled with a quote of the answering passage.

Each set goes through the real ingestion (documents: `Ingester.put`; turns:
`Memory.add_turns`) and the real embedding model into a Memory in a temp folder. Every
question is asked with `Memory.search(question, limit=5)` in Rung's three modes: `hybrid`
(the default), `vector` (what a plain Chroma RAG with the same model does) and `keyword`
(BM25 alone). Plain reciprocal-rank fusion of the same two candidate lists (k = 60) is
computed in the same run as the baseline that fusion has to beat.

A hit is a chunk of an evidence item (for a document: one that holds the evidence quote).
hit@5: share of questions with a hit in the top 5; recall@5: the share of each question's
evidence items found in the top 5, averaged; MRR: mean of 1 / rank of the first hit (0
past 5). `--quick` asks a quarter of each set's questions.

    python -m bench.memory_recall [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Report, Target, parse_args, publish
from bench.recall_sets import LabelledSet, Question, conversations, documents, notes
from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow
from rung.memory.ingest import Put
from rung.memory.readers import Document
from rung.memory.search import CANDIDATES
from rung.memory.service import ConversationTurn, Memory, MemoryConfig

LIMIT = 5
RRF_K = 60
DEFAULT = "hybrid"
MODES = ("hybrid", "vector", "keyword")  # Rung's own, through Memory.search
BASELINES = ("plain vector", "plain RRF")  # a bare Chroma query; RRF of the same two lists
METHODS = (*MODES, *BASELINES)
SETS: dict[str, Callable[[], LabelledSet]] = {
    "notes": notes.build,
    "conversations": conversations.build,
    "documents": documents.build,
}


@dataclass
class SetResult:
    labelled: LabelledSet
    questions: list[Question]
    ingest_s: float = 0.0
    # per method, per question: (rank of the first hit or None, share of evidence found)
    found: dict[str, list[tuple[int | None, float]]] = field(default_factory=dict)

    def of(self, method: str, kind: str | None) -> list[tuple[int | None, float]]:
        return [
            f
            for q, f in zip(self.questions, self.found[method], strict=True)
            if kind in (None, q.kind)
        ]

    def hit(self, method: str, kind: str | None = None) -> float:
        rows = self.of(method, kind)
        return sum(1 for rank, _ in rows if rank is not None) / len(rows)

    def recall(self, method: str, kind: str | None = None) -> float:
        rows = self.of(method, kind)
        return sum(share for _, share in rows) / len(rows)

    def mrr(self, method: str, kind: str | None = None) -> float:
        rows = self.of(method, kind)
        return sum(1 / rank for rank, _ in rows if rank is not None) / len(rows)

    def kinds(self) -> list[str]:
        return list(dict.fromkeys(q.kind for q in self.questions))


def fill(memory: Memory, labelled: LabelledSet) -> None:
    """Store every item the way Rung stores it."""
    if labelled.store == "conversations":
        memory.add_turns(
            ConversationTurn(i.session, i.turn, i.title, i.at, i.text) for i in labelled.items
        )
        return
    ingester = memory.ingester()
    puts = [
        Put(i.id, Document(Path(i.id), i.title, i.text, "markdown"), 0.0) for i in labelled.items
    ]
    for start in range(0, len(puts), 16):
        ingester.put_many("documents", puts[start : start + 16])


def answers(chunk: ChunkRow, question: Question) -> str | None:
    """The evidence item `chunk` holds for `question`, if any."""
    for evidence in question.evidence:
        if chunk.source == evidence.item and (
            not evidence.quote or " ".join(evidence.quote.split()) in " ".join(chunk.text.split())
        ):
            return evidence.item
    return None


def judged(chunks: Sequence[ChunkRow], question: Question) -> tuple[int | None, float]:
    found = [answers(c, question) for c in chunks[:LIMIT]]
    first = next((n for n, item in enumerate(found, start=1) if item is not None), None)
    items = {e.item for e in question.evidence}
    return first, len({f for f in found if f is not None} & items) / len(items)


def plain_vector(memory: Memory, collection: str, question: str) -> list[ChunkRow]:
    """What a plain Chroma user with the same model gets: the question embedded as it is,
    its nearest chunks."""
    vector = memory.embedder.embed_one(question)
    near = [h.id for h in memory.store.search(collection, vector, LIMIT, None)]
    visible = memory.index.chunks(near)
    return [visible[id] for id in near if id in visible]


def plain_rrf(memory: Memory, collection: str, question: str) -> list[ChunkRow]:
    """Reciprocal-rank fusion of a plain vector list and Rung's BM25 list."""
    vector = memory.embedder.embed_one(question)
    near = [h.id for h in memory.store.search(collection, vector, CANDIDATES, None)]
    words = [id for id, _ in memory.index.keyword_scores(collection, question, CANDIDATES)]
    fused: dict[str, float] = {}
    for ranking in (near, words):
        for rank, id in enumerate(ranking, start=1):
            fused[id] = fused.get(id, 0.0) + 1 / (RRF_K + rank)
    visible = memory.index.chunks(fused)
    best = [id for id in sorted(fused, key=lambda i: fused[i], reverse=True) if id in visible]
    return [visible[id] for id in best[:LIMIT]]


BASELINE = {"plain vector": plain_vector, "plain RRF": plain_rrf}


def measure_set(labelled: LabelledSet, embedder: Embedder, quick: bool) -> SetResult:
    questions = labelled.questions[::4] if quick else labelled.questions
    result = SetResult(labelled, questions, found={m: [] for m in METHODS})
    collection = labelled.store
    with (
        tempfile.TemporaryDirectory(prefix=f"rung-bench-recall-{labelled.name}-") as tmp,
        Memory(MemoryConfig(folder=Path(tmp, "memory")), embedder) as memory,
    ):
        embedder.dimension  # noqa: B018 (the model loaded before the clock starts)
        started = time.perf_counter()
        fill(memory, labelled)
        result.ingest_s = time.perf_counter() - started
        for question in questions:
            for method in METHODS:
                if method in BASELINE:
                    chunks = BASELINE[method](memory, collection, question.text)
                else:
                    hits = memory.search(question.text, [collection], LIMIT, mode=method)
                    chunks = [h.chunk for h in hits]
                result.found[method].append(judged(chunks, question))
    return result


def measure(quick: bool) -> list[SetResult]:
    embedder = Embedder.shared()
    return [measure_set(build(), embedder, quick) for build in SETS.values()]


def report(results: list[SetResult]) -> Report:
    report = Report(
        name="memory_recall",
        title=(
            f"Retrieval on three labelled sets, hit@{LIMIT}: Rung's modes (hybrid is the "
            "default) beside a plain Chroma query and plain RRF"
        ),
        columns=[
            "set, questions",
            "n",
            *METHODS,
            f"{DEFAULT} R@{LIMIT}",
            f"{DEFAULT} MRR",
            "plain vector MRR",
        ],
    )
    data: dict[str, object] = {}
    for r in results:
        name = r.labelled.name
        for kind in (None, *r.kinds()):
            count = len(r.of(DEFAULT, kind))
            report.rows.append(
                [
                    f"  {kind}" if kind else f"{name}, all",
                    str(count),
                    *(f"{r.hit(m, kind):.3f}" for m in METHODS),
                    f"{r.recall(DEFAULT, kind):.3f}",
                    f"{r.mrr(DEFAULT, kind):.3f}",
                    f"{r.mrr('plain vector', kind):.3f}",
                ]
            )
        best = max(r.hit(m) for m in METHODS)
        report.targets.append(
            Target(
                f"{name}: the best method's hit@5 above the default's (within 0.01)",
                round(best - r.hit(DEFAULT), 4),
                0.0101,
                "",
            )
        )
        data[name] = {
            "about": r.labelled.about,
            "items": len(r.labelled.items),
            "questions": len(r.questions),
            "ingest_s": r.ingest_s,
            **{
                metric: {
                    kind or "all": {m: getattr(r, metric)(m, kind) for m in METHODS}
                    for kind in (None, *r.kinds())
                }
                for metric in ("hit", "recall", "mrr")
            },
        }
        report.notes.append(
            f"{name}: {len(r.labelled.items)} items, {len(r.questions)} questions; "
            f"{r.labelled.about}; stored in {r.ingest_s:.1f} s"
        )
    chat = next(r for r in results if r.labelled.name == "conversations")
    report.targets.append(
        Target(
            "conversations: plain RRF's hit@5 minus the default's (the default must beat it)",
            round(chat.hit("plain RRF") - chat.hit(DEFAULT), 4),
            0.0,
            "",
        )
    )
    report.notes.append(
        "hit@5: a question with an evidence item in the top 5; R@5: the share of its "
        "evidence items there; MRR: 1 / rank of the first hit"
    )
    report.data = {"limit": LIMIT, "methods": list(METHODS), "sets": data}
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(
        "Hit@5, recall@5 and MRR of Rung's search modes and plain RRF on three labelled sets.",
        argv,
    )
    return publish(lambda: report(measure(args.quick)))


if __name__ == "__main__":
    sys.exit(main())
