"""`rung memory add` under stress, as a user runs it: kill -9 at random moments, a 50 MB
file, the size limit as a setting, odd files. Real Chroma, the real embedding model, real
kills.

The kill moments are random. The seed is RUNG_TEST_SEED when set, else a fresh one; every
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
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rung.memory.chunking import chunk_document
from rung.memory.readers import Document
from rung.memory.store import VectorStore
from tests.agent.test_memory_command import index_db, notes, visible_state
from tests.conftest import Rung

# Read at import: the autouse `isolated_home` fixture removes RUNG_* from the environment.
SEED = int(os.environ.get("RUNG_TEST_SEED") or random.SystemRandom().randrange(2**32))
NOTES_PER_FOLDER = 30
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
    """A note of four (revised: five) paragraphs about `topic`, a few chunks long."""
    rng = random.Random(f"{topic}/{variant}/{revised}")  # the text, not the kill: fixed
    label = "Revised advice on" if revised else "Notes on"
    marker = f"{'NEW' if revised else 'OLD'}{n:02}X{variant}"
    paragraphs = [
        f"{label} {topic}, part {p} (reference {marker}). "
        + " ".join(rng.choice(FILLER) for _ in range(110))
        + f". That is all about {topic} for part {p}."
        for p in range(5 if revised else 4)
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


def counter(db: Path, where: str, *args: str) -> Callable[[], int]:
    """How many sources match `where` in the index of a running `rung memory add`."""

    def count() -> int:
        if not db.exists():
            return 0
        try:
            with contextlib.closing(sqlite3.connect(db)) as conn:
                return int(
                    conn.execute(f"SELECT count(*) FROM sources WHERE {where}", args).fetchone()[0]
                )
        except sqlite3.OperationalError:  # the schema is still being made
            return 0

    return count


def start_add(rung: Rung, folder: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rung.agent.cli", "memory", "add", str(folder)],
        env=rung.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# How a run is killed. The time a file takes is nearly all embedding (some 95% here), so a
# kill at a random moment almost always cuts an embedding; the two other ways aim at the
# short steps after it.
AT_RANDOM = "at a random moment"
SWAP_WAITING = "while its index swap waits"  # vectors written, the index not swapped yet
AFTER_SWAP = "just after an index swap"  # the old vectors being deleted
HAVE_PROC = Path("/proc/self/stat").exists()  # SWAP_WAITING watches the CPU time there
WAYS = (AT_RANDOM, SWAP_WAITING, AFTER_SWAP) if HAVE_PROC else (AT_RANDOM, AFTER_SWAP)


def kill_mid_run(
    proc: subprocess.Popen[bytes],
    db: Path,
    progress: Callable[[], int],
    k: int,
    fraction: float,
    way: str,
    why: str,
) -> float:
    """SIGKILL `proc` in its handling of the files after the `k`th (`progress()` counts the
    files made visible so far); the seconds from the first file to the kill.

    AT_RANDOM: `fraction` of one file's time after the `k`th file (the mean so far), so
    anywhere in a file. SWAP_WAITING: from that moment this test holds the index's write
    lock; the run goes on until its next index write (the swap of the file it is on) and
    waits there, its vectors written; killed once its CPU time stops growing. AFTER_SWAP:
    the moment the index shows a swapped source whose clean-up is not done, as soon as seen.
    """
    assert k >= 2, "one file's time is measured from the first two"
    seen: list[float] = []  # seen[i]: when i + 1 files were visible
    deadline = time.monotonic() + 150
    try:
        while True:
            assert proc.poll() is None, f"{why}: the run ended before the kill: nothing tested"
            now = time.monotonic()
            assert now < deadline, f"{why}: {len(seen)} files visible after 150 s"
            seen.extend([now] * (progress() - len(seen)))
            if len(seen) >= k:
                per_file = (seen[k - 1] - seen[0]) / (k - 1)
                if now >= seen[k - 1] + fraction * per_file:
                    break
            time.sleep(0.005)  # a poll interval, not a wait for a result
        if way == SWAP_WAITING:
            with index_locked(db):
                wait_until_idle(proc, why)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        elif way == AFTER_SWAP:
            with contextlib.closing(sqlite3.connect(db)) as conn:
                while conn.execute("SELECT count(*) FROM sources WHERE stale").fetchone()[0] == 0:
                    assert proc.poll() is None, f"{why}: the run ended before the kill"
                    assert time.monotonic() < deadline, f"{why}: no index swap in 150 s"
            os.kill(proc.pid, signal.SIGKILL)  # no sleep above: the clean-up takes a millisecond
        else:
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:  # an assertion above failed
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"{why}: the run ended by itself before the kill"
    return time.monotonic() - seen[0]


@contextlib.contextmanager
def index_locked(db: Path) -> Iterator[None]:
    """Hold the index's write lock (a `rung` waits up to 5 s for it, then fails)."""
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")


