"""`rung memory add` under stress, as a user runs it: a real `kill -9` between each two
writes of an ingest, a 50 MB file, the size limit as a setting, odd files. Real Chroma,
the real embedding model.

A kill lands at a crash point (`rung.config.crashpoints`): the `rung memory add` process
kills itself with SIGKILL the Nth time it reaches the step, so every gap between two
writes is tested, each time, without waiting on timing. Which file N is, and which notes
are rewritten, are random: the seed is RUNG_TEST_SEED when set, else a fresh one; every
assertion message names it, so `RUNG_TEST_SEED=<seed> .venv/bin/python -m pytest <this
file>` replays a failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rung.memory.chunking import chunk_document
from rung.memory.readers import Document
from rung.memory.store import VectorStore
from tests.agent.test_memory_command import index_db, notes, visible_state
from tests.conftest import Processes, Rung

# Read at import: the autouse `isolated_home` fixture removes RUNG_* from the environment.
SEED = int(os.environ.get("RUNG_TEST_SEED") or random.SystemRandom().randrange(2**32))
NOTES_PER_FOLDER = 8
MODEL, DIMENSION = "all-MiniLM-L6-v2", 384  # the default embedding model
TOPICS = (
    "keeping bees and harvesting honey",
    "repairing a bicycle puncture",
    "baking sourdough bread",
    "pruning apple trees in winter",
    "learning to play the violin",
    "sailing a dinghy in strong wind",
    "brewing espresso coffee",
    "knitting a wool sweater",
    "climbing granite cliffs",
    "filing an income tax return",
    "training a puppy to sit",
    "changing the oil of a car engine",
    "photographing the night sky",
    "fermenting kimchi at home",
    "building a wooden bookshelf",
    "planning a wedding reception",
    "treating a sprained ankle",
    "writing a cover letter for a job",
    "painting with watercolours",
    "installing solar panels on a roof",
    "raising backyard chickens",
    "restoring antique furniture",
    "ski touring in avalanche terrain",
    "composting kitchen scraps",
    "learning Japanese kanji",
    "fixing a leaking tap",
    "birdwatching at the estuary",
    "running a first marathon",
    "making pottery on a wheel",
    "caring for orchids indoors",
)
FILLER = (
    "first", "then", "later", "again", "usually", "careful", "small", "large", "morning",
    "evening", "weekend", "list", "plan", "detail", "step", "check", "remember", "note", "tip",
    "idea", "method", "reason", "result", "mistake", "lesson", "budget", "tool", "time",
    "place", "friend", "guide", "book", "video", "week", "month", "season", "quick", "slow",
)  # fmt: skip


def note_text(topic: str, n: int, variant: int, *, revised: bool = False) -> str:
    """A note of three (revised: four) paragraphs about `topic`, a few chunks long."""
    rng = random.Random(f"{topic}/{variant}/{revised}")  # the text, not the kill: fixed
    label = "Revised advice on" if revised else "Notes on"
    marker = f"{'NEW' if revised else 'OLD'}{n:02}X{variant}"
    paragraphs = [
        f"{label} {topic}, part {p} (reference {marker}). "
        + " ".join(rng.choice(FILLER) for _ in range(110))
        + f". That is all about {topic} for part {p}."
        for p in range(4 if revised else 3)
    ]
    title = f"{topic.capitalize()}{' (revised)' if revised else ''}"
    return f"# {title}\n\n" + "\n\n".join(paragraphs) + "\n"


def write_notes(folder: Path, variant: int) -> dict[str, str]:
    """NOTES_PER_FOLDER notes in `folder`: their text by source (the resolved path)."""
    folder.mkdir(parents=True)
    texts = {}
    for n, topic in enumerate(TOPICS[:NOTES_PER_FOLDER]):
        path = folder / f"note{n:02}.md"
        texts[str(path.resolve())] = text = note_text(topic, n, variant)
        path.write_text(text)
    return texts


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class Shown:
    """What the index shows of one source: its version, how many chunks its row says it
    has, and the chunk rows there are (id, position, text, start, end)."""

    version: str = "(no sources row)"
    declared: int = 0
    chunks: list[tuple[str, int, str, int, int]] = field(default_factory=list)


def shown_now(db: Path) -> dict[str, Shown]:
    """Every document the index shows (a source whose row says 0 chunks is not shown)."""
    shown: dict[str, Shown] = defaultdict(Shown)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for source, version, declared in conn.execute(
            "SELECT source, version, chunks FROM sources WHERE collection = 'documents'"
            " AND chunks > 0"
        ):
            shown[source] = Shown(version, declared)
        for id, source, position, text, meta in conn.execute(
            "SELECT id, source, position, text, meta FROM chunks"
            " WHERE collection = 'documents' ORDER BY position"
        ):
            fields = json.loads(meta)
            shown[source].chunks.append((id, position, text, fields["start"], fields["end"]))
    return dict(shown)


def assert_whole(source: str, shown: Shown, candidates: list[str], why: str) -> str:
    """`source` shows all the chunks of one of `candidates` and nothing else: which one.

    All, and only: as many rows as its sources row says, every id of the visible version,
    and exactly the chunks (texts, offsets) that ingesting that text gives.
    """
    name = Path(source).name
    by_version = {version_of(text): text for text in candidates}
    text = by_version.get(shown.version)
    assert text is not None, f"{why}: {name} shows version {shown.version}, none of its texts"
    assert len(shown.chunks) == shown.declared, (
        f"{why}: {name}: {len(shown.chunks)} chunks visible of {shown.declared}"
    )
    ids = [c[0] for c in shown.chunks]
    assert all(f":{shown.version}:" in id for id in ids), f"{why}: {name}: versions mixed"
    document = Document(Path(source), "", text, "markdown")
    expected = [(c.position, c.text, c.start, c.end) for c in chunk_document(document)]
    assert [c[1:] for c in shown.chunks] == expected, f"{why}: {name} shows part of a version"
    return text


# Between each two writes of a file's ingest (memory/ingest.py, in order):
EMBEDDED = "ingest.embedded"  # embedded, nothing written: the file is not there
VECTORS = "ingest.vectors"  # its vectors in Chroma, the index not swapped: still not there
SWAPPED = "ingest.swapped"  # the index swapped: the file is there, old vectors not deleted
DELETED = "ingest.deleted"  # the old vectors deleted, the index not told yet
POINTS = (EMBEDDED, VECTORS, SWAPPED, DELETED)


def add_killed_at(
    processes: Processes, rung: Rung, folder: Path, point: str, nth: int, why: str
) -> None:
    """`rung memory add FOLDER` as a process (forked warm: the kill is under test, not the
    imports), killed by SIGKILL the `nth` time it reaches `point`."""
    env = dict(rung.env, RUNG_CRASH_AT=f"{point}:{nth}")
    proc = processes.start(["memory", "add", str(folder)], env, warm=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, (
        f"{why}: the run ended by itself ({proc.returncode}), not at the crash point: {err}"
    )


@contextlib.contextmanager
def vectors(home: Path) -> Iterator[Any]:
    """The documents collection in Chroma, opened here as the next `rung` would open it."""
    store = VectorStore(
        index_db(home).parent / "chroma", model=MODEL, dimension=DIMENSION
    )  # the store's lock: only while no `rung` runs
    try:
        yield store.collection("documents")
    finally:
        store.close()


def assert_left(
    home: Path, shown: dict[str, Shown], killed: str, point: str, new: str, old: str | None,
    why: str,
) -> None:  # fmt: skip
    """What the stores hold after a kill at `point` in the ingest of source `killed` (text
    `old` becoming `new`): every visible chunk has its vector, and the vectors nothing shows
    and the index's to-do rows are those of that step, which the next run clears."""
    ids = {c[0] for s in shown.values() for c in s.chunks}
    with vectors(home) as collection:
        stored = collection.get(include=["metadatas"])
    assert ids <= set(stored["ids"]), f"{why}: visible chunks without a vector"
    unseen = {
        meta["version"]
        for id, meta in zip(stored["ids"], stored["metadatas"], strict=True)
        if id not in ids
    }
    with contextlib.closing(sqlite3.connect(index_db(home))) as conn:
        stale = [r[0] for r in conn.execute("SELECT source FROM sources WHERE stale")]
        pending = [r[0] for r in conn.execute("SELECT source FROM pending")]
    expected = {
        EMBEDDED: set(),
        VECTORS: {version_of(new)},
        SWAPPED: {version_of(old)} if old is not None else set(),
        DELETED: set(),
    }[point]
    assert unseen == expected, f"{why}: vectors of {unseen} not visible"
    assert pending == ([] if point == EMBEDDED else [killed]), f"{why}: pending {pending}"
    swapped = point in (SWAPPED, DELETED)
    assert stale == ([killed] if swapped else []), f"{why}: stale {stale}"


