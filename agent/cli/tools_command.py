"""`rung tools …`: see, add, switch and test the MCP servers Rung uses, and their policies.

The command line itself is defined in `cli.py` (kept light for `rung --help`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rung.agent.cli.chat_tools import terminal_approver
from rung.config.errors import ConfigError, RungError, UserError
from rung.config.mcp_file import (
    APPROVAL_KEYS,
    FOREIGN_KEYS,
    SERVER_KEYS,
    McpFile,
    Policy,
    ServerConfig,
    drop_rules,
    load_mcp_file,
    parse_server,
    set_policy,
    set_trust,
    variables,
)
from rung.config.paths import Paths
from rung.tools.approvals import (
    ApprovalPolicy,
    Approver,
    no_one_to_ask,
)
from rung.tools.builtin import BUILTINS
from rung.tools.catalog import ALWAYS_ASK, Catalog, load_catalog, policy_for

if TYPE_CHECKING:
    from rich.console import Console

    from rung.tools.hub import Server, ToolHub
    from rung.tools.views import ServerListing


def tools_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    paths = Paths.default()
    console = Console(highlight=False)
    action = args.action
    if action == "list":
        local = getattr(args, "local", False)
        return asyncio.run(_list(console, paths, verbose=args.verbose, local=local))
    if action == "test":
        return asyncio.run(_test(console, paths, args.name, args.tool, args.args))
    if action in ("diff", "approve"):
        tool = getattr(args, "tool", None)
        return asyncio.run(_review(console, paths, args.name, tool, approve=action == "approve"))
    file = load_mcp_file(paths.mcp_file, frozenset(BUILTINS))
    replaced = None  # a server added or removed: its pins go with it
    if action == "import":
        return _import(
            console, file, Path(args.file), yes=args.yes, keep_approvals=args.keep_approvals
        )
    if action == "new":
        _new(console, file, args.name, Path(args.dir))
    elif action == "add":
        _add(file, args)
        _drop_rules(console, file, f"{args.name}:")  # a replaced server inherits nothing
        replaced = args.name
        console.print(f"Added {args.name} to {file.path}; `rung tools test {args.name}` checks it.")
    elif action == "remove":
        if args.name in BUILTINS:
            raise UserError(f"{args.name} is built in", hint=f"rung tools disable {args.name}")
        entries = file.server_entries()
        if args.name not in entries:
            raise UserError(f"no server named {args.name!r} in {file.path}", hint=_names(file))
        del entries[args.name]
        _drop_rules(console, file, f"{args.name}:")
        replaced = args.name
        console.print(f"Removed {args.name}.")
    elif action in ("trust", "untrust"):
        _trust(console, file, args, on=action == "trust")
    elif action in ("enable", "disable"):
        _entry(file, args.name)["enabled"] = action == "enable"
        _entry(file, args.name).pop("disabled", None)
        console.print(f"{args.name}: {action}d.")
    else:
        pattern = _pattern(file, args.target)
        for dropped in set_policy(file, pattern, action):
            console.print(f"[dim]dropped the rule {dropped}[/]")
        console.print(f"{pattern}: {action}")
        if action == "allow" and pattern.partition(":")[0] in ALWAYS_ASK:
            console.print(f"[yellow]note: {pattern.partition(':')[0]} asks before every call[/]")
    file.save()
    if replaced is not None:
        _drop_pins(console, paths, replaced)
    return 0


def _drop_pins(console: Console, paths: Paths, name: str) -> None:
    """Forget a server's pins: one added (or replaced) is pinned afresh when first listed."""
    from rich.markup import escape

    from rung.tools.pins import PinStore

    try:
        if PinStore(paths.pins_file).forget(name):
            console.print(f"[dim]dropped the pins of {escape(name)}'s tools[/]")
    except ConfigError as exc:
        console.print(f"[yellow]{escape(exc.message)}[/]", soft_wrap=True)


