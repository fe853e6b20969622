"""The assistant's memory in a conversation: finished turns go in, memories come back.

`Recall.record()` copies the finished turns of every stored session into the conversations
memory (those missing; turns of deleted sessions are forgotten), so "what did we decide
last week?" can be answered. It runs in the background after each turn, and its first run
catches up on turns from tiers that never load the memory. `Recall.recall(text)` finds the
facts and passages most relevant to the user's message, numbered so the answer can cite
them as [m1]; they ride with that message, after the history (see `prompt`). A memory must
clear a bar to be recalled: a similarity of MIN_SIMILARITY, and, for a past turn, not being
small talk (`memory/small_talk.py`), so the filler of old chats never reaches the prompt.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from rung.agent.messages import RecalledMemory
from rung.agent.sessions import SessionStore, StoredTurn
from rung.config.settings import Settings
from rung.memory.embedder import Embedder
from rung.memory.search import Hit
from rung.memory.service import CONVERSATIONS, ConversationTurn, Memory, session_of, turn_source
from rung.memory.small_talk import is_small_talk

log = logging.getLogger(__name__)

MIN_SIMILARITY = 0.3  # below this a memory is more likely noise than help (all-MiniLM-L6-v2)
SUMMARY_TURN = -1  # the turn number of a session's latest compaction summary in memory
RECORD_BATCH = 64  # turns put into memory at a time, under the lock a recall waits for
CATCH_UP_WAIT_S = 5.0  # the first recall waits this long for past turns to go in


class Recall:
    def __init__(
        self,
        memory: Memory,
        sessions: SessionStore | None,
        *,
        passages: int = 4,
        facts: int = 5,
    ) -> None:
        self.memory = memory
        self.sessions = sessions
        self.passages = passages
        self.facts = facts
        self._stop = threading.Event()
        self._caught_up = threading.Event()  # the first record() is done
        self._recording = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False

    @classmethod
    def open(cls, settings: Settings, folder: Path, sessions: SessionStore | None) -> Recall:
        """Share this process's memory (nothing loads until `start()` or the first recall)."""
        memory = Memory.shared(settings, folder, Embedder.shared(settings.embedding_model))
        return cls(memory, sessions, passages=settings.recall_passages, facts=settings.recall_facts)

    def start(self) -> None:
        """Load the embedding model and catch up on past turns, in the background."""
        self.memory.embedder.warm()
        self.record_soon()

    # -- memories into a turn ----------------------------------------------------------

    def recall(self, text: str, session_id: str | None = None) -> tuple[RecalledMemory, ...]:
        """The facts and passages most relevant to `text` (not from session `session_id`,
        whose turns are in the history already)."""
        if self._thread is not None:
            self._caught_up.wait(CATCH_UP_WAIT_S)  # a long catch-up goes on meanwhile
        if not self.facts and not self.passages:
            return ()
        with self.memory.lock:
            vector = self.memory.query_vector(text)  # once, for facts and passages
            facts = self.memory.recall_facts(text, self.facts, vector=vector) if self.facts else []
            hits = (
                self.memory.search(text, limit=self.passages + 4, vector=vector)
                if self.passages
                else []
            )
            names = self.memory.common_names(" ".join(h.chunk.text for h in hits))
        found: list[RecalledMemory] = []
        for fact, similarity in facts:
            if similarity >= MIN_SIMILARITY:
                tag = f"m{len(found) + 1}"
                when, why = fact.created_at[:10], f"meaning {similarity:.2f}"
                found.append(RecalledMemory(tag, "fact", fact.id, when, fact.text, fact.id, why))
        passages = [h for h in hits if _relevant(h, names) and not self._current(h, session_id)]
        for hit in passages[: self.passages]:
            found.append(_passage(f"m{len(found) + 1}", hit))
        return tuple(found)

    @staticmethod
    def _current(hit: Hit, session_id: str | None) -> bool:
        """A turn of the session in progress (documents have no session)."""
        return session_id is not None and session_of(hit.chunk.source) == session_id

    def known_facts(self) -> list[str]:
        """The current facts about the user, oldest first (for the system prompt)."""
        with self.memory.lock:
            return [f.text for f in self.memory.facts()]

    def keep(self, facts: Sequence[str], summary: str, session_id: str, when: float) -> int:
        """Before a compaction: the user's statements as facts, and the summary into the
        conversations memory (as the session's summary). How many facts were new."""
        with self.memory.lock:
            known = {f.text for f in self.memory.facts()}
            new = list(dict.fromkeys(f for f in facts if f.strip() and f not in known))
            if new:
                self.memory.remember_many(new, source="compaction")
            turn = ConversationTurn(session_id, SUMMARY_TURN, "summary", when, summary)
            self.memory.add_turns([turn])
        return len(new)

    # -- turns into memory -------------------------------------------------------------

    def record_soon(self) -> None:
        """Start `record()` in the background (or once more after the one running)."""
        if self.sessions is None:
            return
        with self._recording:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(target=self._record_loop, name="rung-record")
            self._thread.start()

    def _record_loop(self) -> None:
        while True:
            try:
                self.record()
            except Exception:  # the next turn tries again; the sessions keep every turn
                log.warning("could not put the finished turns into memory", exc_info=True)
            self._caught_up.set()
            with self._recording:
                if not self._again or self._stop.is_set():
                    self._thread = None
                    return
                self._again = False

    def record(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Put every stored turn that memory lacks into it; how many went in.

        `progress(done, total)` is called after each batch of turns.
        """
        if self.sessions is None:
            return 0
        stored = {turn_source(s, t): (s, t) for s, t in self.sessions.turn_keys()}
        with self.memory.lock:
            known = self.memory.turns_known()
            forgotten = self.memory.turns_forgotten()
            sessions = {s for s, _ in stored.values()}
            gone = {
                s
                for s in known - stored.keys()
                if not (s.endswith(f"#{SUMMARY_TURN}") and session_of(s) in sessions)
            }
            if gone:
                self.memory.forget_turns(gone)
        missing = sorted(
            key
            for source, key in stored.items()
            if source not in known and self.memory.wants_turn(*key, forgotten)
        )
        turns = [as_memory(turn) for turn in self.sessions.turns(missing)]
        added = 0
        for start in range(0, len(turns), RECORD_BATCH):
            if self._stop.is_set():
                break
            with self.memory.lock:  # a batch at a time: a chat's recall waits at most one
                added += len(self.memory.add_turns(turns[start : start + RECORD_BATCH]))
            if progress is not None:
                progress(added, len(missing))
        return added

    def close(self, wait: float = 5.0) -> None:
        """Give recording `wait` seconds to finish, then stop it (what is in stays in; the
        rest goes in next time) and let go of the memory."""
        thread = self._thread
        if thread is not None:
            thread.join(wait)
            self._stop.set()
            thread.join()  # it stops before its next turn
        self.memory.release()


def as_memory(turn: StoredTurn) -> ConversationTurn:
    """A stored turn as the conversations memory keeps it: what was asked and answered."""
    lines = []
    for m in turn.messages:
        if m.role == "user":
            lines.append(f"User: {m.content.strip()}")
        elif m.role == "assistant" and m.tool_calls:
            lines.append("Assistant used " + ", ".join(c.name for c in m.tool_calls) + ".")
        elif m.role == "assistant" and m.content.strip():
            stopped = " (stopped by the user)" if m.interrupted else ""
            lines.append(f"Assistant{stopped}: {m.content.strip()}")
    return ConversationTurn(
        turn.session_id, turn.turn, turn.title, turn.ended_at.timestamp(), "\n".join(lines)
    )


def _relevant(hit: Hit, names: set[str]) -> bool:
    """Close enough in meaning, and, for a past turn, not small talk (the filler of a chat,
    which sits near any question of the same mood)."""
    if (hit.similarity or 0.0) < MIN_SIMILARITY:
        return False
    return hit.chunk.collection != CONVERSATIONS or not is_small_talk(hit.chunk.text, names)


def _passage(tag: str, hit: Hit) -> RecalledMemory:
    chunk = hit.chunk
    mtime = chunk.meta.get("mtime")
    when = (
        datetime.fromtimestamp(float(mtime)).strftime("%Y-%m-%d")  # the user's day: local
        if isinstance(mtime, int | float)
        else "?"
    )
    if chunk.collection == CONVERSATIONS:
        title = str(chunk.meta.get("title", ""))
        return RecalledMemory(tag, "conversation", title, when, chunk.text, chunk.id, hit.why)
    where = " › ".join([chunk.source, *chunk.meta.get("headings", [])])
    return RecalledMemory(tag, "document", where, when, chunk.text, chunk.id, hit.why)
