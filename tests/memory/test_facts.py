"""Facts about the user: stored, recalled, and replaced by a newer fact about the same thing."""

from __future__ import annotations

import pytest

from rung.memory.facts import frame
from rung.memory.service import Memory, MemoryInputError


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