def _trust(console: Console, file: McpFile, args: argparse.Namespace, *, on: bool) -> None:
    """`rung tools trust|untrust SERVER[:TOOL] | --host HOST`."""
    if (args.target is None) == (args.host is None):
        raise UserError(
            f"{args.action} takes SERVER[:TOOL] or --host HOST, one of them",
            hint=f"rung tools {args.action} notes:search, or rung tools {args.action} "
            "--host docs.python.org",
        )
    if args.host is not None:
        kind, value = "hosts", args.host.strip().lower().rstrip(".")
        if not value or "/" in value or " " in value:
            raise UserError(
                f"{args.host!r} is not a host name", hint="a name like docs.python.org, no URL"
            )
    else:
        kind, value = "tools", _pattern(file, args.target)
    changed = set_trust(file, kind, value, on=on)
    what = f"fetch to {value}" if kind == "hosts" else value
    if on:
        console.print(f"{what}: trusted after untrusted content{'' if changed else ' (already)'}")
    else:
        console.print(f"{what}: {'no longer trusted' if changed else 'was not trusted'}")


def _drop_rules(console: Console, file: McpFile, prefix: str) -> None:
    """Forget the approval rules for one server (`prefix` is "NAME:")."""
    for pattern in drop_rules(file, prefix):
        console.print(f"[dim]dropped the rule {pattern}[/]")


def _add(file: McpFile, args: argparse.Namespace) -> None:
    command = list(args.server_command)
    if command[:1] == ["--"]:
        command = command[1:]
    if args.name in file.server_entries() and not args.force:
        raise UserError(
            f"{args.name!r} is already in {file.path}", hint="add --force to replace it"
        )
    if args.name in BUILTINS:
        raise UserError(f"{args.name!r} is the name of a built-in server", hint="pick another name")
    entry: dict[str, Any]
    if args.url and command:
        raise UserError("give either --url or -- COMMAND ARGS…, not both")
    if args.url:
        entry = {"url": args.url}
        if args.header:
            entry["headers"] = _pairs(args.header, "--header")
    elif command:
        entry = {"command": command[0], "args": command[1:]}
    else:
        raise UserError(
            "no server given",
            hint="rung tools add NAME -- COMMAND ARGS…, or rung tools add NAME --url URL",
        )
    if args.env:
        entry["env"] = _pairs(args.env, "--env")
    parse_server(args.name, entry, "in the command line")  # the same checks as the file's
    file.server_entries()[args.name] = entry


def _new(console: Console, file: McpFile, name: str, parent: Path) -> None:
    from rung.tools.scaffold import check_name, scaffold

    if check_name(name) in BUILTINS or name in file.server_entries():
        raise UserError(f"there is already a server named {name!r}", hint="pick another name")
    made = scaffold(name, parent)
    file.server_entries()[name] = {"command": sys.executable, "args": [str(made.server)]}
    console.print(f"Created {made.server}\n    and {made.test}, and added {name} to {file.path}.")
    console.print(
        f"Next: edit {made.server.name} · rung tools test {name} · "
        f"{sys.executable} {made.test} · then ask for it in rung chat."
    )


