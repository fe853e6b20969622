"""The memory's part of the API, /v1/memory: what `rung memory …` does through the daemon,
so the memory has one owner while the daemon runs (its embedded store is not safe to
share between processes, and the embedding model is loaded once).

Each request takes this process's shared `Memory` (opening it if no turn has it open) and
lets go of it after; the work runs in a worker thread under the memory's lock, a step at a
time for the long ones (adding files, re-embedding), so turns that recall meanwhile wait
for one step, not for all of them. Long ones stream their progress as NDJSON."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from rung.agent.daemon.routing import BadRequest, failure, read_body, refusal, required
from rung.agent.daemon.wire import NDJSON
from rung.config.errors import RungError

if TYPE_CHECKING:
    from rung.agent.daemon.host import Host
    from rung.memory.facts import Fact
    from rung.memory.ingest import FileDone
    from rung.memory.search import Hit
    from rung.memory.service import Memory

T = TypeVar("T")


def memory_routes(host: Host) -> list[Route]:
    @contextlib.contextmanager
    def shared() -> Iterator[Memory]:
        from rung.memory.embedder import Embedder
        from rung.memory.service import Memory

        settings = host.settings
        memory = Memory.shared(
            settings, host.paths.memory_dir, Embedder.shared(settings.embedding_model)
        )
        try:
            yield memory
        finally:
            memory.release()

    def locked(work: Callable[[Memory], T]) -> T:
        with shared() as memory, memory.lock:
            return work(memory)

    def stepwise(steps: Callable[[Memory], Iterator[dict[str, Any]]]) -> Iterator[bytes]:
        """A long piece of work a step at a time under the lock, each step a line; an error
        ends it with an `error` line."""
        with shared() as memory:
            items = steps(memory)
            while True:
                try:
                    with memory.lock:
                        item = next(items, None)
                except RungError as exc:
                    item = {"error": exc.message, "hint": exc.hint, "exit_code": exc.exit_code}
                    yield _line(item)
                    return
                if item is None:
                    return
                yield _line(item)

    def endpoint(
        handler: Callable[[Request, dict[str, Any]], Any], *, stream: bool = False
    ) -> Callable[[Request], Any]:
        async def call(request: Request) -> Response:
            try:
                body = await read_body(request) if request.method in ("POST", "PUT") else {}
                if stream:
                    lines = handler(request, body)
                    return StreamingResponse(iterate_in_threadpool(lines), media_type=NDJSON)
                return JSONResponse(await run_in_threadpool(handler, request, body))
            except BadRequest as exc:
                return refusal(400, str(exc))
            except RungError as exc:
                return failure(422, exc)

        return call

    def stats(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return locked(lambda m: {**m.stats(), "reindex_due": m.reindex_due()})

    def search(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        query = required(body, "query")
        collections = body.get("collections") or ["documents", "conversations"]
        options = {k: body[k] for k in ("source", "since", "until", "mode") if body.get(k)}
        limit = int(body.get("limit") or 5)
        hits = locked(lambda m: m.search(query, tuple(collections), limit=limit, **options))
        return {"hits": [hit_dict(h) for h in hits]}

    def catch_up(request: Request, body: dict[str, Any]) -> Iterator[bytes]:
        """The finished turns memory lacks, put in: progress lines as they go (the turns
        are recorded in batches under the lock, by `Recall.record`)."""
        from rung.agent.recall import Recall

        with shared() as memory:
            lines: queue.Queue[dict[str, Any] | None] = queue.Queue()

            def work() -> None:
                try:
                    recorded = Recall(memory, host.store).record(
                        lambda done, total: lines.put({"done": done, "total": total})
                    )
                    lines.put({"recorded": recorded})
                except RungError as exc:
                    lines.put({"error": exc.message, "hint": exc.hint, "exit_code": 1})
                finally:
                    lines.put(None)

            worker = threading.Thread(target=work, name="catch-up", daemon=True)
            worker.start()
            while (item := lines.get()) is not None:
                yield _line(item)
            worker.join()

    def plan(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        paths = [Path(p) for p in _paths(body)]
        include, exclude = body.get("include") or [], body.get("exclude") or []
        files = locked(lambda m: m.ingester().plan(paths, include, exclude))
        return {"files": [str(f) for f in files]}

    def add(request: Request, body: dict[str, Any]) -> Iterator[bytes]:
        files = [Path(p) for p in _paths(body, "files")]
        return stepwise(lambda m: (file_done(d) for d in m.ingester().add(files)))

    def sync(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        roots = [Path(p) for p in _paths(body)]
        done = locked(lambda m: list(m.ingester().sync(roots)))
        return {"done": [file_done(d) for d in done]}

    def forget(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        """A source as stored, a chunk's id, or a path: `resolved` is it made absolute in
        the client's folder (the daemon's own is elsewhere)."""
        what, resolved = required(body, "what"), body.get("resolved")

        def work(memory: Memory) -> int:
            stored = memory.index.source("documents", what) is not None
            by_path = isinstance(resolved, str) and not stored
            if by_path and memory.index.source("documents", str(resolved)) is not None:
                return memory.forget(str(resolved))
            return memory.forget(what)

        return {"count": locked(work)}

    def reindex(request: Request, body: dict[str, Any]) -> Iterator[bytes]:
        def steps(memory: Memory) -> Iterator[dict[str, Any]]:
            yield {"total": memory.index.count(), "model": memory.config.embedding_model}
            for done in memory.reindex():
                yield {"done": done}

        return stepwise(steps)

    def facts(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        current = request.query_params.get("all") != "1"
        return {"facts": [asdict(f) for f in locked(lambda m: m.facts(current_only=current))]}

    def remember(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        text = required(body, "text")
        fact, replaced = locked(lambda m: m.remember(text))
        return {"fact": asdict(fact), "replaced": [asdict(f) for f in replaced]}

    def edit_fact(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        text, id = required(body, "text"), request.path_params["id"]
        return {"fact": fact_dict(locked(lambda m: m.edit_fact(id, text)))}

    def forget_fact(request: Request, body: dict[str, Any]) -> dict[str, Any]:
        id = request.path_params["id"]
        return {"fact": fact_dict(locked(lambda m: m.forget_fact(id)))}

    def export(request: Request, body: dict[str, Any]) -> Iterator[bytes]:
        return stepwise(lambda m: m.export())

    return [
        Route("/v1/memory/stats", endpoint(stats), methods=["GET"]),
        Route("/v1/memory/search", endpoint(search), methods=["POST"]),
        Route("/v1/memory/catch-up", endpoint(catch_up, stream=True), methods=["POST"]),
        Route("/v1/memory/plan", endpoint(plan), methods=["POST"]),
        Route("/v1/memory/add", endpoint(add, stream=True), methods=["POST"]),
        Route("/v1/memory/sync", endpoint(sync), methods=["POST"]),
        Route("/v1/memory/forget", endpoint(forget), methods=["POST"]),
        Route("/v1/memory/reindex", endpoint(reindex, stream=True), methods=["POST"]),
        Route("/v1/memory/facts", endpoint(facts), methods=["GET"]),
        Route("/v1/memory/facts", endpoint(remember), methods=["POST"]),
        Route("/v1/memory/facts/{id}", endpoint(edit_fact), methods=["PUT"]),
        Route("/v1/memory/facts/{id}", endpoint(forget_fact), methods=["DELETE"]),
        Route("/v1/memory/export", endpoint(export, stream=True), methods=["GET"]),
    ]


def hit_dict(hit: Hit) -> dict[str, Any]:
    return {
        "chunk": asdict(hit.chunk),
        "score": hit.score,
        "similarity": hit.similarity,
        "keyword": hit.keyword,
        "then": hit.then,
    }


def fact_dict(fact: Fact) -> dict[str, Any]:
    return asdict(fact)


def file_done(done: FileDone) -> dict[str, Any]:
    return {**asdict(done), "path": str(done.path)}


def _paths(body: dict[str, Any], key: str = "paths") -> list[str]:
    paths = body.get(key)
    if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths):
        raise BadRequest(f"`{key}` must be a list of absolute paths")
    if not all(Path(p).is_absolute() for p in paths):
        raise BadRequest(f"`{key}` must be absolute paths (the daemon has its own folder)")
    return paths


def _line(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False).encode() + b"\n"


def memory_paths() -> dict[str, Any]:
    """The memory's routes, for the API's OpenAPI document."""
    failed = {
        "description": "what it met: error, hint, exit_code",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Failed"}}},
    }

    def operation(
        summary: str, body: dict[str, Any] | None = None, *, lines: bool = False
    ) -> dict[str, Any]:
        content = (
            {NDJSON: {"schema": {"type": "object"}}}
            if lines
            else {"application/json": {"schema": {"type": "object"}}}
        )
        op: dict[str, Any] = {
            "summary": summary,
            "responses": {"200": {"description": "done", "content": content}, "422": failed},
        }
        if body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object", "properties": body}}},
            }
        return op

    string = {"type": "string"}
    paths = {"type": "array", "items": string, "description": "absolute paths"}
    fact = {"parameters": [{"name": "id", "in": "path", "required": True, "schema": string}]}
    return {
        "/v1/memory/stats": {"get": operation("What is stored, the model, the disk size")},
        "/v1/memory/search": {
            "post": operation(
                "The best matches for a query",
                {
                    "query": string,
                    "collections": {"type": "array", "items": string},
                    "limit": {"type": "integer"},
                    "source": string,
                    "since": {"type": "number"},
                    "until": {"type": "number"},
                    "mode": {"enum": ["hybrid", "vector", "keyword"]},
                },
            )
        },
        "/v1/memory/catch-up": {
            "post": operation(
                "Put the finished turns memory lacks into it: {done, total} lines, then {recorded}",
                {},
                lines=True,
            )
        },
        "/v1/memory/plan": {
            "post": operation(
                "The files `add` would look at",
                {"paths": paths, "include": paths, "exclude": paths},
            )
        },
        "/v1/memory/add": {
            "post": operation(
                "Add files: a line per file (path, outcome, chunks, reason)",
                {"files": paths},
                lines=True,
            )
        },
        "/v1/memory/sync": {
            "post": operation(
                "Forget documents under these folders that are gone", {"paths": paths}
            )
        },
        "/v1/memory/forget": {
            "post": operation(
                "Forget a document, a chunk or a conversation",
                {"what": string, "resolved": string},
            )
        },
        "/v1/memory/reindex": {
            "post": operation(
                "Embed everything again: {total, model}, then {done} lines", {}, lines=True
            )
        },
        "/v1/memory/facts": {
            "get": operation("The facts about the user (?all=1: those replaced too)"),
            "post": operation("Remember a fact", {"text": string}),
        },
        "/v1/memory/facts/{id}": {
            "put": {**operation("Change a fact's text", {"text": string}), **fact},
            "delete": {**operation("Forget a fact"), **fact},
        },
        "/v1/memory/export": {
            "get": operation("Everything stored, a JSON object per line", lines=True)
        },
    }
