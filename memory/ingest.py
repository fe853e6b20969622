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
from typing import Any, Literal

from rung.config.crashpoints import crashpoint
from rung.memory.chunking import chunk_document, embed_text
from rung.memory.embedder import Embedder
from rung.memory.index import ChunkRow, Index
from rung.memory.readers import MAX_BYTES, Document, ReadError, find_files, read_document
from rung.memory.store import VectorStore

COLLECTION = "documents"
Outcome = Literal["added", "updated", "skipped", "failed", "removed"]


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
        current = self.index.source(collection, source)
        version = hashlib.sha256(document.text.encode()).hexdigest()[:24]
        if current is not None and current.version == version:
            return "skipped", current.chunks
        chunks = chunk_document(document, self.chunk_size, self.chunk_overlap)
        if not chunks:
            raise ReadError(f"{document.path}: empty, nothing to add")
        key = hashlib.sha256(source.encode()).hexdigest()[:16]
        ids = [f"{key}:{version}:{c.position}" for c in chunks]
        vectors = self.embedder.embed([embed_text(document.title, c) for c in chunks])
        crashpoint("ingest.embedded")
        vector_meta: dict[str, str | float] = {"source": source, "version": version, "mtime": mtime}
        self.index.set_pending(collection, source, version)  # before any vector is written
        self.store.add(collection, ids, vectors, [vector_meta] * len(ids))
        crashpoint("ingest.vectors")
        rows = [
            ChunkRow(
                id,
                collection,
                source,
                c.position,
                c.text,
                {
                    "title": document.title,
                    "headings": list(c.heading_path),
                    "start": c.start,
                    "end": c.end,
                    "mtime": mtime,
                    "kind": document.kind,
                    **(meta or {}),
                },
            )
            for id, c in zip(ids, chunks, strict=True)
        ]
        self.index.replace(collection, source, version, document.title, mtime, rows)
        crashpoint("ingest.swapped")
        self.store.delete_source(collection, source, keep_version=version)
        crashpoint("ingest.deleted")
        self.index.cleaned(collection, source)
        self.index.set_pending(collection, source, version, on=False)
        return ("added" if current is None else "updated"), len(chunks)

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
