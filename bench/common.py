"""What every benchmark shares: statistics, the table, the PASS/MISS lines and the JSON file."""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    return parser.parse_args(argv)


def publish(make: Callable[[], Report]) -> int:
    """Run a benchmark (`make` measures and builds its report), print its table and write its
    JSON with the wall time; a benchmark's exit code."""
    started = time.perf_counter()
    result = make()
    result.data["wall_s"] = time.perf_counter() - started
    result.print()
    print(f"wrote {result.write()}")
    return 0


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an observed value, defined for any n >= 1."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Target:
    """One goal a benchmark reports on: ``measured`` must stay under ``limit``."""

    name: str
    measured: float
    limit: float
    unit: str

    @property
    def met(self) -> bool:
        return self.measured < self.limit

    def line(self) -> str:
        verdict = "PASS" if self.met else "MISS"
        measured, limit = fmt(self.measured, self.unit), fmt(self.limit, self.unit)
        return f"{verdict}  {self.name}: {measured} (target < {limit})"


def fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:g} {unit}"


@dataclass
class Report:
    """A benchmark's result: rows for the table, targets, and free-form details for the JSON."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    text_columns: tuple[int, ...] = (0,)  # left-aligned; the others hold numbers

    def print(self) -> None:
        from rich.console import Console, JustifyMethod
        from rich.table import Table

        table = Table(title=self.title, title_justify="left")
        for i, column in enumerate(self.columns):
            justify: JustifyMethod = "left" if i in self.text_columns else "right"
            table.add_column(column, justify=justify, overflow="fold")
        for row in self.rows:
            table.add_row(*row)
        console = Console(highlight=False, width=max(120, Console().width))
        console.print(table)
        for note in self.notes:
            console.print(note, markup=False)
        for target in self.targets:
            console.print(target.line(), markup=False)

    def write(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}.json"
        document = {
            "benchmark": self.name,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "targets": [asdict(t) | {"met": t.met} for t in self.targets],
            **self.data,
        }
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path


def machine() -> dict[str, Any]:
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
