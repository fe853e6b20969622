"""The `rung` command line. Parsing only at the top: every command imports what it needs,
so `rung --help` starts at once."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rung.agent.cli.heartbeat_command import add_heartbeat_parser
from rung.agent.cli.jobs_command import add_jobs_parser

if TYPE_CHECKING:
    from rung.config.settings import LoadedSettings

DESCRIPTION = """\
Rung: a local-first personal AI agent on top of Ollama.

  rung init                 first run: model, tier, persona, profile, then a check
  rung chat                 chat in the terminal
  rung ask "question"       answer once and exit (reads stdin when piped)
  rung doctor [--model]     check the setup; --model: can the model call tools?
  rung tiers                chatbot, agent, assistant (and plugins): what each turns on
  rung sessions list        past conversations (search, show, export, delete)
  rung config show          settings in effect and where each came from
  rung daemon start         the background daemon (stop, restart, status, logs, install)
  rung jobs add NAME "…"    a job the daemon runs on a schedule (list, show, run, history)
  rung inbox                what the jobs and the heartbeat told you
  rung heartbeat edit       what the daemon keeps an eye on (status, now)
  rung web                  the assistant's page in your browser (chat, inbox, jobs)
"""

EPILOG = "Settings come from defaults <- config.toml <- RUNG_* variables <- flags. \
`rung COMMAND --help` tells more."

# flag -> setting name; the provenance label in `config show` uses the first spelling
SETTING_FLAGS: list[tuple[list[str], str, dict[str, Any]]] = [
    (["--model", "-m"], "model", {"help": "Ollama model to use, e.g. qwen3:4b"}),
    (["--ollama-host", "--host"], "ollama_host", {"help": "Ollama server URL"}),
    (
        ["--tier"],
        "default_tier",
        {
            "metavar": "TIER",
            "help": "chatbot (no tools), agent (tools), assistant (tools, profile, recall), or "
            "a plugin's (`rung tiers`)",
        },
    ),
    (["--num-ctx"], "num_ctx", {"type": int, "help": "context window in tokens"}),
    (["--think"], "think", {"choices": ["auto", "on", "off"], "help": "thinking models"}),
]


def _count(text: str) -> int:
    """A whole number of 1 or more, for a flag."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy must not reset what was given before the subcommand
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and logs"
    )
    common.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS, help="config file to read"
    )
    settings_flags = argparse.ArgumentParser(add_help=False)
    for names, dest, extra in SETTING_FLAGS:
        settings_flags.add_argument(*names, dest=dest, default=None, **extra)

    parser = argparse.ArgumentParser(
        prog="rung",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"rung {_version()}")
    parser.set_defaults(debug=False, config=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser(
        "init",
        parents=[common],
        help="first run: pick a model, a tier, a persona and a profile, then check it all",
        description="Set Rung up in a few questions, each with a default (Enter takes it): "
        "the Ollama server, the model (from those Ollama has pulled, or one to pull now), the "
        "tier, the assistant's name and tone (persona.md) and, for the assistant tier, a few "
        "words about you (profile.md). Nothing is written until the last answer (Ctrl-C "
        "or Ctrl-D at a question stops with nothing written): then config.toml gets the "
        "model, the tier and the server (the rest of it is kept, comments too), persona.md "
        "and profile.md are created if they do not exist (an existing one is never "
        "replaced), and `rung doctor` checks the result; its exit code is init's. Answers "
        "can also come on stdin, one per line; when they run out, the defaults are taken.",
    )
    init.add_argument("--model", "-m", dest="init_model", metavar="NAME", help="use this model")
    init.add_argument("--tier", dest="init_tier", metavar="TIER", help="use this tier")
    init.add_argument(
        "--ollama-host", "--host", dest="init_host", metavar="URL", help="use this Ollama server"
    )
    init.add_argument(
        "--yes", "-y", action="store_true", help="take every default without asking (pulls nothing)"
    )
    init.set_defaults(handler=_init)

    chat = sub.add_parser(
        "chat",
        parents=[common, settings_flags],
        help="chat in the terminal",
        description="Chat in the terminal. Type /help inside for the slash commands. While "
        "the daemon runs, the chat runs in it (its tools and memory warm); --local keeps it "
        "in this process.",
    )
    chat.add_argument("--resume", metavar="ID", help="continue a stored session")
    chat.add_argument(
        "--local",
        action="store_true",
        help="chat in this process even while the daemon runs (it chats otherwise)",
    )
    chat.set_defaults(handler=_chat)

    ask = sub.add_parser(
        "ask",
        parents=[common, settings_flags],
        help="answer one question and exit",
        description="Answer one question and exit. Without QUESTION, reads it from stdin.",
    )
    ask.add_argument("question", nargs="*", help="the question (default: read stdin)")
    ask.add_argument("--json", action="store_true", help="print a JSON result instead of text")
    ask.add_argument("--no-save", action="store_true", help="do not store this as a session")
    ask.add_argument(
        "--local",
        action="store_true",
        help="answer in this process even while the daemon runs (it answers otherwise)",
    )
    ask.set_defaults(handler=_ask)

    doctor = sub.add_parser(
        "doctor",
        parents=[common],
        help="check the setup end to end; --model: can the model call tools?",
        description="Check the setup end to end, in plain words: the config file, the Ollama "
        "server, the model (pulled, context length, tool support), the tool servers, the "
        "memory. With --model, also run the tool-calling check on the configured model (or "
        "NAME): two dozen cases (one call, choosing among look-alikes, two calls, no tool) "
        "at your num_ctx and tool count; the result is kept, and the assistant tier warns "
        "about a model that scored below 70 %%. Exit code 1 when a check failed.",
    )
    doctor.add_argument(
        "--model",
        dest="check_model",
        nargs="?",
        const="",
        metavar="NAME",
        help="run the tool-calling check on the configured model, or on NAME",
    )
    doctor.add_argument("--ollama-host", "--host", dest="ollama_host", help="Ollama server URL")
    doctor.add_argument("--num-ctx", type=int, help="context window for the check")
    doctor.add_argument(
        "--tools",
        type=_count,
        metavar="N",
        help="tools offered per case, at least the 12 the cases use (default: max_tools)",
    )
    doctor.add_argument(
        "--strict",
        action="store_true",
        help="do not run tool calls the model wrote as text (to compare with the default)",
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.set_defaults(handler=_doctor)

    tiers = sub.add_parser(
        "tiers",
        parents=[common],
        help="the tiers (chatbot, agent, assistant, plugins) and what each turns on",
        description="Every tier: what it turns on (tools, recall, profile, its step limit "
        "and approval rules) and where it came from (built in, or the package of a plugin "
        "in the rung.tiers entry-point group).",
    )
    tiers.add_argument("--json", action="store_true", help="machine-readable output")
    tiers.set_defaults(handler=_tiers)

    sessions = sub.add_parser("sessions", parents=[common], help="stored conversations")
    ssub = sessions.add_subparsers(dest="action", metavar="ACTION", required=True)
    ssub.add_parser("list", parents=[common], help="list sessions, newest first").add_argument(
        "-n", "--limit", type=int, default=None, help="show at most N"
    )
    search = ssub.add_parser(
        "search",
        parents=[common],
        help="sessions where every word was said (yours or the answers), best first",
    )
    search.add_argument("text", nargs="+", help="the words to look for (the last may be cut)")
    search.add_argument("-n", "--limit", type=int, default=20, help="show at most N")
    ssub.add_parser("show", parents=[common], help="print a session").add_argument("id")
    export = ssub.add_parser("export", parents=[common], help="export a session as Markdown")
    export.add_argument("id")
    export.add_argument("--md", action="store_true", help="Markdown (the only format so far)")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    ssub.add_parser("delete", parents=[common], help="delete a session").add_argument("id")
    sessions.set_defaults(handler=_sessions)

    config = sub.add_parser("config", parents=[common], help="settings")
    csub = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    csub.add_parser(
        "show", parents=[common, settings_flags], help="effective settings and their sources"
    )
    csub.add_parser("path", parents=[common], help="print the config file's path")
    csub.add_parser(
        "init", parents=[common], help="write a commented default config file"
    ).add_argument("--force", action="store_true", help="overwrite an existing file")
    config.set_defaults(handler=_config)
    add_tools_parser(sub, common)
    add_memory_parser(sub, common)
    add_audit_parser(sub, common)
    add_daemon_parser(sub, common, settings_flags)
    add_jobs_parser(sub, common)
    add_heartbeat_parser(sub, common)
    return parser


def add_memory_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    local = argparse.ArgumentParser(add_help=False)
    local.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS,  # given before or after ACTION, it counts
        help="use the memory in this process even while the daemon runs (its is used otherwise)",
    )
    memory = sub.add_parser(
        "memory",
        parents=[common, local],
        help="long-term memory: your documents, past conversations and facts about you",
        description="Rung's memory: your documents, your past conversations (every finished "
        "turn) and the facts it knows about you, embedded locally and searched by meaning and "
        "by keyword. The assistant tier recalls from it each turn.",
    )
    msub = memory.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = msub.add_parser(
        "add",
        parents=[common, local],
        help="add files and folders (.txt .md .rst .html .pdf, source code); re-running is safe",
    )
    add.add_argument("paths", nargs="+", metavar="PATH", help="files and folders (recursive)")
    add.add_argument(
        "--include", action="append", default=[], metavar="GLOB", help="only files matching"
    )
    add.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="skip files matching"
    )
    add.add_argument(
        "--sync", action="store_true", help="also forget documents under PATH that are gone"
    )
    search = msub.add_parser("search", parents=[common, local], help="the best matches for a query")
    search.add_argument("query", nargs="+")
    search.add_argument("-k", "--limit", type=int, default=5, help="how many hits (default 5)")
    search.add_argument("--source", metavar="PATH", help="only this document")
    search.add_argument(
        "--in",
        dest="collection",
        choices=("all", "documents", "conversations"),
        default="all",
        help="documents, past conversations, or both (default)",
    )
    search.add_argument(
        "--since",
        metavar="WHEN",
        help="only what changed (a file) or was said (a turn) since then: "
        "a date (2026-11-01), 'today', 'yesterday', or an age (3d, 2w, 12h)",
    )
    search.add_argument("--until", metavar="WHEN", help="only before then (same forms)")
    search.add_argument(
        "--mode", choices=("hybrid", "vector", "keyword"), default="hybrid", help="default: hybrid"
    )
    search.add_argument("--json", action="store_true", help="machine-readable output")
    stats = msub.add_parser(
        "stats", parents=[common, local], help="what is stored, the model, disk size"
    )
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    forget = msub.add_parser(
        "forget",
        parents=[common, local],
        help="forget documents (by path), chunks (by id) or conversations (session:ID)",
    )
    forget.add_argument(
        "what",
        nargs="+",
        metavar="PATH|ID",
        help="a path added, a chunk id, or session:ID for a past conversation",
    )
    msub.add_parser(
        "reindex",
        parents=[common, local],
        help="embed everything again (after changing embedding_model); safe to interrupt",
    )
    export = msub.add_parser(
        "export",
        parents=[common, local],
        help="everything stored, as JSON lines (a backup you can read)",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    facts = msub.add_parser(
        "facts",
        parents=[common, local],
        help="what Rung knows about you: list (default), add, edit, forget",
        description="Short durable facts about you. A new fact that says the same thing with "
        "a new value (I live in Lyon -> I live in Paris now) replaces the old one.",
    )
    fsub = facts.add_subparsers(dest="facts_action", metavar="ACTION")
    listing = fsub.add_parser("list", parents=[common, local], help="the current facts")
    listing.add_argument("--all", action="store_true", help="also those replaced, and when")
    fsub.add_parser("add", parents=[common, local], help="remember a fact").add_argument(
        "text", nargs="+"
    )
    edit = fsub.add_parser("edit", parents=[common, local], help="change a fact's text")
    edit.add_argument("id")
    edit.add_argument("text", nargs="+")
    fsub.add_parser("forget", parents=[common, local], help="forget a fact").add_argument(
        "ids", nargs="+", metavar="ID"
    )
    memory.set_defaults(handler=_memory)


def add_tools_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    tools = sub.add_parser(
        "tools",
        parents=[common],
        help="MCP tool servers: list, add, remove, enable, disable, test, policies, trust, pins",
        description="Manage the MCP servers in mcp.json (and the built-in ones) and the "
        "approval policy of their tools.",
    )
    tsub = tools.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = tsub.add_parser(
        "list", parents=[common], help="each server, its state, its tools and their policy"
    )
    listing.add_argument("-v", "--verbose", action="store_true", help="show each tool's schema")
    listing.add_argument(
        "--local",
        action="store_true",
        help="start the servers in this process even while the daemon runs (its are shown "
        "otherwise)",
    )
    add = tsub.add_parser(
        "add",
        parents=[common],
        help="add a server: NAME -- COMMAND ARGS…, or NAME --url URL",
        description="Add a stdio server (rung tools add NAME -- COMMAND ARGS…) or a streamable "
        "HTTP server (rung tools add NAME --url URL) to mcp.json, enabled.",
    )
    add.add_argument("name")
    add.add_argument("--url", help="the server's streamable HTTP endpoint")
    add.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--header", action="append", default=[], metavar="KEY=VALUE")
    add.add_argument("--force", action="store_true", help="replace a server of that name")
    add.add_argument("server_command", nargs="*", metavar="-- COMMAND ARGS")
    for action, text in (
        ("remove", "remove a server from mcp.json"),
        ("enable", "start this server from now on"),
        ("disable", "keep this server's entry but do not start it"),
    ):
        tsub.add_parser(action, parents=[common], help=text).add_argument("name")
    for policy, text in (
        ("allow", "let these tools run without asking"),
        ("ask", "ask before each call"),
        ("deny", "never run these tools (deny wins over any allow)"),
    ):
        tsub.add_parser(
            policy, parents=[common], help=f"SERVER[:TOOL]: {text} (TOOL may be a glob)"
        ).add_argument("target", metavar="SERVER[:TOOL]")
    for action, text in (
        ("trust", "let it run after untrusted content without a fresh yes (its policy holds)"),
        ("untrust", "take back a `trust`"),
    ):
        trust = tsub.add_parser(
            action,
            parents=[common],
            help=f"SERVER[:TOOL] or --host HOST: {text}",
            description="Once a tool's result, a document, a web page or a memory is in a "
            "turn, a call that could send data out or change something needs your yes for "
            "that call, even where its policy allows it. `trust` lifts that for a tool "
            "(TOOL may be a glob) or, for fetch, a host and its subdomains.",
        )
        trust.add_argument("target", nargs="?", metavar="SERVER[:TOOL]")
        trust.add_argument("--host", help="a host fetch may reach (and its subdomains)")
    new = tsub.add_parser(
        "new",
        parents=[common],
        help="scaffold your own tool server (one Python file and its test) and add it",
    )
    new.add_argument("name")
    new.add_argument("--dir", default=".", help="where to create the NAME folder (default: here)")
    imports = tsub.add_parser(
        "import",
        parents=[common],
        help="take the mcpServers of another client's config (shows every field first)",
    )
    imports.add_argument("file", help="e.g. claude_desktop_config.json or .cursor/mcp.json")
    imports.add_argument(
        "--yes",
        action="store_true",
        help="add them without asking; approval keys are left out unless --keep-approvals",
    )
    imports.add_argument(
        "--keep-approvals",
        action="store_true",
        help="also import the servers' approval keys (tools they allow run without asking)",
    )
    test = tsub.add_parser(
        "test",
        parents=[common],
        help="start one server, list its tools, optionally call one; report timings",
    )
    test.add_argument("name")
    test.add_argument("tool", nargs="?")
    test.add_argument("--args", default="{}", metavar="JSON", help="the tool's arguments")
    pinning = (
        "The first time Rung lists a server's tools it pins them: a digest of each tool's name, "
        "description, input schema and read-only flag, kept in pins.json beside mcp.json. A "
        "tool whose definition changes later, or a new tool on a pinned server, is not "
        "offered to the model until you approve it. Built-in servers are not pinned."
    )
    diff = tsub.add_parser(
        "diff",
        parents=[common],
        help="start a server and show how its tools differ from their pins (blocked until "
        "approved)",
        description=f"{pinning} `diff` starts the server and shows each changed or new tool as "
        "a unified diff of its description and schema. Exit code 1 when something differs.",
    )
    diff.add_argument("name", metavar="SERVER")
    approve = tsub.add_parser(
        "approve",
        parents=[common],
        help="SERVER [TOOL]: pin the changed or new tools as they are now, after `diff`",
        description=f"{pinning} `approve` starts the server, shows the same diff as `diff` "
        "and pins exactly what it showed: every changed or new tool, or only TOOL.",
    )
    approve.add_argument("name", metavar="SERVER")
    approve.add_argument("tool", nargs="?", metavar="TOOL")
    tools.set_defaults(handler=_tools)


def add_audit_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    audit = sub.add_parser(
        "audit",
        parents=[common],
        help="every tool call Rung made: what ran, who decided, how long it took",
        description="The audit log: one line for every tool call Rung made (in the state dir, "
        "audit.jsonl, and audit.jsonl.1 once it passed 10 MB): the server and tool, the "
        "arguments, the decision (allowed, denied, refused where no one could answer, "
        "blocked by its pin) and who made it (the policy, you, your trust, no one, the pin; "
        "'gate' when untrusted content in the turn asked for a fresh yes), how long it ran, "
        "its result's size, and whether it failed. Newest last.",
    )
    audit.add_argument(
        "--since",
        metavar="WHEN",
        help="only calls since then: a date (2026-11-01), a time (2026-11-01T09:30), "
        "'today', 'yesterday', or an age (30m, 12h, 3d, 2w)",
    )
    audit.add_argument("--tool", metavar="GLOB", help="only these tools (TOOL or SERVER:TOOL)")
    audit.add_argument("--server", metavar="NAME", help="only this server's calls (a glob)")
    audit.add_argument("--json", action="store_true", help="the records as JSON, in full")
    audit.add_argument(
        "-n", "--limit", type=_count, default=50, metavar="N", help="the last N (default 50)"
    )
    audit.set_defaults(handler=_audit)


def _seconds(text: str) -> float:
    """A number of seconds above 0, for a flag."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _memory_size(text: str) -> str:
    """A size systemd takes for MemoryMax: bytes, or a number with K, M, G or T."""
    if not re.fullmatch(r"[1-9][0-9]*[KMGT]?", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 2G, 512M or 1500000000")
    return text.strip()


def add_daemon_parser(
    sub: Any, common: argparse.ArgumentParser, settings_flags: argparse.ArgumentParser
) -> None:
    daemon = sub.add_parser(
        "daemon",
        parents=[common],
        help="the background daemon: start, stop, restart, status, logs, install, run",
        description="The daemon: one background process per user that serves Rung's local "
        "API on a unix socket in $XDG_RUNTIME_DIR/rung/ (the folder 0700, the socket 0600; "
        "only your uid is let in, and every request carries the token from the token file "
        "beside it).",
    )
    dsub = daemon.add_subparsers(dest="action", metavar="ACTION", required=True)
    dsub.add_parser(
        "run",
        parents=[common, settings_flags],
        help="run the daemon in the foreground (for a service manager; sd_notify aware)",
        description="Run the daemon in this process until SIGTERM, SIGINT or `rung daemon "
        "stop`; its log goes to stderr. Under systemd (Type=notify) it says READY=1 once it "
        "answers and STOPPING=1 when it stops. Exit code 1 when a daemon already runs.",
    )
    start = dsub.add_parser(
        "start",
        parents=[common, settings_flags],
        help="start the daemon in the background; returns once it answers",
        description="Start the daemon detached from this terminal (its output goes to its "
        "log, `rung daemon logs`) and return once its API answers. Says so when one "
        "already runs.",
    )
    start.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="S", help="wait this long (default 30)"
    )
    stop = dsub.add_parser(
        "stop",
        parents=[common],
        help="stop the daemon gracefully (SIGTERM if it does not answer)",
        description="Ask the daemon to stop through its API and wait until it has exited; "
        "when it does not answer, or has not stopped after --timeout, send it SIGTERM.",
    )
    stop.add_argument(
        "--timeout", type=_seconds, default=15.0, metavar="S", help="wait this long (default 15)"
    )
    status = dsub.add_parser(
        "status",
        parents=[common],
        help="is it running: pid, uptime, memory, model, turns, tool servers, last errors "
        "(exit code 3: not running)",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    restart = dsub.add_parser(
        "restart",
        parents=[common, settings_flags],
        help="stop the daemon (if it runs) and start it again",
        description="`rung daemon stop`, then `rung daemon start`: a daemon started before "
        "an update or a change to mcp.json picks it up.",
    )
    restart.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="S", help="wait this long (default 30)"
    )
    logs = dsub.add_parser(
        "logs",
        parents=[common],
        help="the end of the daemon's log (-f: and what comes next)",
        description="The end of the log of a daemon started by `rung daemon start` (under "
        "systemd, `journalctl --user -u rung` has it). The log is moved aside to "
        "daemon.log.1 by a start once it passes 10 MB.",
    )
    logs.add_argument(
        "-n", "--lines", type=_count, default=50, metavar="N", help="the last N lines (default 50)"
    )
    logs.add_argument(
        "-f", "--follow", action="store_true", help="then print what is added, until Ctrl-C"
    )
    install = dsub.add_parser(
        "install",
        parents=[common],
        help="run the daemon as a service: a systemd user unit (macOS: a launchd agent)",
        description="Write a systemd user unit, ~/.config/systemd/user/rung.service "
        "(Type=notify, Restart=on-failure with a start limit, WatchdogSec, MemoryMax), and "
        "say how to enable it and keep it running after logout. On macOS, a launchd agent "
        "in ~/Library/LaunchAgents. The RUNG_* and OLLAMA_HOST variables of this shell go "
        "into it.",
    )
    install.add_argument(
        "--print", action="store_true", help="print the unit (or plist) instead of writing it"
    )
    install.add_argument(
        "--memory-max",
        default="2G",
        metavar="SIZE",
        type=_memory_size,
        help="the unit's MemoryMax: past this the daemon is stopped and restarted (default 2G)",
    )
    daemon.set_defaults(handler=_daemon)
    web = sub.add_parser(
        "web",
        parents=[common, settings_flags],
        help="the assistant's web page: prints and opens a one-time login link",
        description="Serve the web page from the daemon (starting the daemon if it is not "
        "running) on 127.0.0.1:web_port, then print a login link and open it in your "
        "browser. The link logs one browser in, once, within two minutes; run `rung web` "
        "again for another.",
    )
    web.add_argument("--no-open", action="store_true", help="print the link only")
    web.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="S", help="wait this long (default 30)"
    )
    web.set_defaults(handler=_web)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 0
    output = logging.StreamHandler()
    form = "%(levelname)s %(name)s: %(message)s"
    output.setFormatter(logging.Formatter(form) if args.debug else OneLineFormatter(form))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[output])
    from rung.config.errors import RungError

    try:
        return handler(args)
    except RungError as exc:
        if args.debug:
            logging.exception("%s", exc)
        print(f"rung: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rung: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rung … | head`: the reader has gone, which is fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


class OneLineFormatter(logging.Formatter):
    """A log record as one line: an exception it carries (a background thread's, say) is
    named with its message after the record's, and its traceback is left to --debug."""

    def format(self, record: logging.LogRecord) -> str:
        error = record.exc_info[1] if record.exc_info else None
        plain = logging.makeLogRecord(
            {**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None}
        )
        line = super().format(plain)
        if error is None:
            return line
        from rung.config.errors import RungError

        if isinstance(error, RungError):
            return f"{line}: {error.message}" + (f" ({error.hint})" if error.hint else "")
        text = str(error).strip().splitlines()
        return f"{line}: {type(error).__name__}" + (f": {text[0]}" if text else "")


def load(args: argparse.Namespace) -> LoadedSettings:
    from pathlib import Path

    from rung.config.paths import Paths
    from rung.config.settings import load_settings

    config_file = Path(args.config) if args.config else Paths.default().config_file
    flags = {dest: getattr(args, dest, None) for _, dest, _ in SETTING_FLAGS}
    return load_settings(config_file, flags=flags)


def _init(args: argparse.Namespace) -> int:
    from rung.agent.cli.init_command import init_command

    return init_command(
        load(args),
        model=args.init_model,
        tier=args.init_tier,
        host=args.init_host,
        defaults=args.yes,
    )


def _chat(args: argparse.Namespace) -> int:
    from rung.agent.cli.chat import run_chat

    return run_chat(load(args), resume=args.resume, debug=args.debug, local=args.local)


def _ask(args: argparse.Namespace) -> int:
    from rung.agent.cli.ask import run_ask

    return run_ask(
        load(args), args.question, as_json=args.json, save=not args.no_save, local=args.local
    )


def _doctor(args: argparse.Namespace) -> int:
    from rung.agent.cli.doctor import doctor_command

    if args.check_model:
        args.model = args.check_model  # read by load() like the --model setting flag
    return doctor_command(
        load(args),
        check_model=args.check_model is not None,
        tools=args.tools,
        lenient=not args.strict,
        as_json=args.json,
    )


def _tiers(args: argparse.Namespace) -> int:
    from rung.agent.cli.commands import tiers_command

    return tiers_command(args, load)


def _sessions(args: argparse.Namespace) -> int:
    from rung.agent.cli.commands import sessions_command

    return sessions_command(args)


def _config(args: argparse.Namespace) -> int:
    from rung.agent.cli.commands import config_command

    return config_command(args, load)


def _tools(args: argparse.Namespace) -> int:
    from rung.agent.cli.tools_command import tools_command

    return tools_command(args)


def _audit(args: argparse.Namespace) -> int:
    from rung.agent.cli.audit_command import audit_command

    return audit_command(args)


def _memory(args: argparse.Namespace) -> int:
    from rung.agent.cli.memory_command import memory_command

    return memory_command(args, load(args).settings)


def _daemon(args: argparse.Namespace) -> int:
    from rung.agent.cli.daemon_command import daemon_command

    flags = [(names, dest) for names, dest, _ in SETTING_FLAGS]
    return daemon_command(args, load, _version(), flags)


def _web(args: argparse.Namespace) -> int:
    from rung.agent.cli.daemon_command import web_command

    flags = [(names, dest) for names, dest, _ in SETTING_FLAGS]
    return web_command(args, flags)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rung")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
