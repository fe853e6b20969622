"""Shared fixtures: the Ollama-protocol test server and an isolated home for `rung`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rung.memory.embedder import Embedder
from tests.ollama_server import OllamaTestServer


@pytest.fixture
def ollama_server() -> Iterator[OllamaTestServer]:
    with OllamaTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real embedding model, loaded once per test run."""
    model = Embedder()
    model.warm()
    return model


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real ~/.config, ~/.local or Ollama settings."""
    home = tmp_path / "home"
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_RUNTIME_DIR", "run"),
    ):
        (home / sub).mkdir(parents=True)
        monkeypatch.setenv(var, str(home / sub))
    monkeypatch.setenv("HOME", str(home))
    for var in list(os.environ):
        if var.startswith("RUNG_") or var in ("OLLAMA_HOST", "OLLAMA_API_KEY"):
            monkeypatch.delenv(var)
    return home


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Rung:
    """Runs the installed `rung` command as a user would, against the test server."""

    env: dict[str, str]

    def __call__(self, *args: str, input: bytes | str | None = None, timeout: float = 30) -> Result:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "rung.agent.cli", *args],
            input=data,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            stdin=None if data is not None else subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.fixture
def rung(ollama_server: OllamaTestServer, isolated_home: Path) -> Rung:
    env = dict(os.environ, RUNG_OLLAMA_HOST=ollama_server.url, COLUMNS="100")
    return Rung(env)