def wait_until_idle(proc: subprocess.Popen[bytes], why: str) -> None:
    """Poll the CPU time of `proc` (all its threads) until it has not grown for 0.2 s."""

    def cpu_ticks() -> int:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime and stime

    deadline = time.monotonic() + 4  # within the 5 s that the run waits for the lock
    last, since = cpu_ticks(), time.monotonic()
    while True:
        assert proc.poll() is None, f"{why}: the run ended while the index was locked"
        ticks, now = cpu_ticks(), time.monotonic()
        if ticks != last:
            last, since = ticks, now
        elif now - since >= 0.2:
            return
        assert now < deadline, f"{why}: still busy 4 s after the index was locked"
        time.sleep(0.01)  # a poll interval


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


def where_killed(home: Path, shown: dict[str, Shown], why: str) -> str:
    """Which step the kill cut, as the stores show it; asserts that every visible chunk has
    its vector (vectors are written before the index shows them)."""
    ids = {c[0] for s in shown.values() for c in s.chunks}
    with vectors(home) as collection:
        stored = set(collection.get(include=[])["ids"])
    assert ids <= stored, f"{why}: {len(ids - stored)} visible chunks without a vector"
    with contextlib.closing(sqlite3.connect(index_db(home))) as conn:
        stale = [row[0] for row in conn.execute("SELECT source FROM sources WHERE stale")]
    if stale:
        keys = {hashlib.sha256(s.encode()).hexdigest()[:16] for s in stale}
        old = [id for id in stored - ids if id.split(":")[0] in keys]
        return f"killed after an index swap, {len(old)} old vectors not yet deleted"
    if stored - ids:
        return f"killed with {len(stored - ids)} vectors written, the index not swapped"
    return "killed while reading or embedding, or between files"


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
    stats = json.loads(rung("memory", "stats", "--json", timeout=60).out)
    assert stats["chunks"]["documents"] == chunks, why
    assert stats["sources"]["documents"] == len(texts), why


def assert_found(rung: Rung, topic: str, why: str, *, revised: bool = False) -> None:
    """A vector search finds the note about `topic` first (its revised text, if `revised`)."""
    query = f"{topic}?"
    found = rung("memory", "search", "--json", "--mode", "vector", "-k", "3", query, timeout=120)
    assert found.code == 0, f"{why}: {found.err}"
    hits = json.loads(found.out)
    assert hits, f"{why}: a vector search for {query!r} found nothing"
    title = hits[0]["title"]
    assert topic.lower() in title.lower(), f"{why}: {query!r} found {title!r} first"
    assert ("(revised)" in title) == revised, f"{why}: {query!r} found {title!r} first"


