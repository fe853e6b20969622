"""The vectors: ChromaDB, the only module that imports it.

Embedded (`PersistentClient` in a folder) by default, or a Chroma server over HTTP. Vectors
come from our embedder; Chroma never embeds (no embedding function). Each collection
records the embedding model and dimension it was made with, and refuses another. An
embedded store belongs to one process at a time (an advisory lock file): Chroma is not safe
for several processes writing one folder.
"""

from __future__ import annotations

import fcntl
import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rung.config.errors import RungError

log = logging.getLogger(__name__)

COLLECTIONS = ("documents", "conversations")  # (the facts' vectors are in the index)
# How the HNSW graph is built and searched. With Chroma's defaults (100 and 100) a search of
# a long chat, full of near-duplicate small talk ("Haha, true."), found 62 % of the true 50
# nearest turns, and the turn that answered often was not among them; with these, 96 %
# (bench/memory_recall; bench/memory_query for what a search costs at 100k chunks).
# A collection made with a smaller `ef_construction` is rebuilt by `rung memory reindex`;
# `ef_search` is raised in place when a collection is opened.
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 400}


class StoreError(RungError):
    """The vector store could not be opened or used."""


class StoreBusy(StoreError):
    """Another process holds the embedded store."""


class ModelMismatch(StoreError):
    """A collection was made with another embedding model."""


@dataclass(frozen=True)
class VectorHit:
    id: str
    similarity: float  # cosine similarity, 1 = same direction


