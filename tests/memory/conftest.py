"""Memory fixtures: a store in a temp dir over the real embedding model (`embedder`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rung.memory.embedder import Embedder
from rung.memory.service import Memory, MemoryConfig


@pytest.fixture
def memory(tmp_path: Path, embedder: Embedder) -> Iterator[Memory]:
    with Memory(
        MemoryConfig(folder=tmp_path / "memory", chunk_size=300, chunk_overlap=40), embedder
    ) as m:
        yield m