def _import(
    console: Console, file: McpFile, source: Path, *, yes: bool, keep_approvals: bool
) -> int:
    """Show every field another client's config would write; add the servers only on a yes,
    and their approval keys only on a yes of their own (or `--keep-approvals`)."""
    from rich.markup import escape

    new: dict[str, dict[str, Any]] = {}
    ignored: dict[str, list[str]] = {}
    known = {*SERVER_KEYS, *FOREIGN_KEYS}
    for name, raw in read_foreign_config(source).items():
        entry = {k: v for k, v in raw.items() if k in known} if isinstance(raw, dict) else raw
        if name in BUILTINS:
            why = f"the name of a built-in server; add it as `rung tools add {name}-mcp -- …`"
        elif name in file.server_entries():
            why = "already configured, left as it is"
        else:
            try:
                parse_server(name, entry, f"in {source}")
                new[name] = entry
                ignored[name] = [k for k in raw if k not in known]
                continue
            except ConfigError as exc:
                why = exc.message
        console.print(f"[dim]{escape(_shown(name))}: skipped: {escape(why)}[/]", soft_wrap=True)
    if not new:
        console.print("Nothing to import.")
        return 0
    console.print(
        f"{len(new)} server(s) in {escape(str(source))}, each field as it would be written:",
        soft_wrap=True,
    )
    for name, entry in new.items():
        console.print(f"  [bold]{escape(name)}[/]")
        for line in _import_fields(name, entry, source):
            console.print(f"    {escape(line)}", soft_wrap=True)
        if ignored[name]:
            left = ", ".join(_shown(k) for k in ignored[name])
            console.print(f"    [dim]not imported: {escape(left)} (not used by Rung)[/]")
    approving = [name for name, entry in new.items() if any(k in entry for k in APPROVAL_KEYS)]
    if not yes:
        if not sys.stdin.isatty():
            keep = " (approval keys only with --keep-approvals)" if approving else ""
            console.print(f"Nothing added: run again with --yes to add them{keep}.", soft_wrap=True)
            return 1
        if not _confirm("Add them to Rung? [y/N] "):
            console.print("Nothing added.")
            return 1
        if approving and not keep_approvals:
            keep_approvals = _confirm(
                f"Import the approval keys of {', '.join(approving)} too, so that their tools "
                "run as those keys say (allow: without asking you)? [y/N] "
            )
    if approving and keep_approvals:
        console.print(f"Kept the approval keys of {escape(', '.join(approving))}, as shown.")
    elif approving:
        for name in approving:
            for key in APPROVAL_KEYS:
                new[name].pop(key, None)
        how = "" if not yes else "add --keep-approvals to import them, or "
        console.print(
            f"Left out the approval keys of {escape(', '.join(approving))}: {how}set "
            "policies with `rung tools allow|ask|deny SERVER[:TOOL]`.",
            soft_wrap=True,
        )
    file.server_entries().update(new)
    file.save()
    console.print(
        f"Added {', '.join(new)} to {escape(str(file.path))}; `rung tools list` shows them.",
        soft_wrap=True,
    )
    return 0


def _confirm(question: str) -> bool:
    return input(question).strip().lower() in ("y", "yes")


def _import_fields(name: str, entry: Mapping[str, Any], source: Path) -> list[str]:
    """Every field of a checked `mcpServers` entry, one line each, as the user should read it:
    values in full, and in words which of the user's variables a `${VAR}` passes."""
    config = parse_server(name, entry, f"in {source}")
    lines = []
    if config.command is not None:
        words = [config.command, *config.args]
        if all(word.isprintable() for word in words):
            run = config.launch_line()
        else:
            run = json.dumps(words)
        lines.append(f"runs: {run}{_passes(*words)}")
    if config.url is not None:
        lines.append(f"connects to: {_shown(config.url)}{_passes(config.url)}")
    for key, value in config.env.items():
        lines.append(f"env: {_shown(key)}={_shown(value)}{_passes(value)}")
    for key, value in config.headers.items():
        lines.append(f"header: {_shown(key)}={_shown(value)}{_passes(value)}")
    if config.cwd is not None:
        lines.append(f"in: {_shown(config.cwd)}{_passes(config.cwd)}")
    shown = {"command", "args", "url", "env", "headers", "cwd", *APPROVAL_KEYS}
    lines += [f"{k}: {json.dumps(v)}" for k, v in entry.items() if k not in shown]
    lines += [
        f"{k}: {json.dumps(entry[k])}  ({_approval_words(k, config.approval)})"
        for k in APPROVAL_KEYS
        if k in entry
    ]
    return lines


def _passes(*texts: str) -> str:
    """The words "  (passes your X; your Y)" for the `${…}` in `texts`; "" where there are none."""
    found = {pair: None for text in texts for pair in variables(text)}
    if not found:
        return ""
    parts = [
        f"your {var}" if default is None else f"your {var}, or {json.dumps(default)} where unset"
        for var, default in found
    ]
    return f"  (passes {'; '.join(parts)})"


