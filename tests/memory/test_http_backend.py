"""The memory against a Chroma server (`chroma run` on 127.0.0.1), as `memory_backend = "http"`."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig
from rung.memory.store import StoreError

CHROMA = Path(sys.executable).with_name("chroma")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    if not CHROMA.exists() and shutil.which("chroma") is None:
        pytest.fail("the `chroma` command (installed with chromadb) is missing")
    port = free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [str(CHROMA if CHROMA.exists() else "chroma"), "run", "--path", str(tmp_path / "db"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert proc.poll() is None, (tmp_path / "chroma.log").read_text()
            assert time.monotonic() < deadline, "chroma run did not start in 30 s"
            time.sleep(0.05)  # a poll interval, not a wait for a result
    yield port
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def test_add_and_search_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, embedder: Embedder
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nMarigolds keep aphids off the tomatoes.\n")
    (notes / "bike.md").write_text("# Bike\n\nOil the chain every 300 km.\n")
    config = MemoryConfig(folder=tmp_path / "memory", backend="http", port=chroma_server)
    with Memory(config, embedder) as memory:
        ingester = memory.ingester()
        done = list(ingester.add(ingester.plan([notes])))
        assert [d.outcome for d in done] == ["added", "added"]
        [hit, *_] = memory.search("insects on my plants")
        assert hit.chunk.source.endswith("garden.md")
        assert memory.store.count("documents") == memory.index.count("documents")


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path, embedder: Embedder) -> None:
    config = MemoryConfig(folder=tmp_path / "memory", backend="http", port=free_port())
    with Memory(config, embedder) as memory, pytest.raises(StoreError) as caught:
        memory.search("anything")
    assert "cannot open the Chroma server at 127.0.0.1" in caught.value.message
    assert "chroma run" in caught.value.hint
