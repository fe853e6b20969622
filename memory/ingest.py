"""`rung memory add`: files and folders into the documents memory, idempotently (and,
through `put`, past conversation turns into the conversations memory).

Per file: read, hash; unchanged (same hash as the visible version) is skipped; otherwise
chunk, embed, write the vectors under the new version, then swap the visible chunks in one
index transaction, then delete the old vectors. The steps are safe to cut anywhere: what a
kill leaves behind is invisible and the next run finishes it (see `memory/index.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rung.config.crashpoints import crashpoint
from rung.memory.chunking import Chunk, chunk_document, embed_text
from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow, Index, SourceRow, Swap
from rung.memory.readers import MAX_BYTES, Document, ReadError, find_files, read_document
from rung.memory.store import VectorStore

if TYPE_CHECKING:
    import numpy as np

COLLECTION = "documents"
# A chunk's vector is its own embedding plus this much of its context's (what was said just
# before: a conversation's previous turn), made unit length again. A question and its answer
# usually sit in neighbouring turns ("Is the dog with you yet?" / "He came home on
# Saturday!"); bench/memory_recall measured 0.3 on the conversations set (0 and 0.5 to 1
# find less; a window of the previous and the next turn finds less too).
CONTEXT_WEIGHT = 0.3
Outcome = Literal["added", "updated", "skipped", "failed", "removed"]


@dataclass(frozen=True)
class Put:
    """One source's new content, for `Ingester.put_many`."""

    source: str
    document: Document
    mtime: float
    meta: Mapping[str, Any] = field(default_factory=dict)
    context: str = ""  # what was said just before, as embedded (see CONTEXT_WEIGHT)


@dataclass(frozen=True)
class FileDone:
    """One file handled: what happened, how many chunks, and why if it failed."""

    path: Path
    outcome: Outcome
    chunks: int = 0
    reason: str = ""  # for a failure: "<path>: <why> (<hint>)"


@dataclass
class Summary:
    done: list[FileDone] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for d in self.done if d.outcome == outcome)

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.done)