def _approval_words(key: str, approval: Mapping[str, Policy]) -> str:
    if key != "approval":
        return "an approval key of another client; Rung does not read it"
    allowed = [glob for glob, policy in approval.items() if policy == "allow"]
    if not allowed:
        return "an approval key"
    which = "every tool" if "*" in allowed else "the tools " + ", ".join(allowed)
    return f"an approval key: {which} would run without asking you"


def _shown(text: str) -> str:
    """A text as it is, or JSON-quoted where it holds control or invisible characters."""
    return text if text.isprintable() else json.dumps(text)


def read_foreign_config(source: Path) -> dict[str, Any]:
    """The servers block of Claude Desktop's, Cursor's, oterm's or VS Code's config, as written."""
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{source} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    block = raw.get("mcpServers", raw.get("servers")) if isinstance(raw, dict) else None
    if not isinstance(block, dict):
        raise UserError(
            f"{source} has no mcpServers block", hint="point at the file that holds mcpServers"
        )
    return block


def _entry(file: McpFile, name: str) -> dict[str, Any]:
    if name in BUILTINS:
        return file.raw.setdefault("builtins", {}).setdefault(name, {})  # type: ignore[no-any-return]
    entries = file.server_entries()
    if name not in entries:
        raise UserError(f"no server named {name!r} in {file.path}", hint=_names(file))
    return entries[name]  # type: ignore[no-any-return]


def _pattern(file: McpFile, target: str) -> str:
    server, _, tool = target.partition(":")
    if server not in BUILTINS and server not in file.servers and "*" not in server:
        raise UserError(f"no server named {server!r}", hint=_names(file))
    return f"{server}:{tool or '*'}"


def _names(file: McpFile) -> str:
    return "servers: " + ", ".join([*BUILTINS, *file.servers])


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"{flag} {item!r} is not KEY=VALUE")
        pairs[key] = value
    return pairs


async def _started(
    catalog: Catalog, paths: Paths, names: list[str] | None = None, *, pinned: bool = True
) -> ToolHub:
    """A hub of every enabled server, or of the `names` given (enabled or not), settled;
    `pinned`: their tools checked against their pins (and pinned on first use)."""
    from rung.tools.audit import AuditLog
    from rung.tools.hub import ToolHub
    from rung.tools.pins import PinStore

    approver: Approver = no_one_to_ask
    if names is None:
        servers = [s for s in catalog.servers if s.enabled]
        policy = policy_for(catalog)
    else:  # the doctor: disabled servers too
        servers = [replace(s, enabled=True) for s in catalog.servers if s.name in names]
        policy, approver = _doctor_policy(catalog), terminal_approver()
    hub = ToolHub(
        servers,
        policy=policy,
        approver=approver,
        log_dir=paths.server_logs,
        pins=PinStore(paths.pins_file) if pinned else None,
        audit=AuditLog(paths.audit_log),
    )
    await hub.start_and_wait()
    return hub


def _doctor_policy(catalog: Catalog) -> ApprovalPolicy:
    """`rung tools test` runs what the user typed, but deny rules hold and the shell asks."""
    policy = policy_for(catalog)
    denies: dict[str, Policy] = {p: v for p, v in policy.rules.items() if v == "deny"}
    server_denies: dict[str, Mapping[str, Policy]] = {
        name: {g: v for g, v in rules.items() if v == "deny"}
        for name, rules in policy.server_rules.items()
    }
    return ApprovalPolicy({"*": "allow", **denies}, server_denies, always_ask=ALWAYS_ASK)


async def _list(console: Console, paths: Paths, *, verbose: bool, local: bool) -> int:
    """Each server, its state and its tools: the running daemon's, or started here."""
    from rich.markup import escape

    from rung.agent.daemon.client import running_daemon
    from rung.tools.views import listing

    catalog = load_catalog(paths.mcp_file)
    daemon = None if local else running_daemon(paths)
    if daemon is not None:
        servers = await daemon.tools_listing()
    else:
        hub = await _started(catalog, paths)
        try:
            servers = listing(catalog, hub, policy_for(catalog))
        finally:
            await hub.aclose()
    _show_listing(console, servers, verbose=verbose)
    for problem in catalog.problems():
        console.print(f"[red]{escape(problem)}[/]")
    console.print(f"[dim]config: {paths.mcp_file}[/]")
    return 0


