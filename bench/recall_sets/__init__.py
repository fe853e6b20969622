"""Labelled retrieval sets for `bench/memory_recall`: what to store, what to ask, and which
stored items answer each question.

Each set is built by a module of this package with a `build() -> LabelledSet` function,
deterministically (no randomness without a fixed seed, no network, nothing read but files
that ship on this machine):

- `notes`: 56 short personal notes with part numbers, invoices, people, bookings (the
  original set);
- `conversations`: long dated chat sessions between two named people, with questions
  labelled by the turns that answer them;
- `documents`: real public documentation that ships with Python (the language reference
  topics of `pydoc_data`), chunked like any document, with questions labelled by the topic
  and a quote of the answering passage.

A question is answered at rank r when the r-th hit holds one of its evidence items (for a
chunked document: a chunk of that item that contains the quote).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Item:
    """One thing to store: a document (a file's text) or one conversation turn."""

    id: str  # unique in its set; a turn's is "session:<session>#<turn>"
    text: str
    title: str = ""
    session: str = ""  # conversations: the session's id
    turn: int = 0  # conversations: the turn's index in its session (0, 1, …)
    at: float = 0.0  # conversations: Unix time the turn was said
    speaker: str = ""  # conversations: who said it
    role: str = ""  # conversations: "fact" (evidence of a question), "chatter" or "filler"


@dataclass(frozen=True)
class Evidence:
    item: str  # an Item.id
    quote: str = ""  # documents: words of the answering passage, verbatim (one line)


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # e.g. "single-hop", "multi-hop", "temporal", "preference", "paraphrase"
    evidence: tuple[Evidence, ...]  # every item needed; any one in the top 5 is a hit


@dataclass(frozen=True)
class LabelledSet:
    name: str
    store: Literal["documents", "conversations"]  # which memory collection the items go to
    items: list[Item] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)
    about: str = ""  # one line: what the set is and where it comes from
    asked_at: float = 0.0  # Unix time the questions are asked ("in May": of which year); 0: now