class VectorStore:
    def __init__(
        self,
        path: Path | None = None,
        *,
        host: str | None = None,
        port: int = 8000,
        model: str,
        dimension: int,
    ) -> None:
        import chromadb
        from chromadb.config import Settings

        self.model, self.dimension = model, dimension
        self._lock_fd: int | None = None
        settings = Settings(anonymized_telemetry=False)
        try:
            if host is not None:
                self.client: Any = chromadb.HttpClient(host=host, port=port, settings=settings)
                self.client.heartbeat()
            else:
                assert path is not None
                path.mkdir(parents=True, exist_ok=True)
                self._lock_fd = _lock(path / "rung.lock")
                self.client = chromadb.PersistentClient(path=str(path), settings=settings)
        except StoreError:
            raise
        except Exception as exc:
            self.close()
            where = f"the Chroma server at {host}:{port}" if host else f"the store in {path}"
            raise StoreError(
                f"cannot open {where}: {exc}",
                hint="is `chroma run` up?" if host else "check the folder and its permissions",
            ) from None
        self.max_batch = int(self.client.get_max_batch_size())
        self._collections: dict[str, Any] = {}

    def close(self) -> None:
        client = getattr(self, "client", None)
        if client is not None:
            # chromadb's HTTP clients (its own and its admin client's) keep their connection
            # pools open past close()
            for part in (client, getattr(client, "_admin_client", None)):
                session = getattr(getattr(part, "_server", None), "_session", None)
                if session is not None:
                    session.close()
            client.close()  # releases the embedded database
            self.client = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def collection(self, name: str) -> Any:
        if name not in self._collections:
            found = self.client.get_or_create_collection(
                name,
                metadata={"embedding_model": self.model, "dimension": self.dimension},
                configuration={"hnsw": HNSW},
                embedding_function=None,
            )
            made_with = (found.metadata or {}).get("embedding_model")
            if made_with != self.model:
                raise ModelMismatch(
                    f"the {name} memory was made with the embedding model {made_with!r}, "
                    f"not {self.model!r}",
                    hint="run `rung memory reindex` to embed everything again with the new one",
                )
            beam = _hnsw(found).get("ef_search")  # None: not an HNSW graph Chroma reports
            if beam is not None and beam < HNSW["ef_search"]:
                # before its first query: this process loads the graph with the new value
                try:
                    with warnings.catch_warnings():  # Chroma warns of its own "legacy" config
                        warnings.simplefilter("ignore", DeprecationWarning)
                        found.modify(configuration={"hnsw": {"ef_search": HNSW["ef_search"]}})
                except Exception:  # a server that will not: search as it is
                    log.info("could not raise ef_search of %s", name, exc_info=True)
            self._collections[name] = found
        return self._collections[name]

    def outdated(self) -> list[str]:
        """The collections whose graph was built with less care than `HNSW` asks for (by
        an older Rung): `rung memory reindex` builds them again."""
        built = {c.name: _hnsw(c).get("ef_construction") for c in self.client.list_collections()}
        return [n for n, ef in built.items() if ef is not None and ef < HNSW["ef_construction"]]

    def add(
        self,
        collection: str,
        ids: Sequence[str],
        vectors: Any,
        metadatas: Sequence[Mapping[str, str | int | float | bool]],
        *,
        fresh: bool = False,
    ) -> None:
        """Upsert, in batches under Chroma's limit (ids are deterministic: a re-run is safe).
        ``fresh``: the caller knows no id is stored yet, so Chroma's cheaper add will do
        (it looks nothing up; an id stored already would be kept as it is)."""
        target = self.collection(collection)
        write = target.add if fresh else target.upsert
        for start in range(0, len(ids), self.max_batch):
            end = start + self.max_batch
            write(
                ids=list(ids[start:end]),
                embeddings=vectors[start:end],
                metadatas=[dict(m) for m in metadatas[start:end]],
            )

    def search(
        self, collection: str, vector: Sequence[float], limit: int, where: dict[str, Any] | None
    ) -> list[VectorHit]:
        return self.search_many(collection, [vector], limit, where)[0]

    def search_many(
        self,
        collection: str,
        vectors: Any,  # rows of floats: a sequence of sequences, or a 2-D array
        limit: int,
        where: dict[str, Any] | None = None,
    ) -> list[list[VectorHit]]:
        """The nearest `limit` to each of `vectors`, in one query."""
        target = self.collection(collection)
        found = target.query(  # an empty collection answers with no ids (count() is slow)
            query_embeddings=[[float(x) for x in v] for v in vectors],
            n_results=limit,
            where=where or None,
            include=["distances"],
        )
        return [
            [VectorHit(id, 1.0 - float(d)) for id, d in zip(ids, distances, strict=True)]
            for ids, distances in zip(found["ids"], found["distances"], strict=True)
        ]

    def similarities(
        self, collection: str, vector: Sequence[float], ids: Sequence[str]
    ) -> dict[str, float]:
        """The cosine similarity of `vector` to each of `ids` that has a vector here."""
        if not ids:
            return {}
        import numpy as np

        found = self.collection(collection).get(ids=list(ids), include=["embeddings"])
        if not found["ids"]:
            return {}
        stored = np.asarray(found["embeddings"], dtype=np.float32)
        query = np.asarray(vector, dtype=np.float32)
        norms = np.linalg.norm(stored, axis=1) * (np.linalg.norm(query) or 1.0)
        cosines = stored @ query / np.where(norms == 0, 1.0, norms)
        return {id: float(c) for id, c in zip(found["ids"], cosines, strict=True)}

    def delete_source(self, collection: str, source: str, keep_version: str | None) -> None:
        """Every vector of `source` but those of `keep_version`."""
        where: dict[str, Any] = {"source": source}
        if keep_version is not None:
            where = {"$and": [where, {"version": {"$ne": keep_version}}]}
        self.collection(collection).delete(where=where)

    def delete_ids(self, collection: str, ids: Sequence[str]) -> None:
        self.collection(collection).delete(ids=list(ids))

    def count(self, collection: str) -> int:
        return int(self.collection(collection).count())

    def drop(self, name: str) -> None:
        """Delete a collection, if there is one of that name."""
        if name in {c.name for c in self.client.list_collections()}:
            self.client.delete_collection(name)
        self._collections.pop(name, None)

    def drop_all(self) -> None:
        """Delete every collection (reindex starts from the index's texts)."""
        for name in [c.name for c in self.client.list_collections()]:
            self.client.delete_collection(name)
        self._collections.clear()


def _hnsw(collection: Any) -> dict[str, Any]:
    """A collection's HNSW settings as Chroma reports them ({} if it does not)."""
    configuration = getattr(collection, "configuration_json", None) or {}
    return dict(configuration.get("hnsw") or {})


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StoreBusy(
            f"the memory store in {path.parent} is in use by {holder}",
            hint="wait for it to finish (one Rung process at a time may use the memory)",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"Rung (pid {os.getpid()})".encode())
    return fd
