"""Shared fixtures: the Ollama-protocol test server and an isolated home for `rung`."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rung.memory.embedder import Embedder
from tests.forked import Forked, WarmParent
from tests.ollama_server import OllamaTestServer


@pytest.fixture
def ollama_server() -> Iterator[OllamaTestServer]:
    with OllamaTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real embedding model, loaded once per test worker: the same one that the code
    under test gets from `Embedder.shared()` when it runs in this process."""
    model = Embedder.shared()
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
    """Runs `rung` as a user would, against the test server.

    In this process by default: `main(argv)`, the command's own entry point, with its own
    stdin, stdout, stderr and environment, so the embedding model, torch and the MCP SDK
    are imported once per test worker instead of once per command. `process=True` (or
    `.as_process()`) runs the installed command as a real subprocess: for the tests where the
    process itself is under test (its exit status, stdin piped by the OS, `PYTHONPATH`,
    a kill, hash randomisation across runs)."""

    env: dict[str, str]
    process: bool = False

    def as_process(self) -> Rung:
        return Rung(self.env, process=True)

    def __call__(self, *args: str, input: bytes | str | None = None, timeout: float = 30) -> Result:
        data = input.encode() if isinstance(input, str) else input
        if self.process:
            return self._subprocess(args, data, timeout)
        return self._here(args, data or b"")

    def _subprocess(self, args: Sequence[str], data: bytes | None, timeout: float) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "rung.agent.cli", *args],
            input=data,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            stdin=None if data is not None else subprocess.DEVNULL,
        )
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def _here(self, args: Sequence[str], data: bytes) -> Result:
        """`main(args)` with stdin from `data` and stdout, stderr captured, under `env`
        (restored afterwards). No timeout of its own: pytest-timeout's is the limit."""
        from rung.agent.cli.main import main

        streams = sys.stdin, sys.stdout, sys.stderr
        environ = dict(os.environ)
        stdin, stdout, stderr = (
            io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"),
            io.TextIOWrapper(io.BytesIO(), encoding="utf-8"),
            io.TextIOWrapper(io.BytesIO(), encoding="utf-8"),
        )
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level
        root.handlers = []  # main()'s logging.basicConfig writes to this stderr, as in a process
        os.environ.clear()
        os.environ.update(self.env)
        sys.stdin, sys.stdout, sys.stderr = stdin, stdout, stderr
        try:
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's usage errors, --help, --version
                code = _exit_code(exc)
        finally:
            sys.stdin, sys.stdout, sys.stderr = streams
            for handler in root.handlers:
                handler.close()
            root.handlers, root.level = handlers, level
            os.environ.clear()
            os.environ.update(environ)
        return Result(code, _written(stdout), _written(stderr))


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)  # sys.exit("message"): Python prints it and exits 1
    return 1


def _written(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode("utf-8", errors="replace")


@pytest.fixture
def rung(ollama_server: OllamaTestServer, isolated_home: Path) -> Rung:
    """`rung` in this process against the test server (`rung.as_process()` for a real one)."""
    env = dict(os.environ, RUNG_OLLAMA_HOST=ollama_server.url, COLUMNS="100")
    return Rung(env)


RungProcess = subprocess.Popen[bytes] | Forked  # a fresh interpreter, or forked warm


class Processes:
    """`rung` processes a test starts itself (to kill one, to watch one run): each is
    stopped by its pid in the fixture's teardown, also when the test fails.

    `python -m rung.agent.cli ARGS`, a fresh interpreter; with `warm=True`, the same command
    in a process forked from this worker's warm parent (`tests/forked.py`): for the tests
    of what the process does rather than of how Python starts it, which would otherwise
    pay seconds of imports each."""

    def __init__(self, warm: WarmParent | None = None) -> None:
        self.started: list[RungProcess] = []
        self.warm = warm

    def start(
        self, args: Sequence[str], env: dict[str, str], *, warm: bool = False, **popen: Any
    ) -> Any:  # a RungProcess: Any, as the tests use what both have
        popen.setdefault("stdin", subprocess.DEVNULL)
        popen.setdefault("stdout", subprocess.DEVNULL)
        popen.setdefault("stderr", subprocess.PIPE)
        proc: RungProcess
        if warm and self.warm is not None:
            proc = Forked(self.warm, args, env, **popen)
        else:
            command = [sys.executable, "-m", "rung.agent.cli", *args]
            proc = subprocess.Popen(command, env=env, **popen)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture(scope="session")
def warm_parent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WarmParent]:
    """This worker's warm parent to fork `rung` processes from (started at first use)."""
    home = tmp_path_factory.mktemp("warm-parent")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNG_", "XDG_"))}
    parent = WarmParent({**env, "HOME": str(home)})
    try:
        yield parent
    finally:
        parent.close()


@pytest.fixture
def processes(warm_parent: WarmParent) -> Iterator[Processes]:
    started = Processes(warm_parent)
    try:
        yield started
    finally:
        started.stop_all()
