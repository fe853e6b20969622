"""Ingestion and retrieval through real Chroma and the real embedding model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rung.memory.embedder import Embedder
from rung.memory.ingest import FileDone
from rung.memory.service import Memory, MemoryConfig
from rung.memory.store import ModelMismatch, StoreBusy, StoreError

NOTES = {
    "garden.md": "# Garden\n\nTomatoes need full sun and regular watering in summer.\n\n"
    "## Pests\n\nAphids are kept away by planting marigolds next to the beds.\n",
    "bike.md": "# Bike\n\nThe chain needs oil every 300 kilometres. Tyre pressure: 4.5 bar.\n",
    "cooking.txt": "Risotto: toast the rice, add warm stock a ladle at a time, stir often.\n",
}


def write_notes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def add(memory: Memory, *paths: Path, sync: bool = False) -> dict[str, list[FileDone]]:
    ingester = memory.ingester()
    done = list(ingester.add(ingester.plan(list(paths))))
    if sync:
        done += list(ingester.sync(list(paths)))
    by_outcome: dict[str, list[FileDone]] = {}
    for d in done:
        by_outcome.setdefault(d.outcome, []).append(d)
    return by_outcome


def vectors(memory: Memory) -> int:
    return memory.store.count("documents")


def test_add_then_search_finds_by_meaning(memory: Memory, tmp_path: Path) -> None:
    done = add(memory, write_notes(tmp_path / "notes"))
    assert len(done["added"]) == 3 and "failed" not in done
    [hit, *_] = memory.search("how do I keep insects off my plants?")
    assert hit.chunk.source.endswith("garden.md") and "marigolds" in hit.chunk.text
    assert (
        hit.chunk.meta["headings"] == ["Garden", "Pests"] or "Pests" in hit.chunk.meta["headings"]
    )
    assert vectors(memory) == memory.index.count("documents")


def test_adding_again_changes_nothing(memory: Memory, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    add(memory, notes)
    before = (memory.index.count("documents"), vectors(memory))
    done = add(memory, notes)
    assert len(done["skipped"]) == 3 and set(done) == {"skipped"}
    assert (memory.index.count("documents"), vectors(memory)) == before


def test_a_changed_file_replaces_its_chunks(memory: Memory, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    add(memory, notes)
    bike = notes / "bike.md"
    bike.write_text("# Bike\n\nThe brakes squeal: clean the rims with alcohol.\n")
    os.utime(bike, (1, 1))  # a different mtime, whatever the clock's resolution
    done = add(memory, notes)
    assert [d.path.name for d in done["updated"]] == ["bike.md"]
    texts = [h.chunk.text for h in memory.search("bike chain oil", limit=10)]
    assert not any("300 kilometres" in t for t in texts)
    assert any("brakes squeal" in t for t in texts)
    assert vectors(memory) == memory.index.count("documents")


def test_sync_forgets_files_that_are_gone(memory: Memory, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    add(memory, notes)
    (notes / "cooking.txt").unlink()
    done = add(memory, notes, sync=True)
    assert [d.path.name for d in done["removed"]] == ["cooking.txt"]
    assert all(not h.chunk.source.endswith("cooking.txt") for h in memory.search("risotto"))
    assert vectors(memory) == memory.index.count("documents")


def test_an_exact_code_is_found_where_vectors_alone_miss_it(memory: Memory, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for n in range(30):  # short notes about parts whose numbers look alike
        (folder / f"part{n}.txt").write_text(f"Part K7-{4400 + n * 7} fits the left hinge.\n")
    (folder / "trip.md").write_text(
        "# Trip\n\nWe drove along the coast for three days, stopping in small villages to "
        "eat fish and walk on the cliffs. On the way back the car's left hinge broke and the "
        "garage ordered part K7-4471, which arrived a week later.\n"
    )
    add(memory, folder)
    hybrid = memory.search("K7-4471", limit=5)
    vector = memory.search("K7-4471", limit=5, mode="vector")
    assert hybrid[0].chunk.source.endswith("trip.md")
    assert not vector[0].chunk.source.endswith("trip.md")  # an embedding blurs codes


def test_bad_files_are_reported_and_the_others_added(memory: Memory, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    (notes / "empty.md").write_text("")
    (notes / "blob.txt").write_bytes(b"\x00\x01\x02binary")
    (notes / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    ingester = memory.ingester()
    done = list(ingester.add([*ingester.plan([notes]), tmp_path / "missing.md"]))
    failed = {d.path.name: d.reason for d in done if d.outcome == "failed"}
    assert set(failed) == {"empty.md", "blob.txt", "broken.pdf", "missing.md"}
    assert all(reason for reason in failed.values())
    assert sum(d.outcome == "added" for d in done) == 3


def test_a_second_process_gets_a_clear_message(memory: Memory, tmp_path: Path) -> None:
    memory.store.count("documents")
    other = Memory(MemoryConfig(folder=memory.config.folder), memory.embedder)
    with pytest.raises(StoreBusy, match="in use by Rung \\(pid"):
        other.store.count("documents")
    other.close()


def test_another_embedding_model_is_refused_with_the_fix(
    memory: Memory, tmp_path: Path, embedder: Embedder
) -> None:
    add(memory, write_notes(tmp_path / "notes"))
    memory.close()
    other = Memory(
        MemoryConfig(folder=memory.config.folder, embedding_model="other-model"), embedder
    )
    with pytest.raises(ModelMismatch) as caught:
        other.search("tomatoes")
    assert "rung memory reindex" in caught.value.hint
    other.close()


def test_forget_by_path_and_by_chunk_id(memory: Memory, tmp_path: Path) -> None:
    notes = write_notes(tmp_path / "notes")
    add(memory, notes)
    assert memory.forget(str(notes / "bike.md")) >= 1
    assert all(not h.chunk.source.endswith("bike.md") for h in memory.search("bike chain oil"))
    [hit, *_] = memory.search("risotto rice stock")
    assert memory.forget(hit.chunk.id) == 1
    assert all(h.chunk.id != hit.chunk.id for h in memory.search("risotto rice stock"))
    assert memory.forget("/no/such/thing") == 0
    assert vectors(memory) == memory.index.count("documents")


def test_export_is_every_chunk_as_a_record(memory: Memory, tmp_path: Path) -> None:
    add(memory, write_notes(tmp_path / "notes"))
    records = list(memory.export())
    assert len(records) == memory.index.count()
    garden = [r for r in records if r["source"].endswith("garden.md")]
    assert "marigolds" in " ".join(r["text"] for r in garden)
    assert garden[0]["title"] == "Garden" and garden[0]["collection"] == "documents"


def test_reindex_after_a_model_change_and_after_an_interruption(
    memory: Memory, tmp_path: Path, embedder: Embedder
) -> None:
    add(memory, write_notes(tmp_path / "notes"))
    memory.close()
    renamed = MemoryConfig(
        folder=memory.config.folder, embedding_model="sentence-transformers/all-MiniLM-L6-v2"
    )
    with Memory(renamed, embedder) as moved:
        with pytest.raises(ModelMismatch):
            moved.search("tomatoes")
        next(iter(moved.reindex()))  # one batch, then the process "dies"
    with Memory(renamed, embedder) as again:
        with pytest.raises(StoreError, match="interrupted") as caught:
            again.search("tomatoes")
        assert "rung memory reindex" in caught.value.hint
        assert list(again.reindex())[-1] == again.index.count()
        [hit, *_] = again.search("how do I keep insects off my plants?")
        assert hit.chunk.source.endswith("garden.md")
        assert vectors(again) == again.index.count("documents")
