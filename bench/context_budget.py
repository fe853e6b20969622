"""A 200-turn conversation stays inside the window, and nothing planted in it is lost.

The assistant tier (a real memory in a temp folder, the real embedding model, the real
session store) with a scripted model double whose answers are long, at num_ctx 4096. Every
tenth turn the user states a fact about themselves ("my locker code is 7731"). Compaction
has to run again and again; reported: how many compactions, the history's tokens they
saved (before minus after, summed), the largest prompt sent against the window, and, at
the end, for every planted fact, whether asking for it brings it into the prompt (from
memory: the facts in the system message or the recalled memories). The baseline in the
same run is the same conversation without compaction (history simply cut to fit, Rung's
old policy): how many planted facts the last prompt still holds.

    python -m bench.context_budget [--quick]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common import Report, Target, parse_args, publish
from rung.agent.context import estimate_tokens
from rung.agent.conversation import Conversation
from rung.agent.messages import Notice
from rung.agent.prompt import system_parts
from rung.agent.recall import Recall
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.agent.tiers import ASSISTANT
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig

NUM_CTX = 4096
PLANTED = [
    ("My locker code is 7731", "what is my locker code?", "7731"),
    ("My sister Ines lives in Porto", "where does my sister live?", "Porto"),
    ("I am allergic to penicillin", "what medicine am I allergic to?", "penicillin"),
    ("My car is a blue Renault Zoe", "what car do I drive?", "Renault"),
    ("I work at the Lyon central library", "where do I work?", "library"),
    ("My wifi password is correct-horse-42", "what is the wifi password?", "correct-horse-42"),
    ("My daughter's school is Ecole Jaures", "which school does my daughter go to?", "Jaures"),
    ("I moved to Lyon in March 2021", "when did I move to Lyon?", "2021"),
    ("My dentist is Dr Moreau", "who is my dentist?", "Moreau"),
    ("My running goal is a half marathon in May", "what is my running goal?", "marathon"),
]
FILLER = "Explain another detail of the history of bicycles, please. "


async def converse(memory: Memory, folder: Path, turns: int, *, compact: bool) -> dict[str, object]:
    sessions = SessionStore(folder / f"sessions-{compact}.sqlite3")
    recall = Recall(memory, sessions, passages=2)
    answers = ["The draisine of 1817 had no pedals; riders pushed with their feet. " * 12]
    model = ScriptedModel(*answers * (turns * 2 + len(PLANTED) + 10))
    conversation = Conversation(
        model,
        num_ctx=NUM_CTX,
        tier="assistant",
        store=sessions,
        recall=recall if compact else None,
        system=lambda: system_parts(ASSISTANT, facts=recall.known_facts() if compact else ()),
        compact_at=0.8 if compact else None,
    )
    notes: list[str] = []
    planted = iter(PLANTED)
    for n in range(turns):
        fact = next(planted, None) if n % (turns // len(PLANTED)) == 0 else None
        text = f"By the way, {fact[0][0].lower()}{fact[0][1:]}." if fact else FILLER + str(n)
        async for event in conversation.send(text):
            if isinstance(event, Notice) and event.text.startswith("Compacted"):
                notes.append(event.text)
    largest = max(estimate_tokens(s.messages) for s in model.sent)
    found, missing = 0, []
    for fact, question, answer in PLANTED:
        async for _ in conversation.send(question):
            pass
        if any(answer in m.content for m in model.sent[-1].messages):
            found += 1
        else:
            missing.append(fact)
    recall.close()
    sessions.close()
    history = estimate_tokens(conversation.history)
    saved = sum(before - after for before, after in conversation.compactions)
    return {"compactions": len(conversation.compactions), "tokens_saved": saved,
            "largest_prompt": largest, "found": found, "history_at_end": history,
            "missing": missing, "notes": notes[:3]}  # fmt: skip


def measure(quick: bool) -> dict[str, dict[str, object]]:
    turns = 60 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {}
        for compact in (True, False):
            with Memory(MemoryConfig(folder=folder / f"memory-{compact}"), Embedder()) as memory:
                results["rung" if compact else "baseline"] = asyncio.run(
                    converse(memory, folder, turns, compact=compact)
                )
        results["turns"] = {"count": turns}
        return results


def report(results: dict[str, dict[str, object]]) -> Report:
    rung, base = results["rung"], results["baseline"]
    turns = results["turns"]["count"]
    result = Report(
        "context_budget",
        f"{turns} turns at num_ctx {NUM_CTX}, {len(PLANTED)} facts planted along the way",
        ["", "Rung (compaction)", "baseline (oldest turns cut)"],
    )
    result.rows += [
        ["compactions", str(rung["compactions"]), "0"],
        ["history tokens saved by compaction (estimated)", str(rung["tokens_saved"]), "0"],
        ["largest prompt sent (estimated tokens)", str(rung["largest_prompt"]),
         str(base["largest_prompt"])],
        ["planted facts brought back when asked", f"{rung['found']} of {len(PLANTED)}",
         f"{base['found']} of {len(PLANTED)}"],
    ]  # fmt: skip
    lost = len(PLANTED) - int(str(rung["found"]))
    result.targets.append(Target("planted facts lost", lost, 1, ""))
    share = round(100 * int(str(rung["largest_prompt"])) / NUM_CTX, 1)
    result.targets.append(Target("largest prompt as a share of num_ctx", share, 100, "%"))
    result.notes += [str(n) for n in rung["notes"]]  # type: ignore[attr-defined]
    result.data = results
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    return publish(lambda: report(measure(args.quick)))


if __name__ == "__main__":
    sys.exit(main())