def assert_finished(rung: Rung, home: Path, texts: dict[str, str], why: str) -> None:
    """Everything in `texts` shows whole, Chroma holds exactly the visible chunks (no old
    or orphaned vector left), and `rung memory stats` counts them."""
    shown = shown_now(index_db(home))
    assert set(shown) == set(texts), f"{why}: {len(set(texts) - set(shown))} notes missing"
    for source, text in texts.items():
        assert_whole(source, shown[source], [text], why)
    chunks = sum(len(s.chunks) for s in shown.values())
    with vectors(home) as collection:
        stored = int(collection.count())
    assert stored == chunks, f"{why}: {stored} vectors in Chroma for {chunks} visible chunks"
    stats = json.loads(rung("memory", "stats", "--json").out)
    assert stats["chunks"]["documents"] == chunks, why
    assert stats["sources"]["documents"] == len(texts), why


def assert_found(rung: Rung, topic: str, why: str, *, revised: bool = False) -> None:
    """A vector search finds the note about `topic` first (its revised text, if `revised`)."""
    query = f"{topic}?"
    found = rung("memory", "search", "--json", "--mode", "vector", "-k", "3", query)
    assert found.code == 0, f"{why}: {found.err}"
    hits = json.loads(found.out)
    assert hits, f"{why}: a vector search for {query!r} found nothing"
    title = hits[0]["title"]
    assert topic.lower() in title.lower(), f"{why}: {query!r} found {title!r} first"
    assert ("(revised)" in title) == revised, f"{why}: {query!r} found {title!r} first"


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_mid_add_never_shows_a_partial_document(
    rung: Rung, processes: Processes, isolated_home: Path, tmp_path: Path, point: str
) -> None:
    """A folder of notes added; the `add` of a second folder killed at `point` in a random
    file of it, what it left checked, then finished by a re-run and checked."""
    rng = random.Random(f"{SEED}/{point}")
    db = index_db(isolated_home)
    texts = write_notes(tmp_path / "batch0", 0)
    assert rung("memory", "add", str(tmp_path / "batch0")).code == 0
    folder = tmp_path / "batch1"
    new = write_notes(folder, 1)
    k = rng.randint(1, NOTES_PER_FOLDER)
    killed = sorted(new)[k - 1]  # a folder is read in name order
    why = f"seed {SEED}: killed at {point} in file {k} of {NOTES_PER_FOLDER}"
    add_killed_at(processes, rung, folder, point, k, why)

    shown = shown_now(db)
    for source in shown:
        assert source in texts or source in new, f"{why}: {source} shown, never written"
        assert_whole(source, shown[source], [{**texts, **new}[source]], why)
    assert set(texts) <= set(shown), f"{why}: notes of an earlier batch went missing"
    done = sorted(set(shown) - set(texts))
    assert done == sorted(new)[: k if point in (SWAPPED, DELETED) else k - 1], why
    assert_left(isolated_home, shown, killed, point, new[killed], None, why)

    rerun = rung("memory", "add", str(folder))
    assert rerun.code == 0, f"{why}: {rerun.out}{rerun.err}"
    counts = (
        f"{NOTES_PER_FOLDER - len(done)} added, 0 updated, {len(done)} skipped, 0 removed, 0 failed"
    )
    assert f"{NOTES_PER_FOLDER} files: {counts}" in rerun.out, f"{why}: {rerun.out}"
    texts.update(new)
    assert_finished(rung, isolated_home, texts, why)
    assert_found(rung, rng.choice(TOPICS[:NOTES_PER_FOLDER]), why)


