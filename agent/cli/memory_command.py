"""`rung memory …`: add documents, search them, see what is stored.

The command line itself is defined in `cli.py` (kept light for `rung --help`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rung.config.errors import ConfigError, UserError
from rung.config.paths import Paths
from rung.config.settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from rung.memory.facts import Fact
    from rung.memory.ingest import FileDone
    from rung.memory.search import Hit
    from rung.memory.service import Memory


def open_memory(settings: Settings, paths: Paths | None = None) -> Memory:
    from rung.memory.service import Memory

    return Memory.from_settings(settings, (paths or Paths.default()).memory_dir)


def memory_command(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from rung.agent.daemon.client import running_daemon

    console = Console(highlight=False)
    if settings.chunk_overlap * 2 >= settings.chunk_size:
        raise ConfigError(
            f"chunk_overlap ({settings.chunk_overlap}) must be less than half of chunk_size "
            f"({settings.chunk_size})",
            hint="lower chunk_overlap or raise chunk_size (`rung config show` says where each "
            "is set)",
        )
    daemon = None if getattr(args, "local", False) else running_daemon()
    if daemon is not None:  # the daemon owns the memory while it runs
        from rung.agent.daemon.memory_client import RemoteMemory

        remote = RemoteMemory(daemon)
        try:
            return _run(console, remote, args)
        finally:
            remote.close()
    with open_memory(settings) as memory:
        return _run(console, LocalMemory(memory), args)


def _run(console: Console, memory: MemoryOps, args: argparse.Namespace) -> int:
    if args.action in ("add", "search", "reindex", "facts"):
        memory.warm()  # torch loads while the files are found and read
    if args.action == "add":
        return _add(console, memory, args)
    if args.action == "search":
        return _search(console, memory, args)
    if args.action == "forget":
        return _forget(console, memory, args.what)
    if args.action == "reindex":
        return _reindex(console, memory)
    if args.action == "export":
        return _export(memory, args.output)
    if args.action == "facts":
        return _facts(console, memory, args)
    return _stats(console, memory, as_json=args.json)


class MemoryOps(Protocol):
    """What `rung memory` does to the memory: `LocalMemory` in this process, or the
    daemon's (`RemoteMemory`) while it runs."""

    embedding_model: str

    def warm(self) -> None: ...
    def stats(self) -> dict[str, Any]: ...
    def search(self, query: str, collections: Sequence[str], **options: Any) -> list[Hit]: ...
    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int: ...
    def plan(
        self, roots: Sequence[Path], include: Sequence[str], exclude: Sequence[str]
    ) -> list[Path]: ...
    def add(self, files: Sequence[Path]) -> Iterator[FileDone]: ...
    def sync(self, roots: Sequence[Path]) -> list[FileDone]: ...
    def forget(self, what: str) -> int: ...
    def reindex(self) -> Iterator[tuple[int, int]]: ...
    def facts(self, *, current_only: bool = True) -> list[Fact]: ...
    def remember(self, text: str) -> tuple[Fact, list[Fact]]: ...
    def edit_fact(self, id: str, text: str) -> Fact: ...
    def forget_fact(self, id: str) -> Fact: ...
    def export(self) -> Iterator[dict[str, Any]]: ...


