"""Chunks per second through Rung's ingestion, against the bare embedder on the same chunks.

A folder of generated Markdown and text files (short notes, medium and long documents, in
prose from templates, seeded) is added to a Memory in a temp folder: `Ingester.plan` then
`Ingester.add`, as `rung memory add` does, with the default chunking (1000 characters, 150
overlap). The baseline embeds the very texts the Ingester embeds (the files read and cut by
`memory.chunking`, each chunk with its title and headings, via `embed_text`) in one
`Embedder.embed` call, with the same loaded model; a second one embeds them with one call
per file, as the Ingester batches them. Each round runs the three, in an order that rotates;
Rung adds a fresh copy of the folder each round (new paths, so nothing is skipped) to one
memory that grows round by round, the copy made and the store opened before the clock. The
share of the embedder's rate is taken per round, then the median: this machine's speed
drifts by up to two times within seconds. Inside Rung's runs each stage is timed on its own,
so the table shows where the time goes: the embedder, Chroma, SQLite, and the rest.

Conversation turns are measured the same way: the first TURNS turns of the conversations
recall set (`bench/recall_sets/conversations.py`), under new session ids each round, through
`Memory.add_turns` (up to 256 turns in one embedding call, one index transaction per step),
against the bare embedder on the texts it embeds for them (each with its session's title)
in one call, and against one `Ingester.put` per turn (how turns were stored before); the
time add_turns spends in the embedder is timed within each call too, a share that the
machine's drift between two runs does not touch. Facts
too: FACTS generated statements through `Memory.remember_many` (one embedding call, an exact
search of the stored facts' vectors, one index transaction), against the bare embedder on
the same texts and one `Memory.remember` each.

    python -m bench.memory_ingest [--quick]
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import Report, Target, median, parse_args, publish
from rung.memory.chunking import chunk_document, embed_text
from rung.memory.embedder import Embedder
from rung.memory.readers import Document, read_document
from rung.memory.service import ConversationTurn, Memory, MemoryConfig

TURNS = 256
FACTS = 64
WAYS = ("embed", "rung", "one_by_one")  # the bare embedder, Rung, one call per item
SHORTFALL_TARGET = 10.0  # Rung may be at most this many per cent below the embedder's rate
SEED = 20240614
# (share of files, smallest and largest size in characters): notes, documents, long documents
SIZES = ((0.4, 300, 1500), (0.4, 3000, 7000), (0.2, 9000, 18000))

NAMES = ("Ana", "Tomasz", "Priya", "Henrik", "Mei-Ling", "Jonas", "Lucia", "Omar", "Sofia")
SUBJECTS = ("We", "The team", "My manager", "The landlord", "The plumber", "Our neighbour")
VERBS = ("checked", "ordered", "replaced", "cancelled", "moved", "paid for", "booked", "fixed")
INFINITIVES = ("check", "order", "replace", "clean", "move", "pay for", "book", "fix", "sort")
ADJECTIVES = ("new", "old", "broken", "expensive", "spare", "annual", "second", "shared")
STATES = ("ready", "missing", "too small", "out of stock", "still wet", "signed", "late")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "September")
NOUNS = (
    "garden hose",
    "invoice",
    "meeting",
    "budget",
    "train ticket",
    "server backup",
    "bike chain",
    "insurance policy",
    "dentist appointment",
    "passport",
    "hotel booking",
    "risotto recipe",
    "tax refund",
    "mortgage offer",
    "lease",
    "release notes",
    "database migration",
    "router",
    "printer",
    "laptop battery",
    "warranty",
    "dishwasher",
    "boiler",
    "radiator",
    "gutter",
    "kitchen tiles",
    "parcel",
    "birthday present",
    "camping tent",
    "piano lesson",
    "vet visit",
    "compost bin",
    "coffee grinder",
    "gym membership",
    "car inspection",
    "solar panel",
    "electricity bill",
    "school trip",
    "conference talk",
)
TEMPLATES = (
    "{subject} {verb} the {adjective} {noun} {when}.",
    "{subject} {verb} the {noun} and the {noun2} {when}, which cost {price} euros in all.",
    "The {noun} for the {noun2} is due {when}; the reference is {code}.",
    "If the {noun} gives trouble again, call {name} or write to the {noun2} support address.",
    "{name} thinks the {adjective} {noun} should stay until the {noun2} is {state}.",
    "Remember to bring the {noun}, the {noun2} and a {adjective} {noun3} {when}.",
    "It took about {minutes} minutes to {infinitive} the {noun}, mostly because the {noun2} "
    "was {state}.",
    "According to {name}, the {noun} is {state} and nothing can be done before {day} {month}.",
)
HEADINGS = ("Background", "What we decided", "Costs", "Next steps", "Open questions", "Contacts")


# -- the documents --------------------------------------------------------------------------


def sentence(rng: random.Random) -> str:
    nouns = rng.sample(NOUNS, 3)
    when = rng.choice(
        (
            "on Monday",
            "last week",
            "before the holidays",
            f"in {rng.choice(MONTHS)}",
            f"on {rng.randint(1, 28)} {rng.choice(MONTHS)}",
            "by the end of the month",
        )
    )
    text = rng.choice(TEMPLATES).format(
        subject=rng.choice((*SUBJECTS, rng.choice(NAMES))),
        verb=rng.choice(VERBS),
        infinitive=rng.choice(INFINITIVES),
        adjective=rng.choice(ADJECTIVES),
        noun=nouns[0],
        noun2=nouns[1],
        noun3=nouns[2],
        when=when,
        price=rng.randint(12, 2400),
        code=f"{rng.choice('ABKQX')}{rng.randint(1, 9)}-{rng.randint(1000, 9999)}",
        name=rng.choice(NAMES),
        state=rng.choice(STATES),
        minutes=rng.randint(5, 90),
        day=rng.randint(1, 28),
        month=rng.choice(MONTHS),
    )
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(2, 6)))


def document(rng: random.Random, size: int, markdown: bool) -> str:
    """About `size` characters of prose; Markdown gets a title and sections."""
    title = f"{rng.choice(NOUNS).capitalize()} notes"
    parts = [f"# {title}"] if markdown else []
    length = 0
    while length < size:
        if markdown and (len(parts) == 1 or rng.random() < 0.25):
            parts.append(f"## {rng.choice(HEADINGS)}")
        parts.append(paragraph(rng))
        length += len(parts[-1])
    return "\n\n".join(parts) + "\n"


def write_corpus(folder: Path, files: int, seed: int = SEED) -> list[Path]:
    """`files` documents (two in three Markdown, the rest plain text) in `folder`."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(files):
        [(_, low, high)] = rng.choices(SIZES, weights=[weight for weight, _, _ in SIZES])
        markdown = i % 3 != 2
        path = folder / f"doc-{i:03d}.{'md' if markdown else 'txt'}"
        path.write_text(document(rng, rng.randint(low, high), markdown), encoding="utf-8")
        paths.append(path)
    return paths