@pytest.mark.timeout(420)
def test_kill_9_mid_add_never_shows_a_partial_document(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    """Three folders of notes added one after the other into one memory; each `add` killed
    (each a different way), what it left checked, then finished by a re-run and checked."""
    rng = random.Random(SEED)
    db = index_db(isolated_home)
    texts: dict[str, str] = {}
    ways = rng.sample(WAYS, len(WAYS)) + [AT_RANDOM] * (3 - len(WAYS))
    for batch, way in enumerate(ways):
        folder = tmp_path / f"batch{batch}"
        new = write_notes(folder, batch)
        k, fraction = rng.randint(2, NOTES_PER_FOLDER - 3), rng.random()
        why = f"seed {SEED}, batch {batch}: killed {way} after {k} files (+{fraction:.2f})"
        inside = counter(db, "instr(source, ?) = 1", str(folder.resolve()) + "/")
        after = kill_mid_run(start_add(rung, folder), db, inside, k, fraction, way, why)
        why += f", {after:.2f} s after the first"
        shown = shown_now(db)
        why += f", {where_killed(isolated_home, shown, why)}"
        for source in shown:
            assert source in texts or source in new, f"{why}: {source} shown, never written"
            assert_whole(source, shown[source], [{**texts, **new}[source]], why)
        assert set(texts) <= set(shown), f"{why}: notes of an earlier batch went missing"
        done = len(set(shown) - set(texts))
        assert done >= k, f"{why}: {done} notes visible"

        rerun = rung("memory", "add", str(folder), timeout=200)
        assert rerun.code == 0, f"{why}: {rerun.out}{rerun.err}"
        counts = f"{NOTES_PER_FOLDER - done} added, 0 updated, {done} skipped, 0 removed, 0 failed"
        assert f"{NOTES_PER_FOLDER} files: {counts}" in rerun.out, f"{why}: {rerun.out}"
        texts.update(new)
        assert_finished(rung, isolated_home, texts, why)
        assert_found(rung, rng.choice(TOPICS[:NOTES_PER_FOLDER]), why)


@pytest.mark.timeout(420)
def test_notes_rewritten_and_killed_mid_update_show_old_or_new_never_a_mix(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    """30 notes added; twice, 12 of them rewritten (a new title, five paragraphs instead of
    four), `add` killed among the updates, what it left checked, then finished."""
    rng = random.Random(SEED)
    db = index_db(isolated_home)
    folder = tmp_path / "notes"
    texts = write_notes(folder, 0)
    assert rung("memory", "add", str(folder), timeout=200).code == 0
    ways = rng.sample([AFTER_SWAP, rng.choice([w for w in WAYS if w != AFTER_SWAP])], 2)
    for rewrite, way in enumerate(ways, start=1):
        old = dict(texts)
        rewritten = sorted(rng.sample(sorted(old), 12))  # handled in this order
        for source in rewritten:
            n = int(Path(source).stem[4:])
            texts[source] = note_text(TOPICS[n], n, rewrite, revised=True)
            Path(source).write_text(texts[source])
        k, fraction = rng.randint(2, len(rewritten) - 2), rng.random()
        why = (
            f"seed {SEED}, rewrite {rewrite}: killed {way} after {k} of {len(rewritten)} "
            f"updates (+{fraction:.2f})"
        )
        versions = [version_of(texts[s]) for s in rewritten]
        updated_so_far = counter(db, f"version IN ({','.join('?' * len(versions))})", *versions)
        after = kill_mid_run(start_add(rung, folder), db, updated_so_far, k, fraction, way, why)
        why += f", {after:.2f} s after the first"

        shown = shown_now(db)
        why += f", {where_killed(isolated_home, shown, why)}"
        assert set(shown) == set(old), f"{why}: a note went missing mid-update"
        updated = 0
        for source in old:
            text = assert_whole(source, shown[source], [old[source], texts[source]], why)
            updated += text != old[source]
        assert updated >= k, f"{why}: {updated} updated"

        rerun = rung("memory", "add", str(folder), timeout=200)
        assert rerun.code == 0, f"{why}: {rerun.out}{rerun.err}"
        counts = f"0 added, {len(rewritten) - updated} updated"
        assert counts in rerun.out, f"{why}: {rerun.out}"
        assert_finished(rung, isolated_home, texts, why)  # the old vectors gone from Chroma too
        last = int(Path(rewritten[-1]).stem[4:])
        assert_found(rung, TOPICS[last], why, revised=True)


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


@pytest.mark.timeout(120)
def test_a_50_mb_file_is_one_line_naming_the_setting_and_the_others_are_added(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    folder = notes(tmp_path / "notes")
    (folder / "huge.txt").write_bytes((b"lorem ipsum dolor sit amet\n" * 1_851_852)[:50_000_000])
    result = rung("memory", "add", str(folder), timeout=120)
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


@pytest.mark.timeout(120)
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
    refused = Rung(dict(few_chunks, RUNG_MEMORY_MAX_FILE_MB="0.2"))(
        "memory", "add", str(folder), timeout=120
    )
    assert refused.code == 1, refused.err  # the environment wins over the file
    said = " ".join(refused.out.split())
    assert "report.txt" in said and "too large: 300.0 KB, over the limit of 200.0 KB" in said
    accepted = Rung(few_chunks)("memory", "add", str(folder), timeout=120)
    assert accepted.code == 0, accepted.out + accepted.err
    assert "1 files: 1 added" in accepted.out
    found = rung("memory", "search", "--json", "--mode", "keyword", "END0FFILE", timeout=120)
    hits = json.loads(found.out)
    assert hits and hits[0]["source"].endswith("report.txt") and "END0FFILE" in hits[0]["text"]


@pytest.mark.timeout(120)
def test_an_empty_file_and_a_pipe_are_reported_and_the_rest_added(
    rung: Rung, isolated_home: Path, tmp_path: Path
) -> None:
    """(Non-UTF-8 and a corrupt PDF: test_memory_command.py; permission denied, which root
    cannot be refused by chmod: tests/memory/test_readers.py.)"""
    folder = notes(tmp_path / "notes")
    (folder / "empty.md").write_text("")
    pipe = tmp_path / "pipe.md"
    os.mkfifo(pipe)
    result = rung("memory", "add", str(folder), str(pipe), timeout=120)
    assert result.code == 1, result.err
    assert "5 files: 3 added, 0 updated, 0 skipped, 0 removed, 2 failed" in result.out
    said = " ".join(result.out.split())
    assert "empty.md: empty, nothing to add" in said
    assert "pipe.md: not a regular file" in said
    assert "Traceback" not in result.out + result.err
    assert visible_state(index_db(isolated_home))[0] == 3
