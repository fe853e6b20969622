"""A kill after a version's vectors are written and before its swap leaves nothing behind.

Real Chroma and the real embedding model; the kill is an exception raised where the index
would swap the new chunks in (the process state a `kill -9` at that moment leaves)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rung.memory.service import ConversationTurn, Memory


class Killed(BaseException):
    """Stands for the process dying at this point."""


def vectors(memory: Memory) -> int:
    return memory.store.count("documents")


def test_vectors_of_a_version_never_swapped_in_are_deleted_on_the_next_run(
    memory: Memory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, lost = tmp_path / "kept.md", tmp_path / "lost.md"
    kept.write_text("# Kept\n\nThis note was added whole before the kill.\n")
    lost.write_text("# Lost\n\nThis note's vectors were written, then the process died.\n")
    ingester = memory.ingester()
    list(ingester.add([kept]))
    before = vectors(memory)

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(memory.index, "replace_many", die)
        with pytest.raises(Killed):
            list(ingester.add([lost]))
    assert vectors(memory) > before  # written, invisible, and the file may now be gone
    assert memory.index.source("documents", str(lost.resolve())) is None
    lost.unlink()

    list(memory.ingester().sync([tmp_path]))  # nothing to sync: lost.md never showed
    memory.ingester().finish_interrupted()  # what every `add` does first
    assert vectors(memory) == before == memory.index.count("documents")
    assert memory.index.pending() == []


def test_a_kill_after_the_swap_keeps_the_new_version(
    memory: Memory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nThe first version.\n")
    list(memory.ingester().add([note]))
    note.write_text("# Note\n\nThe second version, longer than the first one was.\n")

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(memory.index, "cleaned_many", die)
        with pytest.raises(Killed):
            list(memory.ingester().add([note]))
    memory.ingester().finish_interrupted()
    [hit] = memory.search("second version", ["documents"], limit=1)
    assert "second version" in hit.chunk.text
    assert vectors(memory) == memory.index.count("documents")
    assert memory.index.pending() == [] and memory.index.stale() == []


def test_a_batch_of_turns_killed_before_its_swap_shows_none_and_leaves_no_vector(
    memory: Memory, monkeypatch: pytest.MonkeyPatch
) -> None:
    turns = [
        ConversationTurn("beef0001", n, "Chat", 1_700_000_000.0 + n, f"User: line {n}")
        for n in range(5)
    ]

    def die(*args: object, **kwargs: object) -> None:
        raise Killed

    with monkeypatch.context() as patch:
        patch.setattr(memory.index, "replace_many", die)
        with pytest.raises(Killed):
            memory.add_turns(turns)
    assert memory.store.count("conversations") == 5  # written, never shown
    assert memory.turns_known() == set()
    memory.add_turns(turns)  # the next run deletes the orphans first, then adds them whole
    assert memory.turns_known() == {t.source for t in turns}
    assert memory.store.count("conversations") == 5 == memory.index.count("conversations")
    assert memory.index.pending() == [] and memory.index.stale() == []
