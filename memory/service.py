"""The memory as one object: the embedder, the vector store and the index, opened together.

Opening is cheap until a vector is needed: the embedder loads in the background from
`Memory()` on, and the store (which needs the model's dimension) opens on first use.
One process holds an embedded store, so the parts of one process (the chat, the memory
tools) share one `Memory.shared(...)` and take turns through its `lock`.

Two collections in the vector store: documents (`add`) and conversations (finished turns,
`add_turns`). Facts (`remember`) are few, and keep their vectors in the index beside them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rung.config.errors import UserError
from rung.config.settings import Settings
from rung.memory.chunking import Chunk, embed_text
from rung.memory.embedder import Embedder
from rung.memory.facts import Fact, new_fact_id, replaces
from rung.memory.index import ChunkRow, Index, NewFact
from rung.memory.ingest import CONTEXT_WEIGHT, Ingester, Put, embed_in_context
from rung.memory.readers import MAX_BYTES, Document
from rung.memory.search import Hit, search
from rung.memory.store import COLLECTIONS, StoreError, VectorStore

FACTS = "facts"
CONVERSATIONS = "conversations"
SEARCHED = ("documents", CONVERSATIONS)  # what `search` looks through unless told
REINDEXING = "reindexing"  # the index's marker while a reindex runs
# The index's marker that the conversation turns' vectors carry the turn before them, with
# this weight (ingest.CONTEXT_WEIGHT); a memory whose turns were embedded alone (by an older
# Rung) finds them less well until `rung memory reindex`.
TURN_CONTEXT = "turn_context"
# The index's record of the model that made the facts' vectors. Facts are few (hundreds),
# so their vectors live beside them in the index and are searched exactly: a fact is stored
# in one transaction, with no vector store query or write (bench/memory_ingest).
FACTS_MODEL = "facts_model"
NEAREST_FACTS = 10  # the stored facts a new one is compared with, to see what it replaces
REINDEX_BATCH = 256
COMMON_NAME_SHARE = 0.2  # a name in more of the memories than this is left out of the
# query's embedding (bench/memory_recall: the conversations set)
TURN_BATCH = 256  # turns embedded in one call (sorted by length there: less padding)
_SHARED: dict[Path, list[Any]] = {}  # folder -> [Memory, how many hold it]
_SHARED_LOCK = threading.Lock()


class MemoryInputError(UserError):
    """A request to the memory that cannot be done as asked."""


@dataclass(frozen=True)
class ConversationTurn:
    """One finished turn of a chat session, as the conversations memory keeps it."""

    session_id: str
    turn: int  # 0, 1, … within the session
    title: str  # the session's title
    at: float  # Unix time the turn ended
    text: str  # "User: …" then "Assistant: …"

    @property
    def source(self) -> str:
        return turn_source(self.session_id, self.turn)


def turn_source(session_id: str, turn: int) -> str:
    return f"session:{session_id}#{turn}"


def session_of(source: str) -> str | None:
    """The session id of a conversation turn's source ("session:ab12cd34#3")."""
    if not source.startswith("session:") or "#" not in source:
        return None
    return source[len("session:") : source.index("#")]


@dataclass(frozen=True)
class MemoryConfig:
    folder: Path
    embedding_model: str = "all-MiniLM-L6-v2"
    chunk_size: int = 1000
    chunk_overlap: int = 150
    max_file_mb: float = MAX_BYTES / 1_000_000
    backend: str = "embedded"
    host: str = "127.0.0.1"
    port: int = 8000


