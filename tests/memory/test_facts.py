"""Facts about the user: stored, recalled, and replaced by a newer fact about the same thing."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

from rung.memory.embedder import Embedder
from rung.memory.facts import frame
from rung.memory.service import FACTS_MODEL, Memory, MemoryConfig, MemoryInputError
from rung.memory.store import VectorStore


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I live in Lyon", "i live in"),
        ("I live in Paris now", "i live in"),
        ("My manager is Ana", "my manager is"),
        ("I don't like coffee", "i like coffee"),
        ("My birthday is on 3 May", "my birthday is on"),
    ],
)
def test_frame_is_what_a_fact_is_about(text: str, expected: str) -> None:
    assert frame(text) == expected


@pytest.mark.parametrize(
    ("old", "new", "replaced"),
    [
        ("I live in Lyon", "I live in Paris now", True),
        ("My manager is Ana", "My manager is Bruno", True),
        ("I like coffee", "I don't like coffee", True),
        ("I work at Acme", "I work at Globex since May", True),
        ("I live in Lyon", "My sister lives in Lyon", False),
        ("My dog is called Rex", "My cat is called Rex", False),
        ("My manager is Ana", "I live in Lyon", False),
    ],
)
def test_a_newer_fact_about_the_same_thing_replaces_the_older(
    memory: Memory, old: str, new: str, replaced: bool
) -> None:
    first, _ = memory.remember(old)
    second, gone = memory.remember(new)
    assert [f.id for f in gone] == ([first.id] if replaced else [])
    current = {f.text for f in memory.facts()}
    assert current == ({new} if replaced else {old, new})
    recalled = [f.text for f, _ in memory.recall_facts(new, limit=5)]
    assert (old in recalled) is not replaced
    history = {f.id: f for f in memory.facts(current_only=False)}
    assert (history[first.id].superseded_by == second.id) is replaced


def test_edit_and_forget(memory: Memory) -> None:
    fact, _ = memory.remember("My manager is Ana")
    edited = memory.edit_fact(fact.id, "My manager is Ana Lopez")
    assert edited.text == "My manager is Ana Lopez"
    assert memory.recall_facts("who is my manager?")[0][0].text == "My manager is Ana Lopez"
    assert memory.forget_fact(fact.id).id == fact.id
    assert memory.facts() == [] and memory.recall_facts("manager") == []
    with pytest.raises(MemoryInputError, match="no fact with the id"):
        memory.forget_fact(fact.id)
    with pytest.raises(MemoryInputError, match="empty"):
        memory.remember("   ")


def test_facts_are_exported_and_survive_a_reindex(memory: Memory) -> None:
    memory.remember("I live in Lyon")
    memory.remember("I live in Paris now")
    exported = [r for r in memory.export() if r["collection"] == "facts"]
    assert {r["text"] for r in exported} == {"I live in Lyon", "I live in Paris now"}
    list(memory.reindex())
    assert [f.text for f, _ in memory.recall_facts("where do I live?")] == ["I live in Paris now"]


def test_many_facts_at_once_replace_in_order(memory: Memory) -> None:
    [(lyon, _)] = memory.remember_many(["I live in Lyon"])
    done = memory.remember_many(
        ["My manager is Ana Duarte", "I live in Paris now", "My manager is Bea Santos"]
    )
    (ana, none), (paris, moved), (bea, changed) = done
    assert none == [] and [f.id for f in moved] == [lyon.id] and [f.id for f in changed] == [ana.id]
    assert [f.text for f in memory.facts()] == [paris.text, bea.text]
    assert {f.id for f in memory.facts(current_only=False)} == {lyon.id, ana.id, paris.id, bea.id}
    [(fact, _)] = memory.recall_facts("who is my boss?", limit=1)
    assert fact.id == bea.id  # the replaced ones' vectors are gone
    assert memory.remember_many([]) == []
    with pytest.raises(MemoryInputError):
        memory.remember_many(["I like tea", "  "])
    assert len(memory.facts()) == 2  # nothing of a refused call is stored


def test_facts_are_stored_and_recalled_without_the_vector_store(memory: Memory) -> None:
    memory.remember_many(["My manager is Ana Duarte", "I live in Lyon"])
    memory.remember("I live in Paris now")
    assert [f.text for f, _ in memory.recall_facts("where is my home?", limit=1)] == [
        "I live in Paris now"
    ]
    assert memory._store is None  # Chroma was never opened: one SQLite transaction a batch


def test_facts_of_an_older_rung_are_embedded_again_and_its_collection_dropped(
    tmp_path: Path, embedder: Embedder
) -> None:
    """An older Rung kept the facts' vectors in a Chroma collection and the facts table had
    no vector column: the first use embeds them into the index and drops the collection."""
    folder = tmp_path / "memory"
    folder.mkdir()
    with closing(sqlite3.connect(folder / "index.sqlite3")) as db, db:
        db.execute(
            "CREATE TABLE facts (id TEXT PRIMARY KEY, text TEXT NOT NULL, source TEXT NOT NULL,"
            " created_at TEXT NOT NULL DEFAULT '2026-01-01T00:00:00Z', superseded_by TEXT,"
            " superseded_at TEXT)"
        )
        db.executemany(
            "INSERT INTO facts (id, text, source) VALUES (?, ?, 'user')",
            [("fact-1", "I live in Lyon"), ("fact-2", "My manager is Ana Duarte")],
        )
    store = VectorStore(
        folder / "chroma", model=MemoryConfig.embedding_model, dimension=embedder.dimension
    )
    store.add(
        "facts",
        ["fact-1", "fact-2"],
        embedder.embed(["I live in Lyon", "My manager is Ana Duarte"]),
        [{"source": "user", "version": "fact"}] * 2,
    )
    store.close()
    with Memory(MemoryConfig(folder=folder), embedder) as memory:
        [(fact, _)] = memory.recall_facts("who is my boss?", limit=1)
        assert fact.id == "fact-2"
        _, replaced = memory.remember("I live in Paris now")
        assert [f.id for f in replaced] == ["fact-1"]
        assert "facts" not in {c.name for c in memory.store.client.list_collections()}
        assert memory.reindex_due() == []


def test_facts_embedded_by_another_model_are_embedded_again(memory: Memory) -> None:
    memory.remember_many(["My manager is Ana Duarte", "I live in Lyon"])
    ids, _ = memory.index.fact_vectors()
    zero = np.zeros(memory.embedder.dimension, dtype=np.float32).tobytes()
    memory.index.set_fact_vectors([(id, zero) for id in ids])  # what no model would make
    memory.index.set_state(FACTS_MODEL, "another-model 384")
    [(fact, similarity)] = memory.recall_facts("where is my home?", limit=1)
    assert fact.text == "I live in Lyon" and similarity > 0.3
