"""The conversations memory and search filters: real Chroma, the real embedding model."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from rung.memory.embedder import Embedder
from rung.memory.ingest import CONTEXT_WEIGHT
from rung.memory.service import TURN_CONTEXT, ConversationTurn, Memory, MemoryConfig
from rung.memory.store import HNSW

DAY = 86400.0


def turn(
    session: str, n: int, text: str, at: float, title: str = "Trip planning"
) -> ConversationTurn:
    return ConversationTurn(session, n, title, at, text)


def test_turns_go_in_once_and_are_found_by_meaning_and_date(memory: Memory) -> None:
    now = time.time()
    turns = [
        turn(
            "aaaa1111",
            0,
            "User: where should we go in May?\nAssistant: Lisbon, by train.",
            now - 9 * DAY,
        ),
        turn(
            "aaaa1111",
            1,
            "User: and the budget?\nAssistant: We settled on 1200 euros.",
            now - 9 * DAY,
        ),
        turn(
            "bbbb2222",
            0,
            "User: fix my bike brakes\nAssistant: Adjust the cable tension.",
            now - DAY,
        ),
    ]
    memory.add_turns(turns)  # stored when called, not when a result is read
    assert memory.turns_known() == {t.source for t in turns}
    assert memory.add_turns(turns) == turns  # again: unchanged turns are skipped
    assert memory.index.count("conversations") == 3

    [hit] = memory.search("how much money did we decide to spend", ["conversations"], limit=1)
    assert hit.chunk.source == "session:aaaa1111#1" and "1200 euros" in hit.chunk.text
    assert hit.chunk.meta["session"] == "aaaa1111" and hit.chunk.meta["title"] == "Trip planning"

    recent = memory.search(
        "travel plans and money", ["conversations"], limit=5, since=now - 2 * DAY
    )
    assert {h.chunk.source for h in recent} == {"session:bbbb2222#0"}
    older = memory.search("bike", ["conversations"], limit=5, until=now - 2 * DAY)
    assert {h.chunk.source for h in older} <= {"session:aaaa1111#0", "session:aaaa1111#1"}


def test_a_forgotten_session_stays_out(memory: Memory) -> None:
    now = time.time()
    list(memory.add_turns([turn("cccc3333", 0, "User: my PIN is 4412\nAssistant: ok", now)]))
    list(memory.add_turns([turn("dddd4444", 0, "User: hello\nAssistant: hi", now)]))
    assert memory.forget("session:cccc3333") == 1
    assert memory.turns_known() == {"session:dddd4444#0"}
    forgotten = memory.turns_forgotten()
    assert not memory.wants_turn("cccc3333", 0, forgotten)
    assert not memory.wants_turn("cccc3333", 7, forgotten)  # later turns of it too
    assert memory.wants_turn("dddd4444", 1, forgotten)
    hits = memory.search("PIN 4412", ["conversations"])
    assert [h.chunk.source for h in hits] == ["session:dddd4444#0"]


def test_search_looks_through_documents_and_conversations_together(
    memory: Memory, tmp_path: Path
) -> None:
    doc = tmp_path / "boiler.md"
    doc.write_text("# Boiler\n\nThe boiler service code is BX-5520; call Hugo for repairs.\n")
    list(memory.ingester().add([doc]))
    now = time.time()
    list(
        memory.add_turns(
            [turn("eeee5555", 0, "User: who repairs the boiler?\nAssistant: Hugo.", now)]
        )
    )
    hits = memory.search("boiler repairs", limit=5)
    assert {h.chunk.collection for h in hits} == {"documents", "conversations"}
    assert [h.chunk.collection for h in memory.search("boiler repairs", ["documents"])] == [
        "documents"
    ]


def test_date_filters_use_the_file_time_for_documents(memory: Memory, tmp_path: Path) -> None:
    old, new = tmp_path / "old.md", tmp_path / "new.md"
    old.write_text("# Old note\n\nThe wifi password was hunter2 back then.\n")
    new.write_text("# New note\n\nThe wifi password is now correct-horse.\n")
    ten_days_ago = time.time() - 10 * DAY
    os.utime(old, (ten_days_ago, ten_days_ago))
    list(memory.ingester().add([old, new]))
    recent = memory.search("wifi password", ["documents"], since=time.time() - DAY)
    assert [h.chunk.source for h in recent] == [str(new.resolve())]
    before = memory.search("wifi password", ["documents"], until=time.time() - DAY)
    assert [h.chunk.source for h in before] == [str(old.resolve())]
    # the keyword list obeys the filter too: the old note holds the code, yet stays out
    exact = memory.search("hunter2", ["documents"], since=time.time() - DAY)
    assert [h.chunk.source for h in exact] == [str(new.resolve())]
    assert exact[0].keyword is None


SMALL_TALK = (
    "Hi {other}!",
    "Thanks, {other}!",
    "Haha, true, {other}.",
    "Bye {other}, talk soon!",
    "Pretty good, yeah, {other}.",
    "Ok {other}, sounds good.",
)


def test_names_in_every_turn_do_not_bring_small_talk_before_the_answer(memory: Memory) -> None:
    """Two people whose names are in every turn: a question that names one of them finds
    the turn that answers it, not the short turns that only say the name."""
    now = time.time()
    turns = []
    for n in range(60):
        speaker, other = ("Maren", "Idris") if n % 2 else ("Idris", "Maren")
        text = f"{speaker}: " + SMALL_TALK[n % len(SMALL_TALK)].format(other=other)
        turns.append(turn("cafe0001", n, text, now - DAY + n))
    turns[31] = turn(
        "cafe0001",
        31,
        "Maren: Took Moss to the vet today, Dr Okafor heard a mild heart murmur.",
        now - DAY + 31,
    )
    turns[44] = turn(
        "cafe0001", 44, "Idris: I sold my first bowl at the pottery market!", now - DAY + 44
    )
    memory.add_turns(turns)
    [first, *_] = memory.search("What did Maren's vet find?", ["conversations"], limit=3)
    assert first.chunk.source == "session:cafe0001#31"
    [first, *_] = memory.search("What did Idris sell?", ["conversations"], limit=3)
    assert first.chunk.source == "session:cafe0001#44"


def test_a_turn_given_twice_in_one_call_is_stored_once_as_the_last(memory: Memory) -> None:
    now = time.time()
    first = turn("dada0001", 0, "User: the code is 1111\nAssistant: noted", now)
    second = turn("dada0001", 0, "User: the code is 2222\nAssistant: noted", now)
    memory.add_turns([first, second])
    [chunk] = memory.index.all_chunks("conversations")
    assert "2222" in chunk.text
    assert memory.store.count("conversations") == 1  # no vector of the first left behind


def stored_vectors(memory: Memory) -> dict[str, np.ndarray]:
    """Each conversation turn's vector in the store, by source."""
    found = memory.store.collection("conversations").get(include=["embeddings", "metadatas"])
    return {
        str(meta["source"]): np.asarray(vector)
        for meta, vector in zip(found["metadatas"], found["embeddings"], strict=True)
    }