def chunk_texts(paths: Sequence[Path], config: MemoryConfig) -> list[list[str]]:
    """What the Ingester embeds for each file, taken from the chunking (as `add_file` does)."""
    texts = []
    for path in paths:
        doc = read_document(path)
        chunks = chunk_document(doc, config.chunk_size, config.chunk_overlap)
        texts.append([embed_text(doc.title, c) for c in chunks])
    return texts


# -- timing ---------------------------------------------------------------------------------

# Stages of `Ingester.add_file` timed inside Rung's runs: (object, method, label).
STAGES = (
    ("embedder", "embed", "in Embedder.embed (a call per file)"),
    ("store", "add", "in VectorStore.add (Chroma upsert)"),
    ("index", "set_pending_many", "in Index.set_pending_many (SQLite)"),
    ("index", "replace_many", "in Index.replace_many (SQLite, FTS5)"),
    ("store", "delete_source", "in VectorStore.delete_source"),
    ("index", "cleaned_many", "in Index.cleaned_many (SQLite)"),
)
REST = "the rest: list, stat, read, hash, chunk"
EMBEDDED = STAGES[0][2]


@contextmanager
def timing(owner: Any, method: str, seconds: dict[str, float], label: str) -> Iterator[None]:
    """Add the time spent in `owner.method` to `seconds[label]`, for the block's duration."""
    original: Callable[..., Any] = getattr(owner, method)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            seconds[label] += time.perf_counter() - started

    setattr(owner, method, timed)
    try:
        yield
    finally:
        delattr(owner, method)  # the class's own method shows again


class Stages(defaultdict[str, float]):
    """Seconds per stage label."""

    def __init__(self) -> None:
        super().__init__(float)


@dataclass
class Round:
    one_call_s: float = 0.0  # the baseline: Embedder.embed on all chunks at once
    per_file_s: float = 0.0  # Embedder.embed once per file, as the Ingester calls it
    rung_s: float = 0.0
    stages_s: Stages = field(default_factory=Stages)
    turns_embed_s: float = 0.0  # the baseline for turns: Embedder.embed on all in one call
    turns_rung_s: float = 0.0  # Memory.add_turns
    turns_rung_embed_s: float = 0.0  # of which in Embedder.embed
    turns_one_by_one_s: float = 0.0  # one Ingester.put per turn
    facts_embed_s: float = 0.0  # the baseline for facts: Embedder.embed on all in one call
    facts_rung_s: float = 0.0  # Memory.remember_many
    facts_one_by_one_s: float = 0.0  # one Memory.remember per fact

    @property
    def share(self) -> float:
        """Rung's rate as a share of the embedder's (same chunks, so a ratio of times)."""
        return self.one_call_s / self.rung_s


