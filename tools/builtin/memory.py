"""The memory server: the agent searches, adds to and prunes Rung's memory on purpose.

`search_memory` looks through the user's documents (hybrid: meaning and exact words) and
the facts Rung knows about them; `remember` stores a fact (a newer one about the same thing
replaces the older); `forget` removes a fact, a document or a chunk. The memory is opened
on the first call, so a chat that never uses it never loads the embedding model, and it is
held by this process from then on (one process at a time may use the memory; within it,
the chat's recall and these tools share one `Memory.shared`).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import load_settings
from rung.memory.embedder import Embedder
from rung.memory.service import Memory
from rung.tools.builtin import Options, new_server, parse_options, serve

NAME = "memory"
READ_ONLY: frozenset[str] = frozenset({"search_memory"})


class MemoryOptions(Options):
    folder: str | None = None  # default: the data dir's memory folder


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a memory server over the memory in `folder` (default: the user's)."""
    settings = parse_options(MemoryOptions, NAME, options)
    tools = MemoryTools(Path(settings.folder) if settings.folder else None)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[None]:
        try:
            yield
        finally:
            tools.close()  # the memory is free for another process again

    server = new_server(
        NAME,
        "The user's memory: their documents, past conversations and facts about them.",
        lifespan,
    )
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
    server.add_tool(tools.search_memory, annotations=reads, structured_output=False)
    server.add_tool(tools.remember, annotations=writes, structured_output=False)
    server.add_tool(tools.forget, annotations=writes, structured_output=False)
    return server


class MemoryTools:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self._memory: Memory | None = None
        self._embedder: Embedder | None = None  # kept across connections: it loads slowly
        self._lock = threading.Lock()  # guards opening and closing

    async def search_memory(
        self,
        query: Annotated[str, Field(description="What to look for, in a few words")],
        limit: Annotated[int, Field(ge=1, le=20, description="How many passages")] = 5,
    ) -> str:
        """Search the user's documents, past conversations and the facts known about them."""
        return await self._run(lambda m: _search(m, query, limit))

    async def remember(
        self,
        fact: Annotated[str, Field(description="One short statement, e.g. 'I live in Lyon'")],
    ) -> str:
        """Remember a fact about the user for later conversations."""
        return await self._run(lambda m: _remember(m, fact))

    async def forget(
        self,
        what: Annotated[str, Field(description="A fact id (fact-…), a document path or chunk id")],
    ) -> str:
        """Forget a fact, a document or a passage."""
        return await self._run(lambda m: _forget(m, what))

    def close(self) -> None:
        with self._lock:
            if self._memory is not None:
                self._memory.release()
                self._memory = None

    async def _run(self, work: Any) -> str:
        def locked() -> str:
            memory = self._open()
            with memory.lock:  # shared with the chat's recall: one operation at a time
                return str(work(memory))

        try:
            return await asyncio.to_thread(locked)
        except RungError as exc:
            raise ToolError(exc.message + (f" ({exc.hint})" if exc.hint else "")) from None

    def _open(self) -> Memory:
        with self._lock:
            if self._memory is None:
                paths = Paths.default()
                settings = load_settings(paths.config_file).settings
                model = settings.embedding_model
                if self._embedder is None or self._embedder.model_name != model:
                    self._embedder = Embedder.shared(model)
                folder = self.folder or paths.memory_dir
                self._memory = Memory.shared(settings, folder, self._embedder)
            return self._memory


def _search(memory: Memory, query: str, limit: int) -> str:
    vector = memory.query_vector(query)  # embedded once, for the facts and the passages
    found = memory.recall_facts(query, limit, vector=vector)
    facts = [f for f, similarity in found if similarity >= 0.3]
    hits = memory.search(query, limit=limit, vector=vector)
    lines = [f"[fact {f.id}] {f.text}" for f in facts]
    for hit in hits:
        where = " > ".join([hit.chunk.meta.get("title", ""), *hit.chunk.meta.get("headings", [])])
        if hit.chunk.collection == "conversations":
            where = f"conversation {where!r}"
        lines.append(f"[{hit.chunk.source} | {where} | id {hit.chunk.id}]\n{hit.chunk.text}")
    return "\n\n".join(lines) if lines else "Nothing in memory matches that."


def _remember(memory: Memory, text: str) -> str:
    fact, replaced = memory.remember(text, source="chat")
    done = f"Remembered ({fact.id}): {fact.text}"
    return done + "".join(f"\nIt replaces ({old.id}): {old.text}" for old in replaced)


def _forget(memory: Memory, what: str) -> str:
    if what.startswith("fact-"):
        return f"Forgot the fact: {memory.forget_fact(what).text}"
    count = memory.forget(what)
    if not count:
        raise ToolError(f"nothing in memory is called {what!r}; search_memory shows ids")
    return f"Forgot {what} ({count} passages)."


def main(argv: list[str] | None = None) -> None:
    """Run the memory server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.memory",
        description="Rung's memory as an MCP server over stdio: search_memory, remember, "
        "forget. It uses the memory folder of your Rung data dir unless --folder is given.",
    )
    parser.add_argument("--folder", metavar="DIR", help="another memory folder")
    args = parser.parse_args(argv)
    serve(parser, create, {"folder": args.folder} if args.folder else {})


if __name__ == "__main__":
    main()
