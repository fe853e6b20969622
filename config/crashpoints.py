"""Crash points: named places where a test stops this process with a real SIGKILL.

A kill at any moment must lose or corrupt nothing (DESIGN.md). The tests prove it at the
moments that matter, the steps between two writes, without waiting on timing: they start
`rung` with ``RUNG_CRASH_AT=NAME[:N]`` in its environment, and the Nth time (default: the
first) that process reaches ``crashpoint(NAME)`` it kills itself with SIGKILL, as
``kill -9`` would: no handler, no ``finally``, no flush runs. Only tests set the variable;
unset, a crash point costs one environment lookup.

The names, each placed between two steps of a write:

- ``ingest.embedded``: a file's chunks embedded, nothing of it written yet
- ``ingest.vectors``: its new vectors in Chroma, the index not swapped yet
- ``ingest.swapped``: the index shows the new version, the old vectors not deleted yet
- ``ingest.deleted``: the old vectors deleted, the index not told yet
- ``jobs.claimed``: a job's occurrences queued in the ledger, none started yet
- ``jobs.started``: a run marked running, its turn not begun
- ``jobs.answered``: a run's turn over (stored as a session), its outcome not recorded
"""

from __future__ import annotations

import os
import signal

ENV = "RUNG_CRASH_AT"
_reached: dict[str, int] = {}


def crashpoint(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target != name:
        return
    _reached[name] = _reached.get(name, 0) + 1
    if _reached[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