def embed(embedder: Embedder, batches: list[list[str]]) -> float:
    """Seconds to embed each batch with one call."""
    started = time.perf_counter()
    for texts in batches:
        vectors = embedder.embed(texts)
        if vectors.shape[0] != len(texts):
            raise SystemExit(f"bench: {vectors.shape[0]} vectors for {len(texts)} texts")
    return time.perf_counter() - started


def ingest(memory: Memory, folder: Path, chunks: int, stages: dict[str, float]) -> float:
    """Seconds to add every file in `folder` (all new) to `memory`; checks what was stored."""
    before = (memory.index.count(), memory.store.count("documents"))
    ingester = memory.ingester()
    owners = {"embedder": memory.embedder, "store": memory.store, "index": memory.index}
    with ExitStack() as timers:
        for owner, method, label in STAGES:
            timers.enter_context(timing(owners[owner], method, stages, label))
        started = time.perf_counter()
        done = list(ingester.add(ingester.plan([folder])))
        elapsed = time.perf_counter() - started
    failed = [f"{d.path.name}: {d.outcome} {d.reason}" for d in done if d.outcome != "added"]
    if failed:
        raise SystemExit("bench: files not added: " + "; ".join(failed))
    after = (memory.index.count(), memory.store.count("documents"))
    stored = (sum(d.chunks for d in done), after[0] - before[0], after[1] - before[1])
    if stored != (chunks, chunks, chunks):
        raise SystemExit(f"bench: expected {chunks} chunks; reported, indexed, stored: {stored}")
    stages[REST] += elapsed - sum(stages[label] for _, _, label in STAGES)
    return elapsed


def conversation(round: int) -> list[ConversationTurn]:
    """The first TURNS turns of the conversations set, under session ids of this round."""
    from bench.recall_sets import conversations

    items = conversations.build().items[:TURNS]
    return [ConversationTurn(f"r{round}{i.session}", i.turn, i.title, i.at, i.text) for i in items]


def embedded(turn: ConversationTurn, config: MemoryConfig) -> list[str]:
    """What the Ingester embeds for a turn: its chunks, each with the session's title."""
    document = Document(Path(turn.source), turn.title, turn.text, "text")
    chunks = chunk_document(document, config.chunk_size, config.chunk_overlap)
    return [embed_text(turn.title, c) for c in chunks]


def add_turns(
    memory: Memory, turns: list[ConversationTurn], one_by_one: bool, stages: Stages | None = None
) -> float:
    """Seconds to store `turns` (all new): through add_turns, or one put per turn; the time
    in Embedder.embed is added to `stages` (under EMBEDDED)."""
    before = memory.index.count("conversations")
    with timing(memory.embedder, "embed", stages if stages is not None else Stages(), EMBEDDED):
        started = time.perf_counter()
        stored(memory, turns, one_by_one)
        elapsed = time.perf_counter() - started
    if memory.index.count("conversations") - before != len(turns):
        raise SystemExit("bench: not every turn was stored")
    return elapsed


def stored(memory: Memory, turns: list[ConversationTurn], one_by_one: bool) -> None:
    if one_by_one:
        ingester = memory.ingester()
        for t in turns:
            document = Document(Path(t.source), t.title, t.text, "text")
            meta = {"session": t.session_id, "turn": t.turn}
            ingester.put("conversations", t.source, document, t.at, meta)
    else:
        memory.add_turns(turns)


def facts(round: int) -> list[str]:
    """FACTS short statements about a user, new each round (a fact replaces none of them)."""
    rng = random.Random(SEED + round)
    return [
        f"{rng.choice(NAMES)}'s {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} is "
        f"{rng.choice(STATES)} since {rng.choice(MONTHS)} {2000 + round}, note {round}-{n}"
        for n in range(FACTS)
    ]


def remember(memory: Memory, texts: list[str], one_by_one: bool) -> float:
    """Seconds to store the facts `texts`: in one remember_many, or one remember each."""
    before = len(memory.facts(current_only=False))
    started = time.perf_counter()
    if one_by_one:
        for text in texts:
            memory.remember(text)
    else:
        memory.remember_many(texts)
    elapsed = time.perf_counter() - started
    if len(memory.facts(current_only=False)) - before != len(texts):
        raise SystemExit("bench: not every fact was stored")
    return elapsed


