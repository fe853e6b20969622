"""Facts about the user: short durable statements, and which of them a new one replaces.

"I live in Lyon", then later "I live in Paris now": both say where the user lives, with a
different value, so the new one supersedes the old, which is then no longer recalled (but
kept, with the time it was replaced, for `facts list --all`). Two facts are about the same
thing when their *frames* match — the words left once names, numbers and filler ("now",
"again", "not") are taken out ("i live in", "my manager is") — and their meanings are
close. Anything subtler is the user's (`rung memory facts forget|edit`) or the agent's call.
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass

FILLER = frozenset(
    {"now", "again", "anymore", "any", "more", "since", "still", "currently", "today"}
    | {"actually", "also", "really", "just", "not", "no", "never", "don't", "dont"}
    | {"doesn't", "didn't", "do", "does", "did"}
)
SAME_THING = 0.4  # cosine similarity a replaced fact must also reach


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    source: str  # who said it: "user" (the CLI), "chat", a tool
    created_at: str
    superseded_by: str | None = None
    superseded_at: str | None = None


def new_fact_id() -> str:
    return "fact-" + uuid.uuid4().hex[:12]


@functools.lru_cache(maxsize=4096)  # a batch of facts compares each with all before it
def frame(text: str) -> str:
    """What a fact is about, without its value: `My manager is Ana` -> `my manager is`."""
    words = re.findall(r"[\w']+", text)
    kept = [
        w.lower()
        for n, w in enumerate(words)
        if (n == 0 or not w[0].isupper())
        and not any(c.isdigit() for c in w)
        and w.lower() not in FILLER
    ]
    return " ".join(kept)


def replaces(new: str, old: str, similarity: float) -> bool:
    """Whether `new` says the same thing as `old` about the same subject, so supersedes it."""
    return similarity >= SAME_THING and frame(new) == frame(old) and new.strip() != ""
