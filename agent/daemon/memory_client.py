"""The memory of a running daemon, seen from `rung memory …`: the operations that command
runs on a local `Memory`, each a request to /v1/memory (see `memory_api`). Paths are sent
absolute: the daemon has its own working folder."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from rung.agent.daemon.client import DaemonClient
from rung.agent.daemon.wire import TurnFailed
from rung.config.errors import DaemonError

if TYPE_CHECKING:
    from rung.memory.facts import Fact
    from rung.memory.ingest import FileDone
    from rung.memory.search import Hit


class RemoteMemory:
    def __init__(self, daemon: DaemonClient) -> None:
        self.daemon = daemon
        self._client = daemon.sync_client(read_timeout=None)
        self.embedding_model = ""  # known once `reindex` has begun

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise self.daemon.transport_error(exc, during=f"`rung memory` ({path})") from None
        return self.daemon.check(response, path)

    def _lines(self, method: str, path: str, body: dict[str, Any] | None = None) -> Iterator[Any]:
        """A streamed answer's lines; the error line, if one comes, raised."""
        try:
            with self._client.stream(method, path, json=body) as response:
                if response.status_code != 200:
                    response.read()
                    self.daemon.check(response, path)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    if "error" in item:
                        raise TurnFailed(item["error"], item.get("hint", "")).error()
                    yield item
        except httpx.TransportError as exc:
            raise self.daemon.transport_error(exc, during=f"`rung memory` ({path})") from None
        except json.JSONDecodeError:
            raise DaemonError(f"the daemon's answer to {path} is not NDJSON") from None

    # -- what `rung memory` does ---------------------------------------------------------

    def warm(self) -> None:
        """The daemon's embedding model is loaded already."""

    def stats(self) -> dict[str, Any]:
        return dict(self._call("GET", "/v1/memory/stats"))

    def search(self, query: str, collections: Sequence[str], **options: Any) -> list[Hit]:
        body = {"query": query, "collections": list(collections), **options}
        return [_hit(h) for h in self._call("POST", "/v1/memory/search", body)["hits"]]

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        recorded = 0
        for item in self._lines("POST", "/v1/memory/catch-up", {}):
            if "recorded" in item:
                recorded = int(item["recorded"])
            elif progress is not None:
                progress(int(item["done"]), int(item["total"]))
        return recorded

    def plan(
        self, roots: Sequence[Path], include: Sequence[str], exclude: Sequence[str]
    ) -> list[Path]:
        body = {"paths": _absolute(roots), "include": list(include), "exclude": list(exclude)}
        return [Path(f) for f in self._call("POST", "/v1/memory/plan", body)["files"]]

    def add(self, files: Sequence[Path]) -> Iterator[FileDone]:
        for item in self._lines("POST", "/v1/memory/add", {"files": _absolute(files)}):
            yield _done(item)

    def sync(self, roots: Sequence[Path]) -> list[FileDone]:
        done = self._call("POST", "/v1/memory/sync", {"paths": _absolute(roots)})["done"]
        return [_done(d) for d in done]

    def forget(self, what: str) -> int:
        body = {"what": what, "resolved": str(Path(what).resolve())}  # if it is a path
        return int(self._call("POST", "/v1/memory/forget", body)["count"])

    def reindex(self) -> Iterator[tuple[int, int]]:
        """(done, total) as the chunks are embedded again."""
        total = 0
        for item in self._lines("POST", "/v1/memory/reindex", {}):
            if "total" in item:
                total, self.embedding_model = int(item["total"]), str(item["model"])
            else:
                yield int(item["done"]), total

    def facts(self, *, current_only: bool = True) -> list[Fact]:
        path = "/v1/memory/facts" + ("" if current_only else "?all=1")
        return [_fact(f) for f in self._call("GET", path)["facts"]]

    def remember(self, text: str) -> tuple[Fact, list[Fact]]:
        data = self._call("POST", "/v1/memory/facts", {"text": text})
        return _fact(data["fact"]), [_fact(f) for f in data["replaced"]]

    def edit_fact(self, id: str, text: str) -> Fact:
        return _fact(self._call("PUT", f"/v1/memory/facts/{id}", {"text": text})["fact"])

    def forget_fact(self, id: str) -> Fact:
        return _fact(self._call("DELETE", f"/v1/memory/facts/{id}")["fact"])

    def export(self) -> Iterator[dict[str, Any]]:
        yield from self._lines("GET", "/v1/memory/export")


def _absolute(paths: Sequence[Path]) -> list[str]:
    return [str(Path(p).resolve()) for p in paths]


def _hit(data: dict[str, Any]) -> Hit:
    from rung.memory.index import ChunkRow
    from rung.memory.search import Hit

    return Hit(
        ChunkRow(**data["chunk"]),
        data["score"],
        data["similarity"],
        data["keyword"],
        bool(data.get("then")),
    )


def _fact(data: dict[str, Any]) -> Fact:
    from rung.memory.facts import Fact

    return Fact(**data)


def _done(data: dict[str, Any]) -> FileDone:
    from rung.memory.ingest import FileDone

    return FileDone(
        Path(data["path"]), data["outcome"], data.get("chunks", 0), data.get("reason", "")
    )