DOG_CHAT = [
    "Maren: Is the rescue dog living with you yet?",
    "Maren: He came home on Saturday! He bolts under the table when the kettle boils.",
    "Idris: Haha, true.",
]


def test_a_turn_is_embedded_with_the_turn_before_it(memory: Memory, embedder: Embedder) -> None:
    now = time.time()
    title = "Chat with Maren"
    turns = [turn("dog00001", n, text, now, title) for n, text in enumerate(DOG_CHAT)]
    memory.add_turns(turns[:2])  # the third comes later: its context is read from memory
    memory.add_turns(turns[2:])
    vectors = stored_vectors(memory)

    alone = embedder.embed([f"{title}\n\n{text}" for text in DOG_CHAT])
    assert np.allclose(vectors["session:dog00001#0"], alone[0], atol=1e-5)  # nothing before
    for n in (1, 2):
        blended = alone[n] + CONTEXT_WEIGHT * alone[n - 1]
        expected = blended / np.linalg.norm(blended)
        assert np.allclose(vectors[f"session:dog00001#{n}"], expected, atol=1e-5)

    # the answer is found for a question whose subject only the turn before names
    hits = memory.search("when did the dog move in", ["conversations"], limit=2, mode="vector")
    assert "session:dog00001#1" in [h.chunk.source for h in hits]

    # a reindex computes the same vectors from the stored texts
    list(memory.reindex())
    again = stored_vectors(memory)
    assert all(np.allclose(again[s], v, atol=1e-5) for s, v in vectors.items())
    assert memory.reindex_due() == []


def test_a_memory_of_an_older_rung_says_a_reindex_is_due(
    memory: Memory, embedder: Embedder
) -> None:
    now = time.time()
    memory.add_turns(turn("old00001", n, text, now) for n, text in enumerate(DOG_CHAT))
    assert memory.reindex_due() == []
    # as an older Rung left it: turns embedded alone, and a graph built with Chroma's defaults
    memory.index.set_state(TURN_CONTEXT, None)
    client = memory.store.client
    client.get_or_create_collection(
        "documents", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
    )
    due = memory.reindex_due()
    assert due == [
        "the conversation turns were embedded without the turn before them",
        "the vector index of documents was built by an older Rung",
    ]
    list(memory.reindex())
    assert memory.reindex_due() == []
    assert memory.search("when did the dog move in", ["conversations"], limit=3)


def test_an_older_graph_is_searched_with_the_wider_beam(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig(folder=tmp_path / "memory")
    with Memory(config, embedder) as memory:
        memory.store.client.get_or_create_collection(
            "conversations",
            metadata={"embedding_model": config.embedding_model, "dimension": 384},
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
    with Memory(config, embedder) as memory:
        hnsw = memory.store.collection("conversations").configuration_json["hnsw"]
        assert hnsw["ef_search"] == HNSW["ef_search"]  # raised when opened
        assert hnsw["ef_construction"] == 100  # only a reindex builds it again
        assert memory.store.outdated() == ["conversations"]


def test_a_time_the_question_names_favours_the_turns_of_that_time(memory: Memory) -> None:
    march = datetime(2025, 3, 12, 18).timestamp()
    may = datetime(2025, 5, 20, 18).timestamp()
    memory.add_turns(
        [
            turn("flat0001", 0, "User: We decided to rent the flat in Leith.", march),
            turn("flat0002", 0, "User: We decided to buy the flat in Portobello.", may),
        ]
    )
    now = datetime(2025, 9, 29)
    for month, source in (("March", "session:flat0001#0"), ("May", "session:flat0002#0")):
        question = f"What did we decide about the flat in {month}?"
        hits = memory.search(question, ["conversations"], limit=2, now=now)
        assert hits[0].chunk.source == source, question
        assert hits[0].why.endswith(" + the time asked") and not hits[1].then
    # an explicit filter stays exact: nothing outside it, whatever the words say
    hits = memory.search(
        "What did we decide in May?", ["conversations"], limit=5, until=march + DAY, now=now
    )
    assert [h.chunk.source for h in hits] == ["session:flat0001#0"]
