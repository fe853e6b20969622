"""`rung sessions …` and `rung config …`: small commands that print and exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from rung.agent.runtime import open_store
from rung.config.errors import UserError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, default_config_text, settings_table


def sessions_command(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.markup import escape
    from rich.table import Table

    from rung.agent.sessions import MARK

    console = Console()
    with open_store() as store:
        if args.action == "list":
            sessions = store.list(limit=args.limit)
            if not sessions:
                print("No sessions yet. Start one with `rung chat` or `rung ask`.")
                return 0
            table = Table("id", "updated", "turns", "model", "title", box=None)
            for s in sessions:
                updated = s.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
                table.add_row(s.id, updated, str(s.turns), s.model, s.title)
            console.print(table)
        elif args.action == "search":
            found = store.search(" ".join(args.text), limit=args.limit)
            if not found:
                print("No session says that. `rung sessions list` shows them all.")
                return 0
            for f in found:
                updated = f.session.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
                snippet = escape(" ".join(f.snippet.split()))
                snippet = snippet.replace(MARK[0], "[bold yellow]").replace(MARK[1], "[/]")
                console.print(f"[bold]{f.session.id}[/]  {updated}  {escape(f.session.title)}")
                console.print(f"    {snippet}", highlight=False)
        elif args.action == "show":
            text = store.export_markdown(store.get(args.id).id)
            if sys.stdout.isatty():
                console.print(Markdown(text))
            else:
                sys.stdout.write(text)
        elif args.action == "export":
            text = store.export_markdown(store.get(args.id).id)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
                print(f"Wrote {args.output}")
            else:
                sys.stdout.write(text)
        elif args.action == "delete":
            info = store.get(args.id)
            store.delete(info.id)
            print(f"Deleted session {info.id} ({info.title or 'untitled'}).")
    return 0


def config_command(
    args: argparse.Namespace, load: Callable[[argparse.Namespace], LoadedSettings]
) -> int:
    config_file = Path(args.config) if args.config else Paths.default().config_file
    if args.action == "path":
        print(config_file)
    elif args.action == "init":
        if config_file.exists() and not args.force:
            raise UserError(
                f"{config_file} already exists",
                hint="edit it, or run `rung config init --force` to replace it with the default",
            )
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(default_config_text(), encoding="utf-8")
        print(f"Wrote {config_file}")
    elif args.action == "show":
        from rich.console import Console
        from rich.table import Table

        loaded = load(args)
        exists = "" if config_file.exists() else " (not created yet: `rung config init`)"
        table = Table("setting", "value", "from", box=None, title=f"{config_file}{exists}")
        for name, value, source in settings_table(loaded):
            table.add_row(name, value, source)
        Console().print(table)
    return 0


def tiers_command(
    args: argparse.Namespace, load: Callable[[argparse.Namespace], LoadedSettings]
) -> int:
    """`rung tiers`: every tier, what it turns on, where it came from; the default marked."""
    import json

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from rung.agent import tiers

    found, problems = tiers.available()
    default = load(args).settings.tier
    if args.json:
        rows = [
            {
                "name": t.name,
                "summary": t.summary,
                "turns_on": t.turns_on(),
                "source": t.source,
                "default": t.name == default,
            }
            for t in found.values()
        ]
        print(json.dumps({"tiers": rows, "problems": problems}, indent=2))
        return 0
    console = Console(highlight=False)
    table = Table("tier", "what it is", "turns on", "from", box=None)
    for tier in found.values():
        mark = " (default)" if tier.name == default else ""
        table.add_row(
            f"[cyan]{escape(tier.name)}[/]{mark}",
            escape(tier.summary),
            escape(", ".join(tier.turns_on())),
            escape(tier.source),
        )
    console.print(table)
    for problem in problems:
        console.print(f"[yellow]{escape(problem)}[/]")
    console.print(
        "[dim]rung chat --tier NAME, /tier NAME in a chat, default_tier in config.toml[/]"
    )
    return 0