def measure(files: int, rounds: int) -> tuple[list[Round], int, int]:
    """Rounds over one corpus (the two embedder passes and Rung); its files and chunks.

    Each round Rung adds a fresh copy of the corpus (new paths, so nothing is skipped) to one
    memory that grows round by round, as a user's does; the copy is made before the clock.
    """
    embedder = Embedder.shared()
    with tempfile.TemporaryDirectory(prefix="rung-bench-ingest-") as tmp:
        corpus = Path(tmp, "corpus")
        config = MemoryConfig(folder=Path(tmp, "memory"))
        per_file = chunk_texts(write_corpus(corpus, files), config)
        texts = [t for file_texts in per_file for t in file_texts]
        with Memory(config, embedder) as memory:
            # warm-up: the model loads; torch, Chroma and SQLite make their first calls
            embed(embedder, [texts])
            ingest(memory, shutil.copytree(corpus, Path(tmp, "warm-up")), len(texts), Stages())
            add_turns(memory, conversation(-1), one_by_one=False)
            remember(memory, facts(-1), one_by_one=False)
            results = []
            for i in range(rounds):  # the order rotates, so drift hits every step alike
                result = Round()
                folder = shutil.copytree(corpus, Path(tmp, f"round-{i}"))
                turns, others = conversation(2 * i), conversation(2 * i + 1)
                turn_texts = [text for t in turns for text in embedded(t, config)]
                steps = ["one call", "per file", "rung", "turns", "add_turns", "one by one"]
                steps += ["facts", "remember_many", "remember"]
                said, other = facts(2 * i), facts(2 * i + 1)
                for step in steps[i % len(steps) :] + steps[: i % len(steps)]:
                    if step == "one call":
                        result.one_call_s = embed(embedder, [texts])
                    elif step == "per file":
                        result.per_file_s = embed(embedder, per_file)
                    elif step == "rung":
                        result.rung_s = ingest(memory, folder, len(texts), result.stages_s)
                    elif step == "turns":
                        result.turns_embed_s = embed(embedder, [turn_texts])
                    elif step == "add_turns":
                        inside = Stages()
                        result.turns_rung_s = add_turns(memory, turns, False, inside)
                        result.turns_rung_embed_s = inside[EMBEDDED]
                    elif step == "one by one":
                        result.turns_one_by_one_s = add_turns(memory, others, one_by_one=True)
                    elif step == "facts":
                        result.facts_embed_s = embed(embedder, [said])
                    elif step == "remember_many":
                        result.facts_rung_s = remember(memory, said, one_by_one=False)
                    else:
                        result.facts_one_by_one_s = remember(memory, other, one_by_one=True)
                results.append(result)
    return results, files, len(texts)


# -- the report -----------------------------------------------------------------------------