@dataclass
class Ingester:
    embedder: Embedder
    store: VectorStore
    index: Index
    chunk_size: int = 1000
    chunk_overlap: int = 150
    max_bytes: int = MAX_BYTES

    def plan(
        self, paths: Sequence[Path], include: Sequence[str] = (), exclude: Sequence[str] = ()
    ) -> list[Path]:
        """The files `add` will look at, in order (for the progress bar's total)."""
        return list(find_files(paths, include, exclude))

    def add(self, files: Sequence[Path]) -> Iterator[FileDone]:
        """Ingest each file; one failure is reported and the rest go on."""
        self.finish_interrupted()
        for path in files:
            try:
                yield self.add_file(path)
            except ReadError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                yield FileDone(path, "failed", reason=exc.message + hint)

    def add_file(self, path: Path) -> FileDone:
        source = str(path.resolve())
        current = self.index.source(COLLECTION, source)
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            raise ReadError(f"{path}: {exc.strerror or exc}") from None
        if current is not None and current.mtime == mtime:
            return FileDone(path, "skipped", current.chunks)  # untouched since: not even read
        document = read_document(path, self.max_bytes)
        outcome, chunks = self.put(COLLECTION, source, document, mtime)
        return FileDone(path, outcome, chunks)

    def put(
        self,
        collection: str,
        source: str,
        document: Document,
        mtime: float,
        meta: Mapping[str, Any] | None = None,
    ) -> tuple[Outcome, int]:
        """Make `document` the visible content of `source` (skipped when unchanged).

        `meta` is kept with each chunk besides the title, headings, offsets and time.
        """
        return self.put_many(collection, [Put(source, document, mtime, meta or {})])[0]

    def put_many(self, collection: str, puts: Sequence[Put]) -> list[tuple[Outcome, int]]:
        """`put` for many sources at once: one embedding call for all their chunks and one
        index transaction per step, in the same safe order as one (vectors written, then
        the index swapped, then the old vectors deleted). What each became, in order; a
        source given twice is put once, as the last of them."""
        outcomes: list[tuple[Outcome, int]] = []
        work: list[tuple[Put, str, SourceRow | None, list[Chunk]]] = []
        for put in {p.source: p for p in puts}.values():
            current = self.index.source(collection, put.source)
            version = hashlib.sha256(put.document.text.encode()).hexdigest()[:24]
            if current is not None and current.version == version:
                outcomes.append(("skipped", current.chunks))
                continue
            chunks = chunk_document(put.document, self.chunk_size, self.chunk_overlap)
            if not chunks:
                raise ReadError(f"{put.document.path}: empty, nothing to add")
            work.append((put, version, current, chunks))
            outcomes.append(("added" if current is None else "updated", len(chunks)))
        if not work:
            return outcomes
        texts = [embed_text(p.document.title, c) for p, _, _, chunks in work for c in chunks]
        contexts = [p.context for p, _, _, chunks in work for _ in chunks]
        vectors = embed_in_context(self.embedder, texts, contexts)
        crashpoint("ingest.embedded")
        ids: list[str] = []
        metas: list[dict[str, str | float]] = []
        swaps: list[Swap] = []
        for put, version, _, chunks in work:
            key = hashlib.sha256(put.source.encode()).hexdigest()[:16]
            mine = [f"{key}:{version}:{c.position}" for c in chunks]
            ids += mine
            metas += [{"source": put.source, "version": version, "mtime": put.mtime}] * len(mine)
            rows = [
                ChunkRow(
                    id,
                    collection,
                    put.source,
                    c.position,
                    c.text,
                    {
                        "title": put.document.title,
                        "headings": list(c.heading_path),
                        "start": c.start,
                        "end": c.end,
                        "mtime": put.mtime,
                        "kind": put.document.kind,
                        **put.meta,
                    },
                )
                for id, c in zip(mine, chunks, strict=True)
            ]
            swaps.append(Swap(put.source, version, put.document.title, put.mtime, rows))
        versions = [(p.source, version) for p, version, _, _ in work]
        self.index.set_pending_many(collection, versions)  # before any vector is written
        # new ids: each holds the version, and a killed run's are deleted before a put
        self.store.add(collection, ids, vectors, metas, fresh=True)
        crashpoint("ingest.vectors")
        self.index.replace_many(collection, swaps)
        crashpoint("ingest.swapped")
        for put, version, current, _ in work:
            if current is not None:  # a new source has no old vectors (a killed run's:
                # finish_interrupted deleted them first)
                self.store.delete_source(collection, put.source, keep_version=version)
        crashpoint("ingest.deleted")
        self.index.cleaned_many(collection, [p.source for p, _, _, _ in work])
        self.index.set_pending_many(collection, versions, on=False)
        return outcomes

    def sync(self, roots: Sequence[Path]) -> Iterator[FileDone]:
        """Forget documents under `roots` whose files are gone."""
        prefixes = [str(r.resolve()) for r in roots]
        for row in self.index.sources(COLLECTION):
            inside = any(
                row.source == p or row.source.startswith(p.rstrip("/") + "/") for p in prefixes
            )
            if inside and not Path(row.source).is_file():
                self.forget(row.source)
                yield FileDone(Path(row.source), "removed")

    def forget(self, source: str, collection: str = COLLECTION) -> None:
        self.index.remove(collection, source)
        self.store.delete_source(collection, source, keep_version=None)
        self.index.cleaned(collection, source)

    def finish_interrupted(self) -> None:
        """Delete the vectors a killed run left behind (they are already invisible): the
        old ones of a swapped source, and the new ones of a version never swapped in."""
        for collection, source, keep in self.index.stale():
            self.store.delete_source(collection, source, keep_version=keep)
            self.index.cleaned(collection, source)
        for collection, source, version in self.index.pending():
            current = self.index.source(collection, source)
            keep = current.version if current is not None else None
            self.store.delete_source(collection, source, keep_version=keep)
            self.index.set_pending(collection, source, version, on=False)


def embed_in_context(
    embedder: Embedder, texts: Sequence[str], contexts: Sequence[str]
) -> np.ndarray:
    """One vector per text: its embedding, with CONTEXT_WEIGHT of its context's (an empty
    context adds nothing). Each distinct string is embedded once, in one call."""
    import numpy as np

    distinct = list(dict.fromkeys([*texts, *(c for c in contexts if c)]))
    embedded = dict(zip(distinct, embedder.embed(distinct), strict=True))
    vectors = np.stack([embedded[t] for t in texts]) if texts else np.zeros((0, 0), "float32")
    for n, context in enumerate(contexts):
        if context:
            blended = vectors[n] + CONTEXT_WEIGHT * embedded[context]
            vectors[n] = blended / (np.linalg.norm(blended) or 1.0)
    return vectors
