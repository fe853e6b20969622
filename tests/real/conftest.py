"""Fixtures of the real-model tests: the GGUF models, one llama.cpp-backed Ollama stand-in
for the whole session, and `rung` pointed at it.

These tests carry the `real` marker and run only when asked (`make test-real`, or
`pytest -m real tests/real`). They need llama-cpp-python, which no dependency group of the
package lists: it is a test tool, and `make test-real` installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Rung
from tests.real import llama_ollama, models
from tests.real.llama_ollama import LlamaOllamaServer, LocalModel

HERE = Path(__file__).parent
# Read now: the autouse `isolated_home` fixture moves HOME and drops RUNG_* for each test.
CACHE = models.cache_dir()
# Threads per model: the stand-in's default leaves one core to `rung` and the machine.
THREADS = int(os.environ.get("RUNG_TEST_THREADS") or llama_ollama.THREADS)
MAX_PREDICT = 256  # a cap on any one reply, so a rambling model cannot stall the run


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.real)


@pytest.fixture(scope="session")
def model_files() -> dict[str, Path]:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.fail(
            "the real-model tests need llama-cpp-python: "
            'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python==0.3.36 '
            "(make test-real does it)"
        )
    return models.ensure_all(CACHE)


@pytest.fixture(scope="session")
def llama_server(model_files: dict[str, Path]) -> Iterator[LlamaOllamaServer]:
    served = [LocalModel(m.name, model_files[m.name], m.sha256) for m in models.MODELS]
    with LlamaOllamaServer(served, threads=THREADS, max_predict=MAX_PREDICT) as server:
        yield server
    # llama-cpp-python opens two /dev/null files when imported and never closes them; with
    # warnings as errors, their ResourceWarning at exit would be reported as a failure.
    from llama_cpp import _utils

    _utils.outnull_file.close()
    _utils.errnull_file.close()


@pytest.fixture
def rung(llama_server: LlamaOllamaServer, isolated_home: Path) -> Rung:
    """`rung` as a user runs it, against the real models."""
    env = dict(os.environ, RUNG_OLLAMA_HOST=llama_server.url, COLUMNS="100")
    return Rung(env)
