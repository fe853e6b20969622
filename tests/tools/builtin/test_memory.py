"""The memory server, through a real in-process MCP client, over a memory in tmp_path."""

from __future__ import annotations

from pathlib import Path

from rung.tools.builtin import memory
from tests.tools.builtin.helpers import ok, refused


async def test_remember_search_and_forget(tmp_path: Path) -> None:
    server = memory.create({"folder": str(tmp_path / "memory")})
    assert "Remembered (fact-" in await ok(server, "remember", fact="I live in Lyon")
    moved = await ok(server, "remember", fact="I live in Paris now")
    assert "It replaces (fact-" in moved and "I live in Lyon" in moved
    found = await ok(server, "search_memory", query="where does the user live?")
    assert "I live in Paris now" in found and "Lyon" not in found
    fact_id = found.split("[fact ")[1].split("]")[0]
    assert await ok(server, "forget", what=fact_id) == "Forgot the fact: I live in Paris now"
    assert await ok(server, "search_memory", query="where") == "Nothing in memory matches that."
    assert "nothing in memory is called" in await refused(server, "forget", what="/nope")
    assert "the fact is empty" in await refused(server, "remember", fact="  ")


def test_only_search_is_read_only() -> None:
    assert frozenset({"search_memory"}) == memory.READ_ONLY