def _show_listing(console: Console, servers: list[ServerListing], *, verbose: bool) -> None:
    from rich.markup import escape

    for server in servers:
        color = {"ready": "green", "failed": "red", "disabled": "dim"}.get(server.state, "yellow")
        console.print(
            f"[bold]{escape(server.name)}[/] [{color}]{server.state}[/] "
            f"[dim]{escape(server.launch)}[/]"
        )
        if server.state == "disabled":
            continue
        if server.state != "ready":
            console.print(
                f"  [red]{escape(server.reason)}[/] [dim]log: {escape(server.log)}[/]",
                soft_wrap=True,  # a path broken across lines cannot be copied
            )
        if server.pin_problem:
            console.print(f"  [red]{escape(server.pin_problem)}[/]", soft_wrap=True)
        for tool in server.tools:
            if tool.blocked:  # its new description is not shown here either
                why = _blocked_line(server.name, tool.blocked)
                console.print(f"  {escape(tool.name):<24} {why}")
                continue
            about = escape(_first(tool.description))
            console.print(f"  {escape(tool.name):<24} [dim]{tool.decision:<5}[/] {about}")
            if verbose:
                console.print(f"    [dim]{escape(json.dumps(tool.parameters))}[/]")


def _server(catalog: Catalog, name: str) -> ServerConfig:
    config = catalog.get(name)
    if config is None and name in catalog.file.problems:
        raise catalog.file.problems[name]
    if config is None:
        raise UserError(f"no server named {name!r}", hint=_names(catalog.file))
    return config


async def _test(console: Console, paths: Paths, name: str, tool: str | None, raw: str) -> int:
    from rich.markup import escape

    catalog = load_catalog(paths.mcp_file)
    config = _server(catalog, name)
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"--args is not valid JSON: {exc.msg}", hint="e.g. --args '{\"a\": 1}'"
        ) from None
    console.print(f"starting [bold]{escape(name)}[/]: {escape(config.launch_line())}")
    hub = await _started(catalog, paths, [name])
    try:
        server = hub.servers[name]
        if server.state != "ready":
            return _failed(console, server)
        console.print(
            f"[green]✓[/] ready in {server.started_s * 1000:.0f} ms, {len(server.tools)} tools:"
        )
        if server.pin_problem:
            console.print(f"  [red]{escape(server.pin_problem)}[/]", soft_wrap=True)
        for remote in server.tools:
            if remote.name in server.blocked:
                console.print(f"  {escape(remote.name):<24} {_blocked(server, remote.name)}")
                continue
            console.print(f"  {escape(remote.name):<24} {escape(_first(remote.description))}")
        if tool is None:
            return 0
        start = time.perf_counter()
        try:
            result = await hub.call(hub.name_for(name, tool) or tool, arguments)
        except RungError as exc:
            console.print(f"[red]✗ {escape(tool)} failed: {escape(exc.message)}[/]")
            if exc.hint:
                console.print(f"  hint: {escape(exc.hint)}")
            return 1
        console.print(
            f"[green]✓[/] {escape(tool)} answered in {(time.perf_counter() - start) * 1000:.1f} ms:"
        )
        console.print(escape(result))
        return 0
    finally:
        await hub.aclose()


def _failed(console: Console, server: Server) -> int:
    """A server that did not start: why, its last words, its log; the exit code."""
    from rich.markup import escape

    console.print(f"[red]✗ {escape(server.reason)}[/]")
    tail = log_tail(server.log_path)
    if tail:
        console.print("  its last words (stderr):")
        for line in tail:
            console.print(f"  [dim]│ {escape(line)}[/]")
    console.print(f"  log: {server.log_path}", markup=False, soft_wrap=True)
    return 1