def report(rounds: list[Round], files: int, chunks: int) -> Report:
    one_call_s = median([r.one_call_s for r in rounds])
    per_file_s = median([r.per_file_s for r in rounds])
    rung_s = median([r.rung_s for r in rounds])
    shares = [r.share * 100 for r in rounds]
    per_file_shares = [r.one_call_s / r.per_file_s * 100 for r in rounds]
    result = Report(
        name="memory_ingest",
        title=(
            f"Memory ingestion: {files} generated files, {chunks} chunks "
            f"({MemoryConfig.chunk_size} characters, {MemoryConfig.chunk_overlap} overlap), "
            f"{len(rounds)} rounds, order rotated; medians of the rounds"
        ),
        columns=["what", "seconds", "chunks/s", "vs baseline (paired)", "share of Rung's time"],
    )
    result.rows = [
        [
            "Embedder.embed, all chunks in one call (baseline)",
            f"{one_call_s:.2f}",
            f"{chunks / one_call_s:.1f}",
            "(baseline)",
            "",
        ],
        [
            f"Embedder.embed, one call per file ({files} calls)",
            f"{per_file_s:.2f}",
            f"{chunks / per_file_s:.1f}",
            f"{median(per_file_shares):.1f} %",
            "",
        ],
        [
            "Rung: Ingester.plan + Ingester.add",
            f"{rung_s:.2f}",
            f"{chunks / rung_s:.1f}",
            f"{median(shares):.1f} %",
            "100 %",
        ],
    ]
    labels = [label for _, _, label in STAGES] + [REST]
    stage_s = {label: median([r.stages_s[label] for r in rounds]) for label in labels}
    for label in labels:
        result.rows.append(
            ["  " + label, f"{stage_s[label]:.2f}", "", "", f"{stage_s[label] / rung_s:.1%}"]
        )
    kinds = {
        "turns": (
            TURNS,
            f"Embedder.embed, {TURNS} conversation turns in one call (baseline)",
            "Rung: Memory.add_turns",
            "  one Ingester.put per turn (how turns were stored before)",
        ),
        "facts": (
            FACTS,
            f"Embedder.embed, {FACTS} facts in one call (baseline)",
            "Rung: Memory.remember_many",
            "  one Memory.remember per fact",
        ),
    }
    kind_shares: dict[str, list[float]] = {}
    for kind, (count, *labels) in kinds.items():
        seconds = [[getattr(r, f"{kind}_{w}_s") for r in rounds] for w in WAYS]
        rows, kind_shares[kind] = paired(count, seconds, labels)
        if kind == "turns":  # where add_turns' time goes, within each call (no drift)
            inside = median([r.turns_rung_embed_s / r.turns_rung_s * 100 for r in rounds])
            embedding = median([r.turns_rung_embed_s for r in rounds])
            label = "  in Embedder.embed, inside add_turns"
            rows.insert(2, [label, f"{embedding:.2f}", "", "", f"{inside:.1f}%"])
            result.notes.append(
                f"Inside Memory.add_turns the embedder takes {inside:.1f} % of the time, "
                "measured within each call: the rest (SQLite, Chroma, chunking) is Rung's own "
                "work; the paired share also holds the machine's drift between two runs"
            )
        result.rows += rows
    result.notes.append(
        f"Rung's share of the embedder's rate, per round: {min(shares):.0f} % to "
        f"{max(shares):.0f} % (this machine's speed drifts; each round's three runs are "
        "compared with each other)"
    )
    result.targets = [
        Target(
            "Rung's rate below the embedder's own, median of rounds",
            round(100 - median(shares), 1),
            SHORTFALL_TARGET,
            "%",
        ),
        Target(
            "Memory.add_turns' rate below the embedder's own, median of rounds",
            round(100 - median(kind_shares["turns"]), 1),
            SHORTFALL_TARGET,
            "%",
        ),
        Target(
            "Memory.remember_many's rate below the embedder's own, median of rounds",
            round(100 - median(kind_shares["facts"]), 1),
            SHORTFALL_TARGET,
            "%",
        ),
    ]
    result.data = {
        "files": files,
        "chunks": chunks,
        "chunk_size": MemoryConfig.chunk_size,
        "chunk_overlap": MemoryConfig.chunk_overlap,
        "rounds": len(rounds),
        "chunks_per_s": {
            "embedder_one_call": chunks / one_call_s,
            "embedder_per_file": chunks / per_file_s,
            "rung": chunks / rung_s,
        },
        "rung_share_of_embedder_rate": {"median": median(shares) / 100, "rounds": shares},
        "seconds": {
            "embedder_one_call": [r.one_call_s for r in rounds],
            "embedder_per_file": [r.per_file_s for r in rounds],
            "rung": [r.rung_s for r in rounds],
        },
        "rung_stages_s": {label: [r.stages_s[label] for r in rounds] for label in labels},
        **{
            kind: {
                "count": count,
                "per_s": {
                    w: count / median([getattr(r, f"{kind}_{w}_s") for r in rounds]) for w in WAYS
                },
                "rung_share_of_embedder_rate": median(kind_shares[kind]) / 100,
            }
            for kind, (count, *_) in kinds.items()
        },
        "turns_embedder_seconds_inside_add_turns": [r.turns_rung_embed_s for r in rounds],
    }
    return result


def paired(
    count: int, seconds: list[list[float]], labels: Sequence[str]
) -> tuple[list[list[str]], list[float]]:
    """Table rows for the bare embedder, Rung and the old way (`seconds`: per round, for
    `count` items, in that order), and Rung's share of the embedder's rate per round (%)."""
    baseline = seconds[0]
    shares = [[b / s * 100 for b, s in zip(baseline, way, strict=True)] for way in seconds]
    rows = []
    for n, (label, way) in enumerate(zip(labels, seconds, strict=True)):
        s = median(way)
        shown = "(baseline)" if n == 0 else f"{median(shares[n]):.1f} %"
        rows.append([label, f"{s:.2f}", f"{count / s:.1f}", shown, ""])
    return rows, shares[1]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Chunks per second through Rung's ingestion against the bare embedder.", argv)
    files, rounds = (4, 3) if args.quick else (8, 9)
    return publish(lambda: report(*measure(files, rounds)))


if __name__ == "__main__":
    sys.exit(main())