@pytest.mark.parametrize("point", POINTS)
def test_notes_rewritten_and_killed_mid_update_show_old_or_new_never_a_mix(
    rung: Rung, processes: Processes, isolated_home: Path, tmp_path: Path, point: str
) -> None:
    """Notes added; some rewritten (a new title, a paragraph more), `add` killed at
    `point` in a random one of the updates, what it left checked, then finished."""
    rng = random.Random(f"{SEED}/{point}")
    db = index_db(isolated_home)
    folder = tmp_path / "notes"
    texts = write_notes(folder, 0)
    assert rung("memory", "add", str(folder)).code == 0
    old = dict(texts)
    rewritten = sorted(rng.sample(sorted(old), 4))  # handled in this order
    for source in rewritten:
        n = int(Path(source).stem[4:])
        texts[source] = note_text(TOPICS[n], n, 1, revised=True)
        Path(source).write_text(texts[source])
    k = rng.randint(1, len(rewritten))
    why = f"seed {SEED}: killed at {point} in update {k} of {len(rewritten)}"
    add_killed_at(processes, rung, folder, point, k, why)

    shown = shown_now(db)
    assert set(shown) == set(old), f"{why}: a note went missing mid-update"
    updated = []
    for source in old:
        text = assert_whole(source, shown[source], [old[source], texts[source]], why)
        if text != old[source]:
            updated.append(source)
    assert updated == rewritten[: k if point in (SWAPPED, DELETED) else k - 1], why
    killed = rewritten[k - 1]
    assert_left(isolated_home, shown, killed, point, texts[killed], old[killed], why)

    rerun = rung("memory", "add", str(folder))
    assert rerun.code == 0, f"{why}: {rerun.out}{rerun.err}"
    assert f"0 added, {len(rewritten) - len(updated)} updated" in rerun.out, f"{why}: {rerun.out}"
    assert_finished(rung, isolated_home, texts, why)  # the old vectors gone from Chroma too
    assert_found(rung, TOPICS[int(Path(rewritten[-1]).stem[4:])], why, revised=True)


