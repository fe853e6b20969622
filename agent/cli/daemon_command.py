"""`rung daemon run|start|stop|status|logs`: the background daemon, from the terminal.

Every command but `run` talks to the daemon through its client; `run` becomes the daemon.
The command line itself is defined in `main.py` (kept light for `rung --help`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from rung.agent.daemon.client import DaemonClient
from rung.config.errors import DaemonError, DaemonNotRunning
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings

Load = Callable[[argparse.Namespace], LoadedSettings]
NOT_RUNNING = 3  # `status`'s exit code, as `systemctl status` has it
LOG_ROTATE_BYTES = 10 * 2**20  # `start` moves a log this big aside first
FOLLOW_POLL_S = 0.2  # `logs -f` looks for more this often


def daemon_command(
    args: argparse.Namespace, load: Load, version: str, flags: list[tuple[list[str], str]]
) -> int:
    paths = Paths.default()
    if args.action == "run":
        return _run(args, load, paths, version)
    if args.action == "start":
        return _start(args, paths, flags)
    if args.action == "stop":
        return _stop(args, paths)
    if args.action == "restart":
        _stop(args, paths)
        return _start(args, paths, flags)
    if args.action == "status":
        return _status(args, paths)
    if args.action == "install":
        return _install(args, paths)
    return _logs(args, paths)


def web_command(args: argparse.Namespace, flags: list[tuple[list[str], str]]) -> int:
    """`rung web`: the daemon (started if need be) serves the page; a login link."""
    paths = Paths.default()
    client = DaemonClient(paths)
    if client.running_pid() is None:
        print("Starting the daemon…", file=sys.stderr)
        _start(args, paths, flags)
    page = client.web()
    print(f"The web page: {page['url']}")
    print(f"Log in (once, within two minutes): {page['login']}")
    if not args.no_open:
        import webbrowser

        if not webbrowser.open(page["login"]):
            print("(no browser to open here: open the link yourself)", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace, load: Load, paths: Paths, version: str) -> int:
    from rung.agent.cli.main import OneLineFormatter
    from rung.agent.daemon.server import run_daemon

    settings = load(args).settings
    output = logging.StreamHandler()
    form = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    output.setFormatter(logging.Formatter(form) if args.debug else OneLineFormatter(form))
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO, handlers=[output], force=True
    )
    return run_daemon(settings, paths, version=version)


def _start(args: argparse.Namespace, paths: Paths, flags: list[tuple[list[str], str]]) -> int:
    client = DaemonClient(paths)
    running = client.running_pid()
    if running is not None:
        print(f"The daemon already runs (pid {running}).")
        return 0
    argv = [sys.executable, "-m", "rung.agent.cli", "daemon", "run"]
    if args.config:
        argv += ["--config", args.config]
    if args.debug:
        argv.append("--debug")
    for names, dest in flags:
        value = getattr(args, dest, None)
        if value is not None:
            argv += [names[0], str(value)]
    log = paths.daemon_log
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _rotate(log)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    offset = os.fstat(fd).st_size
    try:
        # a new session (no terminal to lose, no Ctrl-C of ours), stdin from /dev/null,
        # stdout and stderr to the log
        pid = os.posix_spawn(
            sys.executable,
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, fd, 1),
                (os.POSIX_SPAWN_DUP2, fd, 2),
            ],
            setsid=True,
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            said = _said(log, offset)
            raise DaemonError(
                f"the daemon exited as it started (exit code {os.waitstatus_to_exitcode(status)})"
                + (f": {said}" if said else ""),
                hint=f"its log: {log}",
            )
        try:
            if client.health().get("pid") == pid:
                print(f"The daemon runs (pid {pid}); its log: {log}")
                return 0
        except DaemonError:
            pass
        time.sleep(0.05)
    raise DaemonError(
        f"the daemon (pid {pid}) did not answer within {args.timeout:g} s",
        hint=f"its log: {log}; `rung daemon stop` stops it",
    )


def _rotate(log: Path) -> None:
    """A log past LOG_ROTATE_BYTES becomes daemon.log.1 (the one before is dropped)."""
    try:
        if log.stat().st_size > LOG_ROTATE_BYTES:
            os.replace(log, log.with_name(log.name + ".1"))
    except FileNotFoundError:
        pass


def _said(log: Path, offset: int) -> str:
    """The daemon's own error line among what it wrote to its log from `offset` on."""
    with log.open("rb") as file:
        file.seek(offset)
        lines = file.read().decode(errors="replace").splitlines()
    errors = [line for line in lines if line.startswith("rung: ")]
    last = errors[-1] if errors else (lines[-1] if lines else "")
    return last.removeprefix("rung: ").strip()


def _stop(args: argparse.Namespace, paths: Paths) -> int:
    client = DaemonClient(paths)
    pid = client.running_pid()
    if pid is None:
        print("The daemon is not running.")
        return 0
    try:
        client.shutdown()
        asked = True
    except DaemonError as exc:
        logging.getLogger(__name__).info("the API did not take the shutdown: %s", exc)
        asked = False
    if not asked or not client.wait_gone(args.timeout):
        # the pid is the lock holder's, so it is the daemon's, not a recycled one
        _signal(pid, signal.SIGTERM)
        if not client.wait_gone(args.timeout):
            raise DaemonError(
                f"the daemon (pid {pid}) did not stop within {args.timeout:g} s of SIGTERM",
                hint=f"`rung daemon logs` shows what it does; `kill -9 {pid}` ends it",
            )
    print(f"The daemon stopped (pid {pid}).")
    return 0


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError:
        raise DaemonError(f"not allowed to signal the daemon (pid {pid})") from None