class Memory:
    def __init__(self, config: MemoryConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self.embedder = embedder or Embedder.shared(config.embedding_model)
        self.index = Index(config.folder / "index.sqlite3")
        self.lock = threading.RLock()  # one operation at a time among the threads sharing it
        self._store: VectorStore | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, folder: Path, embedder: Embedder | None = None
    ) -> Memory:
        return cls(
            MemoryConfig(
                folder=folder,
                embedding_model=settings.embedding_model,
                chunk_size=settings.chunk_size,
                chunk_overlap=settings.chunk_overlap,
                max_file_mb=settings.memory_max_file_mb,
                backend=settings.memory_backend,
                host=settings.memory_host,
                port=settings.memory_port,
            ),
            embedder,
        )

    @classmethod
    def shared(cls, settings: Settings, folder: Path, embedder: Embedder | None = None) -> Memory:
        """This process's one Memory over `folder`; give it back with `release()`."""
        key = folder.resolve()
        with _SHARED_LOCK:
            entry = _SHARED.get(key)
            if entry is None:
                entry = _SHARED[key] = [cls.from_settings(settings, folder, embedder), 0]
            entry[1] += 1
            return entry[0]  # type: ignore[no-any-return]

    def release(self) -> None:
        """Done with a `shared()` Memory: the last user closes it."""
        with _SHARED_LOCK:
            key = self.config.folder.resolve()
            entry = _SHARED.get(key)
            if entry is None or entry[0] is not self:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _SHARED[key]
        with self.lock:
            self.close()

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            interrupted = self.index.get_state(REINDEXING)
            if interrupted is not None:
                raise StoreError(
                    f"re-embedding the memory with {interrupted} was interrupted",
                    hint="run `rung memory reindex` again to finish it",
                )
            self._store = self._open_store()
        return self._store

    def _open_store(self) -> VectorStore:
        cfg = self.config
        remote = cfg.backend == "http"
        return VectorStore(
            None if remote else cfg.folder / "chroma",
            host=cfg.host if remote else None,
            port=cfg.port,
            model=cfg.embedding_model,
            dimension=self.embedder.dimension,
        )

    def ingester(self) -> Ingester:
        cfg = self.config
        return Ingester(
            self.embedder,
            self.store,
            self.index,
            cfg.chunk_size,
            cfg.chunk_overlap,
            int(cfg.max_file_mb * 1_000_000),
        )

    def search(
        self,
        query: str,
        collections: Sequence[str] = SEARCHED,
        limit: int = 5,
        *,
        vector: Sequence[float] | None = None,
        **options: Any,
    ) -> list[Hit]:
        """The best `limit` chunks across `collections` (options: see `memory.search`).
        The query is embedded once (or `vector` is its embedding already)."""
        if vector is None and options.get("mode", "hybrid") != "keyword":
            vector = self.query_vector(query)
        hits = [
            hit
            for collection in collections
            for hit in search(
                query,
                embedder=self.embedder,
                store=self.store,
                index=self.index,
                collection=collection,
                limit=limit,
                vector=vector,
                **options,
            )
        ]
        return sorted(hits, key=lambda h: h.score, reverse=True)[:limit]

    def query_vector(self, query: str) -> list[float]:
        """The query's embedding, without the names that most memories hold (the user's
        own, a partner's, a pet's, a home town): they do not tell which memory is meant,
        and left in they pull the query toward every short turn that says them ("Thanks,
        Ana!"). Such a name still counts in the keyword half, weighed by its rarity."""
        common = self.common_names(query)
        if common:
            pattern = r"\b(?:" + "|".join(re.escape(n) for n in common) + r")\b"
            stripped = " ".join(re.sub(pattern, " ", query).split())
            if re.search(r"\w", stripped):
                query = stripped
        return self.embedder.embed_one(query)

    def common_names(self, text: str) -> set[str]:
        """The capitalised words of `text` that more than COMMON_NAME_SHARE of the memories
        hold (the user's own name, a partner's): they tell no memory from another."""
        names = list(dict.fromkeys(t for t in re.findall(r"\w+", text) if t[:1].isupper()))
        return self.index.common_words(names, COMMON_NAME_SHARE) if names else set()

    # -- conversations ----------------------------------------------------------------

    def turns_known(self) -> set[str]:
        """The sources of the conversation turns in memory."""
        return {row.source for row in self.index.sources(CONVERSATIONS)}

    def turns_forgotten(self) -> set[str]:
        """Turns ("session:ID#N") and whole sessions ("session:ID") forgotten for good."""
        return self.index.forgotten(CONVERSATIONS)

    def wants_turn(self, session_id: str, turn: int, forgotten: set[str]) -> bool:
        return not {turn_source(session_id, turn), f"session:{session_id}"} & forgotten

    def add_turns(self, turns: Iterable[ConversationTurn]) -> list[ConversationTurn]:
        """Put finished turns into the conversations memory, now, in batches (one embedding
        call and one index transaction per step of each); the turns handled. An unchanged
        turn is skipped; an empty one is not stored."""
        turns = list(turns)
        if not self.index.count(CONVERSATIONS):
            self.index.set_state(TURN_CONTEXT, str(CONTEXT_WEIGHT))
        ingester = self.ingester()
        ingester.finish_interrupted()
        before = self._turns_before(turns)
        for start in range(0, len(turns), TURN_BATCH):
            batch = [t for t in turns[start : start + TURN_BATCH] if t.text.strip()]
            puts = [_turn_put(t, before.get(t.source, "")) for t in batch]
            ingester.put_many(CONVERSATIONS, puts)
        return turns

    def _turns_before(self, turns: Sequence[ConversationTurn]) -> dict[str, str]:
        """The text of the turn before each of `turns` (among them, or in memory), by the
        later turn's source; a session's first turn has none."""
        given = {t.source: t.text for t in turns}
        earlier = {t.source: turn_source(t.session_id, t.turn - 1) for t in turns if t.turn > 0}
        stored = self.index.first_chunks(
            CONVERSATIONS, [s for s in earlier.values() if s not in given]
        )
        found = {
            s: given.get(p) or (stored[p].text if p in stored else "") for s, p in earlier.items()
        }
        return {s: text for s, text in found.items() if text.strip()}

    def forget_turns(self, sources: Iterable[str]) -> int:
        """Take turns out of memory (their session was deleted, or see `forget`)."""
        ingester = self.ingester()
        count = 0
        for source in sources:
            ingester.forget(source, CONVERSATIONS)
            count += 1
        return count

    def forget_session(self, what: str) -> int:
        """Forget a past conversation ("session:ID") or one turn of it ("session:ID#N") for
        good: later catch-ups do not put it back. How many turns were in memory."""
        known = self.turns_known()
        count = self.forget_turns(s for s in known if s == what or s.startswith(what + "#"))
        self.index.keep_out(CONVERSATIONS, [what])
        return count

    def forget(self, what: str) -> int:
        """Forget a source (a path, or the source as stored) or one chunk by id; how many."""
        ingester = self.ingester()
        if what.startswith("session:"):
            return self.forget_session(what)
        source = what if self.index.source("documents", what) else str(Path(what).resolve())
        row = self.index.source("documents", source)
        if row is not None:
            ingester.forget(source)
            return row.chunks
        chunk = self.index.forget_chunk(what)
        if chunk is None:
            return 0
        self.store.delete_ids(chunk.collection, [chunk.id])
        return 1

    def export(self) -> Iterator[dict[str, Any]]:
        """Every visible chunk and every fact (replaced ones too) as JSON-ready records."""
        for fact in self.index.facts(current_only=False):
            yield {"collection": FACTS, **asdict(fact)}
        for row in self.index.all_chunks():
            yield {
                "id": row.id,
                "collection": row.collection,
                "source": row.source,
                "position": row.position,
                "text": row.text,
                **{k: v for k, v in row.meta.items() if k not in ("start", "end")},
            }

    def reindex(self) -> Iterator[int]:
        """Embed every chunk again with the configured model; yields chunks done so far.

        Safe to interrupt: a marker in the index makes the memory refuse to search until
        a later `reindex` has finished the job.
        """
        self.index.set_state(REINDEXING, self.config.embedding_model)
        if self._store is None:
            self._store = self._open_store()
        self._store.drop_all()
        rows = list(self.index.all_chunks())
        first = {r.source: r for r in rows if r.collection == CONVERSATIONS and r.position == 0}
        done = 0
        for start in range(0, len(rows), REINDEX_BATCH):
            batch = rows[start : start + REINDEX_BATCH]
            for collection in sorted({r.collection for r in batch}):
                part = [r for r in batch if r.collection == collection]
                texts = [embed_text(r.meta.get("title", ""), as_chunk(r)) for r in part]
                contexts = [_context(r, first) for r in part]
                metas = [_vector_meta(r) for r in part]
                vectors = embed_in_context(self.embedder, texts, contexts)
                self._store.add(collection, [r.id for r in part], vectors, metas)
            done += len(batch)
            yield done
        self.index.set_state(FACTS_MODEL, None)
        self._fact_vectors()  # every current fact again
        self.index.set_state(TURN_CONTEXT, str(CONTEXT_WEIGHT))
        self.index.set_state(REINDEXING, None)

    def reindex_due(self) -> list[str]:
        """Why `rung memory reindex` would find more (nothing when it would not)."""
        why = []
        if self.index.count(CONVERSATIONS) and self.index.get_state(TURN_CONTEXT) != str(
            CONTEXT_WEIGHT
        ):
            why.append("the conversation turns were embedded without the turn before them")
        outdated = self.store.outdated()
        if outdated:
            why.append(f"the vector index of {', '.join(outdated)} was built by an older Rung")
        return why

    # -- facts ------------------------------------------------------------------------

    def remember(self, text: str, source: str = "user") -> tuple[Fact, list[Fact]]:
        """Store a fact; the older facts it replaces are returned (and no longer recalled)."""
        [(fact, replaced)] = self.remember_many([text], source)
        return fact, replaced

    def remember_many(
        self, texts: Sequence[str], source: str = "user"
    ) -> list[tuple[Fact, list[Fact]]]:
        """Store facts in order (a later one may replace an earlier one) with one embedding
        call and one index transaction; each with the facts it replaces."""
        texts = [" ".join(t.split()) for t in texts]
        if not texts:
            return []
        if not all(texts):
            raise MemoryInputError(
                "the fact is empty", hint='rung memory facts add "I live in Lyon"'
            )
        vectors = self.embedder.embed(texts)
        known, matrix = self._fact_vectors()
        nearest = _nearest(matrix, vectors, NEAREST_FACTS)  # per new fact: (row, similarity)
        said = self.index.facts_by_id([known[row] for near in nearest for row, _ in near])
        ids = [new_fact_id() for _ in texts]
        plans: list[NewFact] = []
        taken: set[str] = set()  # replaced already, by an earlier fact of this call
        for n, (text, near) in enumerate(zip(texts, nearest, strict=True)):
            close = [(known[row], similarity, said[known[row]].text) for row, similarity in near]
            close += [(ids[m], float(vectors[n] @ vectors[m]), texts[m]) for m in range(n)]
            old = [
                id
                for id, similarity, earlier in close
                if id not in taken and replaces(text, earlier, similarity)
            ]
            taken.update(old)
            plans.append(NewFact(ids[n], text, source, _blob(vectors[n]), old))
        facts = self.index.add_facts(plans)
        replaced = self.index.facts_by_id(sorted(taken))
        return [
            (fact, [replaced[id] for id in plan.supersedes])
            for fact, plan in zip(facts, plans, strict=True)
        ]

    def facts(self, *, current_only: bool = True) -> list[Fact]:
        return self.index.facts(current_only=current_only)

    def edit_fact(self, id: str, text: str) -> Fact:
        fact = self._current_fact(id)
        text = " ".join(text.split())
        if not text:
            raise MemoryInputError("the new text is empty", hint=f"rung memory facts forget {id}")
        self._fact_vectors()  # the others' vectors are of this model before this one is
        self.index.edit_fact(fact.id, text, _blob(self.embedder.embed([text])[0]))
        edited = self.index.fact(fact.id)
        assert edited is not None
        return edited

    def forget_fact(self, id: str) -> Fact:
        fact = self.index.fact(id)
        if fact is None:
            raise MemoryInputError(f"no fact with the id {id!r}", hint="rung memory facts list")
        self.index.delete_fact(id)
        return fact

    def recall_facts(
        self, query: str, limit: int = 5, *, vector: Sequence[float] | None = None
    ) -> list[tuple[Fact, float]]:
        """The current facts closest to `query` (`vector`: its embedding, if known already),
        with their similarity."""
        import numpy as np

        vector = vector if vector is not None else self.query_vector(query)
        known, matrix = self._fact_vectors()
        [near] = _nearest(matrix, np.asarray([vector], dtype=np.float32), limit)
        found = self.index.facts_by_id([known[row] for row, _ in near])
        return [(found[known[r]], similarity) for r, similarity in near if known[r] in found]

    def _fact_vectors(self) -> tuple[list[str], Any]:
        """The current facts' ids and vectors (one row each), those without a vector of the
        configured model embedded first: a memory made by an older Rung kept them in Chroma."""
        made_with = f"{self.config.embedding_model} {self.embedder.dimension}"
        was = self.index.get_state(FACTS_MODEL)
        if was != made_with:
            self.index.clear_fact_vectors()
            if was is None and self.index.facts(current_only=False):
                self.store.drop(FACTS)  # where an older Rung kept them
            self.index.set_state(FACTS_MODEL, made_with)
        missing = self.index.facts_without_vector()
        if missing:
            vectors = self.embedder.embed([f.text for f in missing])
            self.index.set_fact_vectors(
                [(f.id, _blob(v)) for f, v in zip(missing, vectors, strict=True)]
            )
        return self.index.fact_vectors()

    def _current_fact(self, id: str) -> Fact:
        fact = self.index.fact(id)
        if fact is None or fact.superseded_by is not None:
            raise MemoryInputError(
                f"no current fact with the id {id!r}", hint="rung memory facts list"
            )
        return fact

    def stats(self) -> dict[str, Any]:
        """Counts per collection, the model, and the size on disk."""
        counts = {c: self.index.count(c) for c in COLLECTIONS}
        sources = {c: len(self.index.sources(c)) for c in COLLECTIONS}
        size = sum(f.stat().st_size for f in self.config.folder.rglob("*") if f.is_file())
        return {
            "chunks": counts,
            "sources": sources,
            "facts": len(self.index.facts()),
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


def _blob(vector: Any) -> bytes:
    """A vector as the index keeps it (float32 bytes)."""
    import numpy as np

    return np.asarray(vector, dtype=np.float32).tobytes()


def _nearest(matrix: Any, vectors: Any, limit: int) -> list[list[tuple[int, float]]]:
    """For each of `vectors`, the rows of `matrix` most like it (at most `limit`, best
    first), with their cosine similarity (all are unit length): an exact search."""
    import numpy as np

    if not len(matrix) or limit < 1:
        return [[] for _ in vectors]
    similarities = np.asarray(vectors, dtype=np.float32) @ matrix.T
    found = []
    for row in similarities:
        best = np.argpartition(-row, limit)[:limit] if len(row) > limit else np.arange(len(row))
        best = best[np.argsort(-row[best], kind="stable")]
        found.append([(int(i), float(row[i])) for i in best])
    return found


def _turn_put(turn: ConversationTurn, before: str) -> Put:
    """A turn as the ingester puts it; `before`: the text of the turn before it."""
    document = Document(Path(turn.source), turn.title, turn.text, "text")
    meta = {"session": turn.session_id, "turn": turn.turn}
    return Put(turn.source, document, turn.at, meta, _said(turn.title, before))


def _said(title: str, text: str) -> str:
    """How a turn's text is embedded as the context of the next one."""
    text = text.strip()
    return embed_text(title, Chunk(text, (), 0, 0, len(text))) if text else ""


def _context(row: ChunkRow, first: dict[str, ChunkRow]) -> str:
    """A conversation chunk's context for reindexing: the turn before its turn."""
    turn = row.meta.get("turn")
    if row.collection != CONVERSATIONS or not isinstance(turn, int) or turn < 1:
        return ""
    session = str(row.meta.get("session", ""))
    before = first.get(turn_source(session, turn - 1))
    return _said(str(before.meta.get("title", "")), before.text) if before else ""


def as_chunk(row: ChunkRow) -> Chunk:
    """A stored chunk as the chunker made it (what `embed_text` takes)."""
    meta = row.meta
    headings = tuple(meta.get("headings", ()))
    return Chunk(
        row.text, headings, row.position, int(meta.get("start", 0)), int(meta.get("end", 0))
    )


def _vector_meta(row: ChunkRow) -> dict[str, str | float]:
    """What the vector store keeps beside a vector: enough to delete a source's old ones."""
    version = row.id.split(":")[1] if row.id.count(":") >= 2 else ""
    meta: dict[str, str | float] = {"source": row.source, "version": version}
    if isinstance(row.meta.get("mtime"), int | float):
        meta["mtime"] = float(row.meta["mtime"])
    return meta