def write_size(path: Path, size: int, rng: random.Random) -> None:
    """A text file of exactly `size` bytes of varied words, ending in the word END0FFILE."""
    words = [f"{w}{n}" for w in FILLER for n in range(30)]
    end = " END0FFILE\n"
    with path.open("w") as file:
        written = 0
        while written < size - 10_000:
            written += file.write(" ".join(rng.choice(words) for _ in range(1000)) + ".\n\n")
        rest = size - written - len(end)
        file.write(("and so on " * (rest // 10 + 1))[:rest] + end)
    assert path.stat().st_size == size


def test_a_50_mb_file_is_one_line_naming_the_setting_and_the_others_are_added(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    folder = notes(tmp_path / "notes")
    (folder / "huge.txt").write_bytes((b"lorem ipsum dolor sit amet\n" * 1_851_852)[:50_000_000])
    result = rung("memory", "add", str(folder))
    assert result.code == 1, result.err  # memory_command: 1 when some file failed
    assert "4 files: 3 added, 0 updated, 0 skipped, 0 removed, 1 failed" in result.out
    lines = [line for line in result.out.splitlines() if "huge.txt" in line]
    assert len(lines) == 1, result.out  # not wrapped at the console's width
    assert lines[0].count("huge.txt") == 1, lines[0]
    assert "too large: 50.0 MB, over the limit of 20.0 MB" in lines[0], lines[0]
    assert "memory.max_file_mb" in lines[0], lines[0]
    assert "Traceback" not in result.out + result.err
    found = json.loads(rung("memory", "search", "--json", "keep insects off plants").out)
    assert found[0]["source"].endswith("garden.md")
    assert visible_state(index_db(isolated_home))[0] == 3


def test_the_size_limit_is_the_setting_memory_max_file_mb(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    """A 300 KB file against limits of 0.2 and 0.4 MB, from the environment and the file.

    (Not 3 MB against 2 and 4: a full chunk embeds at about 10/s on two cores, so 3 MB of
    text would take minutes.)"""
    folder = tmp_path / "big"
    folder.mkdir()
    write_size(folder / "report.txt", 300_000, random.Random(SEED))
    config = isolated_home / "config" / "rung" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[memory]\nmax_file_mb = 0.4\n")
    few_chunks = dict(rung.env, RUNG_CHUNK_SIZE="20000")  # 15 chunks to embed: quicker
    refused = Rung(dict(few_chunks, RUNG_MEMORY_MAX_FILE_MB="0.2"))("memory", "add", str(folder))
    assert refused.code == 1, refused.err  # the environment wins over the file
    said = " ".join(refused.out.split())
    assert "report.txt" in said and "too large: 300.0 KB, over the limit of 200.0 KB" in said
    accepted = Rung(few_chunks)("memory", "add", str(folder))
    assert accepted.code == 0, accepted.out + accepted.err
    assert "1 files: 1 added" in accepted.out
    found = rung("memory", "search", "--json", "--mode", "keyword", "END0FFILE")
    hits = json.loads(found.out)
    assert hits and hits[0]["source"].endswith("report.txt") and "END0FFILE" in hits[0]["text"]


def test_an_empty_file_and_a_pipe_are_reported_and_the_rest_added(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    """(Non-UTF-8 and a corrupt PDF: test_memory_command.py; permission denied, which root
    cannot be refused by chmod: tests/memory/test_readers.py.)"""
    folder = notes(tmp_path / "notes")
    (folder / "empty.md").write_text("")
    pipe = tmp_path / "pipe.md"
    os.mkfifo(pipe)
    result = rung("memory", "add", str(folder), str(pipe))
    assert result.code == 1, result.err
    assert "5 files: 3 added, 0 updated, 0 skipped, 0 removed, 2 failed" in result.out
    said = " ".join(result.out.split())
    assert "empty.md: empty, nothing to add" in said
    assert "pipe.md: not a regular file" in said
    assert "Traceback" not in result.out + result.err
    assert visible_state(index_db(isolated_home))[0] == 3
