"""`rung heartbeat [status|edit|now]`: the daemon's heartbeat, its checklist and its day.

The command line is defined here, its heavy imports inside the handler."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_heartbeat_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    heartbeat = sub.add_parser(
        "heartbeat",
        parents=[common],
        help="the daemon's heartbeat: what it watches (heartbeat.md), what it did today",
        description="Every heartbeat_every minutes inside active_hours the daemon goes "
        "through heartbeat.md and tells you only what needs you. Without an action: its "
        "settings, the next beat, today's beats, tokens and CPU against the budget, and the "
        "last outcome.",
    )
    hsub = heartbeat.add_subparsers(dest="action", metavar="ACTION")
    status = hsub.add_parser("status", parents=[common], help="what it does (the default)")
    status.add_argument("--json", action="store_true", help="as JSON")
    hsub.add_parser("edit", parents=[common], help="edit the checklist (heartbeat.md) in $EDITOR")
    now = hsub.add_parser(
        "now",
        parents=[common],
        help="beat now in the daemon, even if nothing changed, and say what it found",
    )
    now.add_argument("--json", action="store_true", help="as JSON")
    heartbeat.set_defaults(handler=_heartbeat, json=False)


def _heartbeat(args: argparse.Namespace) -> int:
    from rung.config.paths import Paths

    paths = Paths.default()
    if args.action == "edit":
        return _edit(paths)
    if args.action == "now":
        return _now(paths, as_json=args.json)
    return _status(args, paths)


def _edit(paths: Any) -> int:
    from rung.agent.daemon.checklist import TEMPLATE
    from rung.agent.prompt import edit_file

    path = paths.heartbeat_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(TEMPLATE, encoding="utf-8")
    edit_file(path)
    print(f"saved {path}; the daemon reads it at the next beat")
    return 0


def _now(paths: Any, *, as_json: bool) -> int:
    from rung.agent.daemon.client import running_daemon
    from rung.config.errors import DaemonNotRunning

    client = running_daemon(paths)
    if client is None:
        raise DaemonNotRunning(
            "the daemon is not running; the heartbeat beats in it",
            hint="`rung daemon start`, then `rung heartbeat now` again",
        )
    outcome = client.beat()
    if as_json:
        print(json.dumps(outcome, indent=2))
    else:
        print(_outcome(outcome))
    return 1 if outcome.get("outcome") == "failed" else 0


def _status(args: argparse.Namespace, paths: Any) -> int:
    from rung.agent.cli.main import load
    from rung.agent.daemon.checklist import summary
    from rung.agent.daemon.client import running_daemon
    from rung.agent.daemon.ledger import Ledger
    from rung.agent.daemon.schedule import local_zone_name, zone

    client = running_daemon(paths)
    data: dict[str, Any] | None = client.status().get("heartbeat") if client else None
    if data is None or "problem" in data:
        from datetime import datetime

        problem = {"problem": data["problem"]} if data else {}

        settings = load(args).settings
        day = datetime.now(zone(local_zone_name())).date().isoformat()
        with Ledger(paths.jobs_db) as ledger:
            today = ledger.heartbeat_day(day)
        data = summary(settings, paths.heartbeat_file, today, None)
        data |= {"daemon": client is not None, **problem}
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2))
        return 0
    every = data["every_min"]
    print(f"heartbeat: every {every} min in {data['active_hours']}" if every else "heartbeat: off")
    empty = " (empty: no beats ask the model)" if data["checklist_empty"] else ""
    print(f"  checklist: {data['checklist']}{empty}")
    if data.get("problem"):
        print(f"  it cannot beat in the daemon: {data['problem']}")
    elif data.get("daemon") is False:
        print("  the daemon is not running: no beats until `rung daemon start`")
    elif data.get("next"):
        from datetime import datetime

        print(f"  next beat: {datetime.fromtimestamp(data['next']):%Y-%m-%d %H:%M}")
    today = data["today"]
    print(
        f"  today: {today['beats']} asked the model, {today['skipped']} skipped; "
        f"{today['tokens']} of {today['budget_tokens']} tokens, "
        f"{today['cpu_s']:g} of {today['budget_cpu_s']:g} CPU s"
    )
    if data.get("last"):
        print(f"  last: {_outcome(data['last'])}")
    return 0


def _outcome(outcome: dict[str, Any]) -> str:
    what = str(outcome.get("outcome", "?"))
    if outcome.get("why"):
        what += f": {outcome['why']}"
    if outcome.get("run"):
        what += f" (run {outcome['run']}, {outcome.get('tokens', 0)} tokens)"
    if outcome.get("outcome") == "notify":
        what += " - see `rung inbox`"
    return what
