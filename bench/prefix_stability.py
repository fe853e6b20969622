"""How much of each turn's prompt is an exact prefix of the next turn's (Ollama's cache).

A scripted 20-turn conversation in the assistant tier, with recall on (a real memory in a
temp folder, the real embedding model, some facts and documents to recall) and the model
a scripted test double. Each request is rendered the way a ChatML template lays it out
(tools into the system part, then the messages); for each turn, the share of its tokens
(Rung's estimate, 3.5 characters a token) that the next turn's prompt repeats byte for byte
from the start is what Ollama can take from its KV cache. The baseline, measured in the
same run: the same conversation with the recalled memories and the time put into the
system message (a common layout), where every turn's change sits at the very start.

    python -m bench.prefix_stability [--quick]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from bench.common import Report, Target, median, parse_args, publish
from rung.agent.context import CHARS_PER_TOKEN
from rung.agent.conversation import Conversation
from rung.agent.messages import Message, ToolSpec
from rung.agent.prompt import system_parts, typed_text
from rung.agent.recall import Recall
from rung.agent.sessions import SessionStore
from rung.agent.testing import ScriptedModel
from rung.agent.tiers import ASSISTANT
from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig

TURNS = 20
QUESTIONS = [
    "What should I cook tonight with leeks and potatoes?",
    "Remind me what my manager's name is.",
    "How do I keep aphids off the tomatoes?",
    "When is the dentist appointment?",
    "What tyre pressure does my bike need?",
]
FACTS = ["My manager is Ana Duarte", "I live in Lyon", "I am vegetarian", "My bike is a Brompton"]
NOTES = {
    "garden.md": "# Garden\n\nTomatoes need full sun. Marigolds keep aphids away.",
    "bike.md": "# Bike\n\nOil the chain every 300 km. Tyre pressure: 4.5 bar.",
    "soup.md": "# Leek soup\n\nSweat the leeks in butter, add stock and potatoes, simmer.",
    "dentist.md": "# Dentist\n\nCheck-up on 3 December at 09:00 with Dr Moreau.",
}


def render(messages: Sequence[Message], tools: Sequence[ToolSpec] | None) -> str:
    """A request as a ChatML template lays it out (Qwen's, with tools in the system part)."""
    parts = []
    for n, m in enumerate(messages):
        content = m.content
        if n == 0 and m.role == "system" and tools:
            content += "\n\n# Tools\n" + "\n".join(json.dumps(t.to_ollama()) for t in tools)
        parts.append(f"<|im_start|>{m.role}\n{content}<|im_end|>\n")
    return "".join(parts) + "<|im_start|>assistant\n"


def common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


async def run(memory: Memory, folder: Path, turns: int, *, rung_layout: bool) -> list[float]:
    """Per turn: the share of its prompt that the next prompt repeats from the start."""
    sessions = SessionStore(folder / f"sessions-{rung_layout}.sqlite3")
    recall = Recall(memory, sessions)
    model = ScriptedModel(*[f"Answer {n}: " + "some helpful words " * 30 for n in range(turns)])
    tools = [ToolSpec("now", "The current time.", {"type": "object", "properties": {}})]

    def system() -> dict[str, str]:
        return system_parts(ASSISTANT, facts=recall.known_facts())

    conversation = Conversation(
        model,
        num_ctx=32768,
        tier="assistant",
        store=sessions,
        recall=recall,
        system=system,
        clock=lambda: time_at(len(model.sent)),
    )
    for n in range(turns):
        async for _ in conversation.send(QUESTIONS[n % len(QUESTIONS)]):
            pass
    recall.close()
    sessions.close()
    prompts = [render(layout(s.messages, rung_layout), tools) for s in model.sent]
    return [common_prefix(a, b) / len(a) for a, b in itertools.pairwise(prompts)]


def layout(messages: list[Message], rung_layout: bool) -> list[Message]:
    """Rung's layout as sent, or the baseline: the last message's time and memories moved
    into the system message (the history keeps the plain questions)."""
    if rung_layout:
        return messages
    last = messages[-1].content
    question = typed_text(last)
    head = last[: len(last) - len(question)].strip()
    system = Message("system", messages[0].content + ("\n\n" + head if head else ""))
    history = [_plain(m) for m in messages[1:-1]]
    return [system, *history, Message("user", question)]


def _plain(m: Message) -> Message:
    return Message(m.role, typed_text(m.content)) if m.role == "user" else m


def time_at(n: int) -> datetime:
    return datetime(2026, 11, 25, 9, 0).astimezone() + timedelta(minutes=3 * n)


def measure(quick: bool) -> dict[str, list[float]]:
    turns = 8 if quick else TURNS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in NOTES.items():
            (folder / name).write_text(text)
        with Memory(MemoryConfig(folder=folder / "memory"), Embedder()) as memory:
            list(memory.ingester().add(sorted(folder.glob("*.md"))))
            for fact in FACTS:
                memory.remember(fact)
            return {
                "rung": asyncio.run(run(memory, folder, turns, rung_layout=True)),
                "baseline": asyncio.run(run(memory, folder, turns, rung_layout=False)),
            }


def report(shares: dict[str, list[float]]) -> Report:
    rung, base = shares["rung"], shares["baseline"]
    result = Report(
        "prefix_stability",
        f"Share of each turn's prompt repeated as the next prompt's prefix ({len(rung) + 1} "
        "turns, assistant tier, recall on)",
        ["layout", "median", "mean", "worst"],
    )
    for name, values in (
        ("Rung: time and memories with the message", rung),
        ("baseline: time and memories in the system message", base),
    ):
        mean = sum(values) / len(values)
        result.rows.append([name, f"{median(values):.1%}", f"{mean:.1%}", f"{min(values):.1%}"])
    mean = sum(rung) / len(rung)
    result.targets.append(
        Target("prompt not reused by the next turn", round(100 * (1 - mean), 1), 5, "%")
    )
    result.data = {"rung": rung, "baseline": base, "chars_per_token": CHARS_PER_TOKEN}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    return publish(lambda: report(measure(args.quick)))


if __name__ == "__main__":
    sys.exit(main())
