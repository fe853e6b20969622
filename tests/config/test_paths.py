"""Where Rung keeps its files."""

from __future__ import annotations

import warnings

import pytest

from rung.config.paths import Paths


def test_without_xdg_runtime_dir_the_fallback_comes_without_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runtime = Paths.default().runtime_dir
    assert runtime.name == "rung" and caught == []