def _status(args: argparse.Namespace, paths: Paths) -> int:
    client = DaemonClient(paths)
    try:
        data: dict[str, Any] = {"running": True, **client.status()}
    except DaemonNotRunning:
        pid = client.running_pid()
        if pid is not None:
            raise DaemonError(
                f"the daemon (pid {pid}) runs but does not answer on its socket",
                hint="`rung daemon logs` shows why; `rung daemon stop` stops it",
            ) from None
        if args.json:
            print(json.dumps({"running": False}))
        else:
            print("The daemon is not running.")
        return NOT_RUNNING
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    rss = data.get("rss_bytes")
    print(f"The daemon runs: pid {data['pid']}, up {_duration(float(data['uptime_s']))}")
    for label, value in (
        ("model", data["model"]),
        ("memory", f"{rss / 2**20:.1f} MB" if isinstance(rss, int) else "unknown"),
        ("version", f"{data['version']} (API {data['api']})"),
        ("socket", data["socket"]),
        *([("tcp", f"http://{data['tcp']}")] if data.get("tcp") else []),
        ("log", str(paths.daemon_log)),
        ("turns", _turns(data.get("turns"))),
    ):
        print(f"  {label:<8} {value}")
    for server in data.get("servers") or []:
        why = f" ({server['reason']})" if server.get("reason") else ""
        print(f"  {'server':<8} {server['name']} [{server['tier']}]: {server['state']}{why}")
    for line in data.get("last_errors") or []:
        print(f"  {'error':<8} {line}")
    for label, line in _jobs_lines(data.get("jobs")):
        print(f"  {label:<8} {line}")
    return 0


def _jobs_lines(jobs: Any) -> list[tuple[str, str]]:
    """What `status` says of the jobs, the inbox and the notification sinks."""
    if not isinstance(jobs, dict):
        return []
    if jobs.get("problem"):
        return [("jobs", f"not running: {jobs['problem']}")]
    nxt = jobs.get("next")
    line = f"{jobs.get('jobs', 0)} ({jobs.get('paused', 0)} paused), {jobs.get('queued', 0)} queued"
    if jobs.get("running"):
        line += f", running: {', '.join(jobs['running'])}"
    if nxt:
        line += f"; next: {nxt['job']} at {nxt['at']}"
    lines = [("jobs", line), ("inbox", f"{jobs.get('inbox_unread', 0)} unread")]
    for sink, health in sorted((jobs.get("sinks") or {}).items()):
        state = f"{health.get('waiting', 0)} waiting, {health.get('gave_up', 0)} given up"
        if health.get("last_error"):
            state += f"; failing: {health['last_error']}"
        lines.append(("notify", f"{sink}: {state}"))
    return lines


def _turns(turns: Any) -> str:
    if not isinstance(turns, dict):
        return "unknown"
    return f"{turns.get('served', 0)} served, {turns.get('failed', 0)} failed"


def _duration(seconds: float) -> str:
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{unit}" for n, unit in parts if n] or ["0s"]
    return " ".join(shown[:2])


def _logs(args: argparse.Namespace, paths: Paths) -> int:
    log = paths.daemon_log
    file = None
    try:
        file = _open(log)
        if file is None and not args.follow:
            print(f"No daemon log yet ({log}).")
            return 0
        # the last lines, then (-f) on from exactly where they end: nothing is missed
        for line in deque(file or (), maxlen=args.lines):
            sys.stdout.write(line.decode(errors="replace"))
        sys.stdout.flush()
        if args.follow:
            with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops following
                _follow(log, file)
    except OSError as exc:
        raise DaemonError(f"cannot read {log}: {exc.strerror or exc}") from None
    finally:
        if file is not None:
            file.close()
    return 0


def _follow(log: Path, file: BinaryIO | None) -> None:
    """What is added to the log, as it comes, until Ctrl-C; a log that is rotated or
    truncated is read again from its start (as `tail -F` does). `file` is the caller's to
    close; the ones opened after it are closed here."""
    current = file
    try:
        while True:
            chunk = current.read() if current is not None else b""
            if chunk:
                sys.stdout.write(chunk.decode(errors="replace"))
                sys.stdout.flush()
                continue
            time.sleep(FOLLOW_POLL_S)
            if current is None or _replaced(log, current):
                if current is not None and current is not file:
                    current.close()
                current = _open(log)
    finally:
        if current is not None and current is not file:
            current.close()


def _open(log: Path) -> BinaryIO | None:
    try:
        return log.open("rb")
    except FileNotFoundError:
        return None


def _replaced(log: Path, file: BinaryIO) -> bool:
    try:
        now = log.stat()
    except FileNotFoundError:
        return False  # rotated away: the new one is read once it is there
    return now.st_ino != os.fstat(file.fileno()).st_ino or now.st_size < file.tell()


def _install(args: argparse.Namespace, paths: Paths) -> int:
    from rung.agent.service import install, passed_on, service_for

    service = service_for(
        sys.platform,
        config=args.config,
        environ=os.environ,
        memory_max=args.memory_max,
        log=paths.daemon_log,
    )
    if args.print:
        sys.stdout.write(service.text)
        return 0
    for line in install(service, env=passed_on(os.environ)):
        print(line)
    return 0
