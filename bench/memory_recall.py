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
(the default), `vector` (Rung's vector half alone) and `keyword` (BM25 alone). Two
baselines are computed in the same run: a plain Chroma user with the same model (the same
chunks embedded alone into a collection with Chroma's default settings, the question as
it is), and plain reciprocal-rank fusion (k = 60) of Rung's two candidate lists, which
score fusion has to beat.

A hit is a chunk of an evidence item (for a document: one that holds the evidence quote).
hit@5: share of questions with a hit in the top 5; recall@5: the share of each question's
evidence items found in the top 5, averaged; MRR: mean of 1 / rank of the first hit (0
past 5). `--quick` asks a quarter of each set's questions.

On the conversations set it also runs the assistant tier's recall (`Recall.recall`) for each
question and counts what would reach the prompt: an answering turn or not, small-talk
(filler) turns, and topical turns that answer nothing; beside it, a bar of similarity
alone (the bar before small talk was kept out).

    python -m bench.memory_recall [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.common import Report, Target, parse_args, publish
from bench.recall_sets import LabelledSet, Question, conversations, documents, notes
from rung.agent.recall import MIN_SIMILARITY, Recall
from rung.memory.chunking import embed_text
from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow
from rung.memory.ingest import Put
from rung.memory.readers import Document
from rung.memory.search import CANDIDATES
from rung.memory.service import ConversationTurn, Memory, MemoryConfig, as_chunk

LIMIT = 5
RRF_K = 60
DEFAULT = "hybrid"
MODES = ("hybrid", "vector", "keyword")  # Rung's own, through Memory.search
BASELINES = ("plain vector", "plain RRF")  # a bare Chroma query; RRF of Rung's two lists
PASSAGES = 4  # past turns recalled into a prompt at most (the recall_passages default)
BAR = "Rung's bar"  # recall's: similarity, and no small talk
SIMILARITY_BAR = "similarity alone"
METHODS = (*MODES, *BASELINES)
SETS: dict[str, Callable[[], LabelledSet]] = {
    "notes": notes.build,
    "conversations": conversations.build,
    "documents": documents.build,
}


@dataclass
class Prompted:
    """What recall put into the prompt for one question (conversations: by the turns' roles)."""

    evidence: bool  # an answering turn was there
    filler: int  # small-talk turns there
    chatter: int  # topical turns that answer nothing


@dataclass
class SetResult:
    labelled: LabelledSet
    questions: list[Question]
    ingest_s: float = 0.0
    # per method, per question: (rank of the first hit or None, share of evidence found)
    found: dict[str, list[tuple[int | None, float]]] = field(default_factory=dict)
    # conversations: per bar (Rung's, and similarity alone), per question
    prompted: dict[str, list[Prompted]] = field(default_factory=dict)

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


class PlainChroma:
    """What a plain Chroma user with the same model gets: the same chunks, each embedded
    alone, in a collection with Chroma's default settings; the question embedded as it is,
    its nearest chunks. (Chroma straight, not through Rung's store: this is the baseline.)"""

    def __init__(self, memory: Memory, collection: str, folder: Path) -> None:
        import chromadb
        from chromadb.config import Settings

        self.memory = memory
        self.client = chromadb.PersistentClient(
            path=str(folder), settings=Settings(anonymized_telemetry=False)
        )
        self.collection = self.client.create_collection(
            "plain", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
        )
        rows = list(memory.index.all_chunks(collection))
        for start in range(0, len(rows), 256):
            part = rows[start : start + 256]
            texts = [embed_text(r.meta.get("title", ""), as_chunk(r)) for r in part]
            self.collection.add(ids=[r.id for r in part], embeddings=memory.embedder.embed(texts))

    def __call__(self, memory: Memory, collection: str, question: str) -> list[ChunkRow]:
        vector = memory.embedder.embed([question])
        found = self.collection.query(query_embeddings=vector, n_results=LIMIT)
        near = found["ids"][0]
        visible = memory.index.chunks(near)
        return [visible[id] for id in near if id in visible]

    def close(self) -> None:
        self.client.close()


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
        plain = PlainChroma(memory, collection, Path(tmp, "plain"))
        asked = datetime.fromtimestamp(labelled.asked_at) if labelled.asked_at else None
        baseline = {"plain vector": plain, "plain RRF": plain_rrf}
        for question in questions:
            for method in METHODS:
                if method in baseline:
                    chunks = baseline[method](memory, collection, question.text)
                else:
                    hits = memory.search(question.text, [collection], LIMIT, mode=method, now=asked)
                    chunks = [h.chunk for h in hits]
                result.found[method].append(judged(chunks, question))
        plain.close()
        if collection == "conversations":
            result.prompted = into_prompt(memory, labelled, questions)
    return result


def into_prompt(
    memory: Memory, labelled: LabelledSet, questions: Sequence[Question]
) -> dict[str, list[Prompted]]:
    """Per question, the past turns the assistant tier's recall puts into the prompt (four
    at most), beside a bar of similarity alone (the bar before small talk was kept out)."""
    role = {item.id: item.role for item in labelled.items}
    recall = Recall(memory, None, passages=PASSAGES, facts=0)
    found: dict[str, list[Prompted]] = {BAR: [], SIMILARITY_BAR: []}
    for question in questions:
        evidence = {e.item for e in question.evidence}
        chosen = memory.index.chunks(m.id for m in recall.recall(question.text))
        hits = memory.search(question.text, limit=PASSAGES + 4)
        similar = [h.chunk for h in hits if (h.similarity or 0.0) >= MIN_SIMILARITY]
        for bar, chunks in ((BAR, list(chosen.values())), (SIMILARITY_BAR, similar[:PASSAGES])):
            roles = [role.get(c.source, "") for c in chunks]
            found[bar].append(
                Prompted(
                    bool(evidence & {c.source for c in chunks}),
                    roles.count("filler"),
                    roles.count("chatter"),
                )
            )
    return found


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
    prompted: dict[str, object] = {}
    for bar, rows in chat.prompted.items():
        asked = len(rows) or 1
        report.notes.append(
            f"conversations, recalled into the prompt ({bar}): an answering turn for "
            f"{sum(p.evidence for p in rows) / asked:.3f} of the questions; small-talk turns "
            f"{sum(p.filler for p in rows)} in all, topical turns that answer nothing "
            f"{sum(p.chatter for p in rows) / asked:.2f} a question"
        )
    if chat.prompted:
        report.targets.append(
            Target(
                "conversations: small-talk turns recalled into a prompt, over all questions",
                sum(p.filler for p in chat.prompted[BAR]),
                1,
                "",
            )
        )
        prompted = {
            "recalled_into_prompt": {
                bar: {
                    "evidence": sum(p.evidence for p in rows) / (len(rows) or 1),
                    "filler": sum(p.filler for p in rows),
                    "chatter": sum(p.chatter for p in rows),
                }
                for bar, rows in chat.prompted.items()
            },
        }
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
    report.data = {"limit": LIMIT, "methods": list(METHODS), "sets": data, **prompted}
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(
        "Hit@5, recall@5 and MRR of Rung's search modes and plain RRF on three labelled sets.",
        argv,
    )
    return publish(lambda: report(measure(args.quick)))


if __name__ == "__main__":
    sys.exit(main())
