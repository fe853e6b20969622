"""The memory as one object: the embedder, the vector store and the index, opened together.

Opening is cheap until a vector is needed: the embedder loads in the background from
`Memory()` on, and the store (which needs the model's dimension) opens on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rung.memory.embedder import Embedder
from rung.memory.index import Index
from rung.memory.ingest import Ingester
from rung.memory.search import Hit, search
from rung.memory.store import COLLECTIONS, VectorStore


@dataclass(frozen=True)
class MemoryConfig:
    folder: Path
    embedding_model: str = "all-MiniLM-L6-v2"
    chunk_size: int = 1000
    chunk_overlap: int = 150
    backend: str = "embedded"
    host: str = "127.0.0.1"
    port: int = 8000


class Memory:
    def __init__(self, config: MemoryConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self.embedder = embedder or Embedder(config.embedding_model)
        self.embedder.warm()
        self.index = Index(config.folder / "index.sqlite3")
        self._store: VectorStore | None = None

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            cfg = self.config
            remote = cfg.backend == "http"
            self._store = VectorStore(
                None if remote else cfg.folder / "chroma",
                host=cfg.host if remote else None,
                port=cfg.port,
                model=cfg.embedding_model,
                dimension=self.embedder.dimension,
            )
        return self._store

    def ingester(self) -> Ingester:
        cfg = self.config
        return Ingester(self.embedder, self.store, self.index, cfg.chunk_size, cfg.chunk_overlap)

    def search(self, query: str, **options: Any) -> list[Hit]:
        return search(query, embedder=self.embedder, store=self.store, index=self.index, **options)

    def stats(self) -> dict[str, Any]:
        """Counts per collection, the model, and the size on disk."""
        counts = {c: self.index.count(c) for c in COLLECTIONS}
        sources = {c: len(self.index.sources(c)) for c in COLLECTIONS}
        size = sum(f.stat().st_size for f in self.config.folder.rglob("*") if f.is_file())
        return {
            "chunks": counts,
            "sources": sources,
            "embedding_model": self.config.embedding_model,
            "backend": self.config.backend,
            "folder": str(self.config.folder),
            "disk_bytes": size,
        }

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        self.index.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