def _blocked(server: Server, tool: str) -> str:
    """What `list` and `test` say of a blocked tool (its new description is not shown)."""
    return _blocked_line(server.name, server.blocked[tool])


def _blocked_line(server: str, why: str) -> str:
    from rich.markup import escape

    if why == "unverified":
        return "[red]blocked[/] its pins cannot be read (above)"
    since = "changed since it was pinned" if why == "changed" else "new since the server was pinned"
    return f"[red]blocked[/] {since}: {escape(f'rung tools diff {server}')}"


DIFF_STYLES = {"+++": "bold", "---": "bold", "@@": "cyan", "+": "green", "-": "red"}


async def _review(
    console: Console, paths: Paths, name: str, tool: str | None, *, approve: bool
) -> int:
    """`rung tools diff|approve SERVER [TOOL]`: start the server and show how its tools
    differ from their pins; `approve` then pins exactly what it showed. Exit code 1 when
    `diff` found a difference (or the server did not start)."""
    from rich.markup import escape

    from rung.tools.pins import PinStore, compare, diff

    catalog = load_catalog(paths.mcp_file)
    config = _server(catalog, name)
    if config.builtin:
        raise UserError(
            f"{name} is built in: Rung's own tools are not pinned",
            hint="they change only when Rung itself is updated",
        )
    store = PinStore(paths.pins_file)
    pinned = store.read().get(name)  # a file that cannot be read is said before anything starts
    console.print(f"starting [bold]{escape(name)}[/]: {escape(config.launch_line())}")
    hub = await _started(catalog, paths, [name], pinned=False)
    try:
        server = hub.servers[name]
        if server.state != "ready":
            return _failed(console, server)
        now = {t.name: t for t in server.tools}
        if tool is not None and tool not in now:
            raise UserError(
                f"{name} offers no tool named {tool!r}", hint=f"its tools: {', '.join(now)}"
            )
        if pinned is None and not approve:
            console.print(
                f"{escape(name)} is not pinned yet: its {len(now)} tools are pinned as they are "
                f"the first time Rung lists them (or now: rung tools approve {escape(name)})."
            )
            return 0
        changes = {
            t: why for t, why in compare(pinned or {}, server.tools).items() if tool in (None, t)
        }
        for changed in changes:
            for line in diff(changed, (pinned or {}).get(changed), now[changed]):
                style = next((s for p, s in DIFF_STYLES.items() if line.startswith(p)), "")
                console.print(line, style=style, markup=False, highlight=False, soft_wrap=True)
        gone = sorted(set(pinned or {}) - set(now)) if tool is None else []
        if gone:
            console.print(f"[dim]no longer offered: {escape(', '.join(gone))} (pins kept)[/]")
        if not changes:
            what = f"{tool} is" if tool else f"its {len(now)} tools are"
            console.print(f"{escape(name)}: {escape(what)} as pinned; nothing to approve.")
            return 0
        if approve:
            store.approve(name, [now[t] for t in changes])
            console.print(
                f"[green]✓[/] pinned {escape(', '.join(changes))} of {escape(name)} as shown "
                "above: offered to the model from now on."
            )
            return 0
        one = f" (or one of them: rung tools approve {name} TOOL)" if len(changes) > 1 else ""
        console.print(
            f"{len(changes)} of {escape(name)}'s tools differ from their pins and are not "
            f"offered to the model. Once you have read the change: rung tools approve "
            f"{escape(name)}{escape(one)}",
            soft_wrap=True,
        )
        return 1
    finally:
        await hub.aclose()


def log_tail(path: Path, lines: int = 8) -> list[str]:
    """The end of a server's stderr from its last start (Rung's own marker lines left out)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    recent = text.splitlines()
    starts = [
        i for i, ln in enumerate(recent) if ln.startswith("--- rung ") and " starting: " in ln
    ]
    recent = recent[starts[-1] if starts else 0 :]
    return [ln for ln in recent if ln.strip() and not ln.startswith("--- rung ")][-lines:]


def _first(text: str) -> str:
    return text.strip().splitlines()[0][:80] if text.strip() else ""
