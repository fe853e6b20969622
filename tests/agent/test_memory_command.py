"""`rung memory …` as a user runs it: real Chroma, the real embedding model. (Kills mid-ingest:
test_memory_ingest_robust.py.)"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from rung.agent.messages import Message
from rung.agent.recall import Recall
from rung.agent.sessions import SessionStore
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig
from tests.agent.daemon.conftest import lock_holders, paths, through_daemon  # noqa: F401
from tests.conftest import Rung
from tests.ollama_server import OllamaTestServer

NOTES = {
    "garden.md": "# Garden\n\nTomatoes need full sun.\n\n## Pests\n\nMarigolds keep aphids away.\n",
    "bike.md": "# Bike\n\nOil the chain every 300 km. Tyre pressure: 4.5 bar.\n",
    "soup.txt": "Leek soup: sweat the leeks in butter, add stock and potatoes, simmer.\n",
}


def notes(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in NOTES.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture(params=["local", "daemon"])
def rung(request: pytest.FixtureRequest, rung: Rung) -> Rung:
    """Every test twice: `rung memory` in its own process, and through a running daemon,
    which owns the memory then and must do the same."""
    if request.param == "local":
        return rung
    return request.getfixturevalue("through_daemon")  # type: ignore[no-any-return]


def index_db(home: Path) -> Path:
    return home / "data" / "rung" / "memory" / "index.sqlite3"


def test_add_search_and_stats(rung: Rung, isolated_home: Path, tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes")
    added = rung("memory", "add", str(folder))
    assert added.code == 0, added.err
    assert "3 files: 3 added, 0 updated, 0 skipped" in added.out
    again = rung("memory", "add", str(folder))
    assert "0 added, 0 updated, 3 skipped" in again.out
    found = rung("memory", "search", "--json", "how do I keep insects off plants")
    assert found.code == 0, found.err
    hits = json.loads(found.out)
    assert hits[0]["source"].endswith("garden.md") and "Marigolds" in hits[0]["text"]
    shown = rung("memory", "search", "tyre pressure")
    assert "bike.md" in shown.out.splitlines()[0] and "4.5 bar" in shown.out
    stats = json.loads(rung("memory", "stats", "--json").out)
    assert stats["sources"]["documents"] == 3 and stats["chunks"]["documents"] >= 3
    assert stats["reindex_due"] == []  # a memory made by this Rung


def test_bad_paths_are_reported_and_the_rest_added(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    folder = notes(tmp_path / "notes")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    (folder / "latin1.txt").write_bytes("Caf\xe9 cr\xe8me, cr\xe8me br\xfbl\xe9e".encode("latin-1"))
    result = rung("memory", "add", str(folder), str(tmp_path / "missing"))
    assert result.code == 1
    assert "4 added" in result.out and "2 failed" in result.out
    assert "broken.pdf" in result.out and "not a readable PDF" in result.out
    assert "missing" in result.out and "Traceback" not in result.out + result.err
    found = json.loads(rung("memory", "search", "--json", "crème brûlée").out)
    assert "Café crème" in found[0]["text"]


def visible_state(db: Path) -> tuple[int, int]:
    """(sources, chunks) visible now; asserts no source is half there."""
    with sqlite3.connect(db) as conn:
        for source, version, chunks in conn.execute("SELECT source, version, chunks FROM sources"):
            ids = [r[0] for r in conn.execute("SELECT id FROM chunks WHERE source = ?", (source,))]
            assert len(ids) == chunks, f"{source}: {len(ids)} chunks visible of {chunks}"
            assert all(f":{version}:" in i for i in ids), f"{source}: old and new chunks mixed"
        count = conn.execute("SELECT count(*), (SELECT count(*) FROM chunks) FROM sources")
        sources, chunk_rows = count.fetchone()
    return int(sources), int(chunk_rows)


def test_a_bad_chunk_setting_is_one_line(rung: Rung, isolated_home: Path, tmp_path: Path) -> None:
    env = dict(rung.env, RUNG_CHUNK_SIZE="200", RUNG_CHUNK_OVERLAP="150")
    result = Rung(env)("memory", "add", str(notes(tmp_path / "notes")))
    assert result.code == 2 and "chunk_overlap (150) must be less than half" in result.err
    assert "Traceback" not in result.err


def test_export_forget_and_reindex(rung: Rung, isolated_home: Path, tmp_path: Path) -> None:
    folder = notes(tmp_path / "notes")
    assert rung("memory", "add", str(folder)).code == 0
    backup = tmp_path / "backup.jsonl"
    assert rung("memory", "export", "-o", str(backup)).code == 0
    records = [json.loads(line) for line in backup.read_text().splitlines()]
    assert {Path(r["source"]).name for r in records} == set(NOTES)
    forgot = rung("memory", "forget", str(folder / "soup.txt"), "no-such-id")
    assert forgot.code == 1 and "forgot" in forgot.out
    assert "nothing stored for no-such-id" in forgot.out
    reindexed = rung("memory", "reindex")
    assert reindexed.code == 0 and f"Embedded {len(records) - 1} chunks" in reindexed.out
    hits = json.loads(rung("memory", "search", "--json", "leek soup").out)
    assert all(not h["source"].endswith("soup.txt") for h in hits)
    bad = rung("memory", "export", "-o", str(tmp_path / "no" / "dir" / "x.jsonl"))
    assert bad.code == 2 and "cannot write" in bad.err


def test_facts_add_list_edit_forget(rung: Rung, isolated_home: Path) -> None:
    assert rung("memory", "facts").out.startswith("No facts yet.")
    assert rung("memory", "facts", "add", "I", "live", "in", "Lyon").code == 0
    moved = rung("memory", "facts", "add", "I live in Paris now")
    assert moved.code == 0 and "replaces" in moved.out and "I live in Lyon" in moved.out
    listed = rung("memory", "facts", "list").out
    assert "I live in Paris now" in listed and "Lyon" not in listed
    assert "(replaced " in rung("memory", "facts", "list", "--all").out
    fact_id = listed.split()[0]
    assert rung("memory", "facts", "edit", fact_id, "I live in Paris 11e").code == 0
    assert "Paris 11e" in rung("memory", "facts").out
    forgot = rung("memory", "facts", "forget", fact_id)
    assert forgot.code == 0 and rung("memory", "facts").out.startswith("No facts yet.")
    bad = rung("memory", "facts", "forget", "fact-nope")
    assert bad.code == 2 and "no fact with the id 'fact-nope'" in bad.err


def test_a_memory_of_an_older_rung_is_reindexed_when_the_user_says(
    rung: Rung, isolated_home: Path, ollama_server: OllamaTestServer
) -> None:
    folder = index_db(isolated_home).parent
    with SessionStore(folder.parent / "sessions.sqlite3") as sessions:
        for said in ("Is the dog home yet?", "He came on Saturday, he hates the kettle."):
            sessions.add_turn("01d5e55a", [Message("user", said)], model="m", tier="chatbot")
        memory = Memory(MemoryConfig(folder=folder), Embedder.shared())
        recall = Recall(memory, sessions)
        assert recall.record() == 2
        memory.close()
    with sqlite3.connect(index_db(isolated_home)) as db:  # as a Rung before turn context
        db.execute("DELETE FROM state WHERE key = 'turn_context'")
    stats = rung("memory", "stats")
    assert stats.code == 0 and "a reindex is due (the conversation turns were embedded" in stats.out
    doctor = rung("doctor")
    [memory_line] = [line for line in doctor.out.splitlines() if line[2:16].strip() == "memory"]
    assert memory_line.startswith("!") and "a reindex is due" in memory_line, doctor.out
    assert "hint: rung memory reindex" in doctor.out
    assert rung("memory", "reindex").code == 0
    assert json.loads(rung("memory", "stats", "--json").out)["reindex_due"] == []
    hits = json.loads(rung("memory", "search", "--in", "conversations", "--json", "kettle").out)
    assert hits and hits[0]["source"] == "session:01d5e55a#1"