class LocalMemory:
    """The memory in this process."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory
        self.embedding_model = memory.config.embedding_model

    def warm(self) -> None:
        self.memory.embedder.warm()

    def stats(self) -> dict[str, Any]:
        return {**self.memory.stats(), "reindex_due": self.memory.reindex_due()}

    def search(self, query: str, collections: Sequence[str], **options: Any) -> list[Hit]:
        return self.memory.search(query, collections, **options)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        from rung.agent.recall import Recall
        from rung.agent.runtime import open_store

        with open_store() as sessions:
            return Recall(self.memory, sessions).record(progress)

    def plan(
        self, roots: Sequence[Path], include: Sequence[str], exclude: Sequence[str]
    ) -> list[Path]:
        return self.memory.ingester().plan(roots, include, exclude)

    def add(self, files: Sequence[Path]) -> Iterator[FileDone]:
        return self.memory.ingester().add(files)

    def sync(self, roots: Sequence[Path]) -> list[FileDone]:
        return list(self.memory.ingester().sync(roots))

    def forget(self, what: str) -> int:
        return self.memory.forget(what)

    def reindex(self) -> Iterator[tuple[int, int]]:
        total = self.memory.index.count()
        for done in self.memory.reindex():
            yield done, total

    def facts(self, *, current_only: bool = True) -> list[Fact]:
        return self.memory.facts(current_only=current_only)

    def remember(self, text: str) -> tuple[Fact, list[Fact]]:
        return self.memory.remember(text)

    def edit_fact(self, id: str, text: str) -> Fact:
        return self.memory.edit_fact(id, text)

    def forget_fact(self, id: str) -> Fact:
        return self.memory.forget_fact(id)

    def export(self) -> Iterator[dict[str, Any]]:
        return self.memory.export()


def _forget(console: Console, memory: MemoryOps, targets: list[str]) -> int:
    from rich.markup import escape

    missing = 0
    for what in targets:
        count = memory.forget(what)
        if count:
            console.print(f"forgot {escape(what)} ({count} chunks)")
        else:
            missing += 1
            console.print(f"[yellow]nothing stored for {escape(what)}[/]")
    return 1 if missing else 0


def _reindex(console: Console, memory: MemoryOps) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    total = 0
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("reindex", total=None)
        for done, total in memory.reindex():
            progress.update(task, completed=done, total=total)
    console.print(f"Embedded {total} chunks again with {memory.embedding_model}.")
    return 0


def _facts(console: Console, memory: MemoryOps, args: argparse.Namespace) -> int:
    from rich.markup import escape

    action = args.facts_action or "list"
    if action == "add":
        fact, replaced = memory.remember(" ".join(args.text))
        console.print(f"remembered [cyan]{fact.id}[/]: {escape(fact.text)}")
        for old in replaced:
            console.print(f"  [dim]replaces {old.id}: {escape(old.text)}[/]")
    elif action == "edit":
        fact = memory.edit_fact(args.id, " ".join(args.text))
        console.print(f"[cyan]{fact.id}[/]: {escape(fact.text)}")
    elif action == "forget":
        for id in args.ids:
            console.print(f"forgot {id}: {escape(memory.forget_fact(id).text)}")
    else:
        facts = memory.facts(current_only=not getattr(args, "all", False))
        if not facts:
            console.print('No facts yet. `rung memory facts add "I live in Lyon"` adds one.')
        for fact in facts:
            when = fact.created_at[:10]
            gone = f" [dim](replaced {fact.superseded_at[:10]})[/]" if fact.superseded_at else ""
            console.print(f"[cyan]{fact.id}[/] [dim]{when}[/] {escape(fact.text)}{gone}")
    return 0


def _export(memory: MemoryOps, output: str | None) -> int:
    import sys

    try:
        target = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        for record in memory.export():
            target.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if output:
            target.close()
    return 0


def _add(console: Console, memory: MemoryOps, args: argparse.Namespace) -> int:
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from rung.memory.ingest import Summary

    roots = [Path(p) for p in args.paths]
    files = memory.plan(roots, args.include, args.exclude)
    summary = Summary()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("adding", total=len(files), rate="")
        for done in memory.add(files):
            summary.done.append(done)
            elapsed = progress.tasks[0].elapsed or 0.0
            rate = f"{summary.chunks / elapsed:.0f} chunks/s" if elapsed > 0 else ""
            progress.update(task, advance=1, description=_short(done.path), rate=rate)
        if args.sync:
            summary.done.extend(memory.sync(roots))
    parts = [
        f"{summary.count(o)} {o}" for o in ("added", "updated", "skipped", "removed", "failed")
    ]
    console.print(f"{len(files)} files: " + ", ".join(parts) + f" · {summary.chunks} chunks")
    for done in summary.done:
        if done.outcome == "failed":
            console.print(f"  [red]failed[/] {escape(done.reason)}", soft_wrap=True)
    return 1 if summary.count("failed") else 0  # the others were added all the same


def _search(console: Console, memory: MemoryOps, args: argparse.Namespace) -> int:
    from rich.markup import escape

    since = parse_when(args.since, "--since") if args.since else None
    until = parse_when(args.until, "--until") if args.until else None
    collections = ("documents", "conversations") if args.collection == "all" else (args.collection,)
    if "conversations" in collections:
        catch_up(console, memory)
    source = None
    if args.source:
        source = (
            args.source if args.source.startswith("session:") else str(Path(args.source).resolve())
        )
    hits = memory.search(
        " ".join(args.query),
        collections,
        limit=args.limit,
        source=source,
        since=since,
        until=until,
        mode=args.mode,
    )
    if args.json:
        rows = [
            {
                "id": h.chunk.id,
                "collection": h.chunk.collection,
                "source": h.chunk.source,
                "title": h.chunk.meta.get("title", ""),
                "time": h.chunk.meta.get("mtime"),
                "score": h.score,
                "similarity": h.similarity,
                "keyword": h.keyword,
                "why": h.why,
                "headings": h.chunk.meta.get("headings", []),
                "text": h.chunk.text,
            }
            for h in hits
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not hits:
        console.print("Nothing found. `rung memory add PATH` adds documents.")
    for n, hit in enumerate(hits, start=1):
        meta = hit.chunk.meta
        where = " › ".join([meta.get("title", ""), *meta.get("headings", [])])
        if hit.chunk.collection == "conversations":
            where = f"conversation {where!r} on {_date(meta.get('mtime'))}"
        console.print(
            f"[bold]{n}.[/] [cyan]{escape(hit.chunk.source)}[/] [dim]{escape(where)} · "
            f"{escape(hit.why)}[/]"
        )
        snippet = " ".join(hit.chunk.text.split())
        console.print(f"   {escape(snippet[:240])}{'…' if len(snippet) > 240 else ''}")
    return 0


def _stats(console: Console, memory: MemoryOps, *, as_json: bool) -> int:
    stats = memory.stats()
    if as_json:
        print(json.dumps(stats, indent=2))
        return 0
    for collection, chunks in stats["chunks"].items():
        console.print(
            f"{collection:<14} {stats['sources'][collection]:>6} sources {chunks:>8} chunks"
        )
    console.print(f"{'facts':<14} {stats['facts']:>6}")
    console.print(
        f"model {stats['embedding_model']} · {stats['backend']} · "
        f"{stats['disk_bytes'] / 1e6:.1f} MB in {stats['folder']}"
    )
    if stats["reindex_due"]:
        reasons = "; ".join(stats["reindex_due"])
        console.print(
            f"[yellow]a reindex is due ({reasons}): rung memory reindex[/]", soft_wrap=True
        )
    return 0


def catch_up(console: Console, memory: MemoryOps) -> int:
    """Put the finished turns that memory lacks into it, with a progress bar if many."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    if not console.is_terminal:
        return memory.catch_up()
    columns = (TextColumn("past conversations"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("turns", total=None)
        return memory.catch_up(
            lambda done, total: progress.update(task, completed=done, total=total)
        )


def parse_when(text: str, flag: str) -> float:
    """A Unix time from a date (2026-11-01, local midnight), 'today', 'yesterday', or an age
    (3d, 2w, 12h, 30m) counted back from now."""
    import re
    import time
    from datetime import date, datetime, timedelta

    word = text.strip().lower()
    today = datetime.combine(date.today(), datetime.min.time())
    if word in ("today", "yesterday"):
        return (today - timedelta(days=1 if word == "yesterday" else 0)).timestamp()
    age = re.fullmatch(r"(\d+)\s*([mhdw])", word)
    if age:
        seconds = {"m": 60, "h": 3600, "d": 86400, "w": 604800}[age.group(2)]
        return time.time() - int(age.group(1)) * seconds
    try:
        return datetime.fromisoformat(word).timestamp()
    except ValueError:
        raise UserError(
            f"{flag} {text!r} is not a date or an age",
            hint="use a date (2026-11-01), today, yesterday, or an age like 3d, 2w, 12h",
        ) from None


def _date(timestamp: object) -> str:
    from datetime import datetime

    if not isinstance(timestamp, int | float):
        return "?"
    return datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d")


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= 40 else "…" + text[-39:]
