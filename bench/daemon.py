"""What the daemon costs a turn, and what it saves `rung ask`.

1. Round-trip overhead: the same short chatbot turn against the Ollama-protocol test
   server, run by the engine's `one_turn` in this process (the baseline) and through a real
   daemon process over its unix socket by the client (`DaemonClient.turn`), interleaved.
   The overhead is the difference of the medians (target: at most 5 ms).
2. Time to first token of `rung ask --tier assistant` as a user runs it, a fresh process
   each time, from its start to the first byte of the answer on stdout: through a warm
   daemon (one turn served before, so its embedding model, memory and tool servers are up)
   against a cold local run (`--local`: the process imports, loads and starts all of that
   itself). Target: the warm daemon at least 5x sooner, at the median.

3. Load: 1,000 stored chatbot turns through the daemon, 4 clients at once: the daemon's
   resident memory after a warm-up of 100 turns and at the end (target: under 10 %
   growth), its open file descriptors (flat), and every turn's session stored.

All against a scratch home (config, data, state, runtime dirs in a temp folder) with the
built-in tool servers enabled by default, and the test server's short scripted reply.

    python -m bench.daemon [--quick]
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.common import Report, Target, median, parse_args, percentile, publish
from rung.agent.messages import FinalAnswer
from rung.config.paths import Paths
from rung.config.settings import Settings
from rung.tools.approvals import no_one_to_ask
from tests.ollama_server import OllamaTestServer, Reply

OVERHEAD_TARGET_MS = 5.0
SPEEDUP_TARGET = 5.0
ANSWER = "Four words of answer."
CLIENTS = 4  # clients at once in the load run
RSS_GROWTH_TARGET = 10.0  # % from after the warm-up to the end of the load run


def scratch_env(root: Path, server: OllamaTestServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUNG_", "XDG_"))}
    env.update(
        HOME=str(root / "home"),
        XDG_CONFIG_HOME=str(root / "config"),
        XDG_DATA_HOME=str(root / "data"),
        XDG_STATE_HOME=str(root / "state"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_RUNTIME_DIR=str(root / "run"),
        RUNG_OLLAMA_HOST=server.url,
    )
    return env


@contextmanager
def daemon(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`rung daemon run` until its socket answers; SIGTERM (then kill) by pid afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "rung.agent.cli", "daemon", "run"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = Path(env["XDG_RUNTIME_DIR"]) / "rung" / "daemon.sock"
    try:
        deadline = time.monotonic() + 60
        while not _accepts(path):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the daemon did not start")
            time.sleep(0.05)
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


async def _in_process(settings: Settings) -> float:
    from rung.agent.turn import one_turn, started_tools

    started = time.perf_counter()
    async for event in one_turn(settings, "hello?", store=None, tools=started_tools(no_one_to_ask)):
        if isinstance(event, FinalAnswer):
            assert event.message.content == ANSWER
    return time.perf_counter() - started


async def _through_daemon(settings: Settings, paths: Paths, *, save: bool = False) -> float:
    from rung.agent.daemon.client import DaemonClient

    client = DaemonClient(paths)
    started = time.perf_counter()
    async for event in client.turn("hello?", settings, save=save, approver=no_one_to_ask):
        if isinstance(event, FinalAnswer):
            assert event.message.content == ANSWER
    return time.perf_counter() - started


def overhead(env: dict[str, str], server: OllamaTestServer, repeats: int) -> dict[str, list[float]]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings(ollama_host=server.url, default_tier="chatbot")
        paths = Paths.default()
        times: dict[str, list[float]] = {"in-process": [], "daemon": []}

        async def measure() -> None:
            for _ in range(3):  # warm-up: connections, imports, first-call costs
                await _in_process(settings)
                await _through_daemon(settings, paths)
            for _ in range(repeats):
                times["in-process"].append(await _in_process(settings))
                times["daemon"].append(await _through_daemon(settings, paths))

        asyncio.run(measure())
        return times
    finally:
        os.environ.clear()
        os.environ.update(saved)


def process_state(pid: int) -> tuple[int, int]:
    """(resident memory in bytes, open file descriptors) of process `pid`, from /proc."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def load(
    env: dict[str, str], server: OllamaTestServer, pid: int, turns: int, clients: int
) -> dict[str, object]:
    """`turns` stored chatbot turns through the daemon, `clients` at once; its memory and
    descriptors after a warm-up of a tenth of them and at the end; how many sessions the
    turns stored."""
    from rung.agent.sessions import SessionStore

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings(ollama_host=server.url, default_tier="chatbot")
        paths = Paths.default()
        warm_up = max(clients, turns // 10)
        states: dict[str, tuple[int, int]] = {}

        async def client(count: int) -> None:
            for _ in range(count):
                await _through_daemon(settings, paths, save=True)

        async def run(count: int) -> None:
            share, extra = divmod(count, clients)
            await asyncio.gather(*(client(share + (i < extra)) for i in range(clients)))

        with SessionStore(paths.sessions_db) as store:
            before = len(store.list())
        started = time.perf_counter()
        asyncio.run(run(warm_up))
        states["warm"] = process_state(pid)
        asyncio.run(run(turns - warm_up))
        states["end"] = process_state(pid)
        elapsed = time.perf_counter() - started
        with SessionStore(paths.sessions_db) as store:
            stored = len(store.list()) - before
        return {"states": states, "stored": stored, "turns": turns, "seconds": elapsed}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def first_byte(env: dict[str, str], *args: str) -> float:
    """Seconds from starting `rung ask … ARGS` to the first byte on its stdout."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rung.agent.cli", "ask", "--tier", "assistant", *args, "hello?"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,  # read(1) takes one byte, buffering none of what follows
    )
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    elapsed = time.perf_counter() - started
    out, err = proc.communicate(timeout=120)
    if proc.returncode != 0 or not (first + out).decode().startswith(ANSWER):
        said = (first + out).decode(errors="replace")[-200:] + err.decode(errors="replace")[-500:]
        raise SystemExit(f"rung ask {' '.join(args)} failed (exit code {proc.returncode}): {said}")
    return elapsed


def report(quick: bool) -> Report:
    repeats = 10 if quick else 60
    load_turns = 200 if quick else 1000
    cold_runs = 2 if quick else 5
    root = Path(tempfile.mkdtemp(prefix="rung-bd-", dir="/tmp"))  # short: a socket's path
    try:
        with OllamaTestServer() as server:
            server.responder = lambda body: Reply(text=ANSWER)
            env = scratch_env(root, server)
            with daemon(env) as proc:
                first_byte(env)  # warm-up: the daemon loads its model and starts its servers
                times = overhead(env, server, repeats)
                warm = [first_byte(env) for _ in range(cold_runs * 2)]
                cold = [first_byte(env, "--local") for _ in range(cold_runs)]
                loaded = load(env, server, proc.pid, load_turns, CLIENTS)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    (warm_rss, warm_fds), (end_rss, end_fds) = loaded["states"].values()  # type: ignore[attr-defined]
    growth = (end_rss - warm_rss) / warm_rss * 100
    stored_all = loaded["stored"] == load_turns
    fds_flat = end_fds <= warm_fds
    local, remote = median(times["in-process"]), median(times["daemon"])
    added_ms = (remote - local) * 1000
    speedup = median(cold) / median(warm)
    rows = [
        ["chatbot turn, in this process (baseline)", *_stats(times["in-process"], "ms")],
        ["chatbot turn, through the daemon", *_stats(times["daemon"], "ms")],
        ["rung ask --tier assistant: cold --local (baseline)", *_stats(cold, "s")],
        ["rung ask --tier assistant: warm daemon", *_stats(warm, "s")],
    ]
    load_rows = [
        ["after warm-up", f"{warm_rss / 2**20:.1f} MB", str(warm_fds)],
        [f"after {load_turns} turns", f"{end_rss / 2**20:.1f} MB", str(end_fds)],
    ]
    return Report(
        name="daemon",
        title="The daemon: a turn's round trip, and rung ask's first token",
        columns=["what", "runs", "median", "p90"],
        rows=rows,
        targets=[
            Target("time the daemon adds to a turn (median)", added_ms, OVERHEAD_TARGET_MS, "ms"),
            Target(
                "rung ask's first token through a warm daemon, as a share of a cold local run's",
                1 / speedup,
                1 / SPEEDUP_TARGET,
                "x",
            ),
            Target("the daemon's memory growth under load", growth, RSS_GROWTH_TARGET, "%"),
        ],
        notes=[
            f"the daemon adds {added_ms:.2f} ms to a turn at the median",
            f"through a warm daemon, rung ask's first token comes {speedup:.1f}x sooner",
            f"load: {load_turns} stored turns, {CLIENTS} clients at once, in "
            f"{loaded['seconds']:.1f} s; the daemon's memory, open descriptors:",
            *(f"  {what}: {rss}, {fds} descriptors" for what, rss, fds in load_rows),
            f"every session stored: {'yes' if stored_all else 'NO'} ({loaded['stored']}); "
            f"descriptors flat: {'yes' if fds_flat else 'NO'}",
        ],
        data={
            "turn_s": times,
            "ask_first_byte_s": {"cold_local": cold, "warm_daemon": warm},
            "added_ms": added_ms,
            "load": loaded,
            "rss_growth_percent": growth,
            "every_session_stored": stored_all,
            "descriptors_flat": fds_flat,
            "speedup": speedup,
        },
    )


def _stats(values: list[float], unit: str) -> list[str]:
    scale, form = (1000, "{:.1f} ms") if unit == "ms" else (1, "{:.2f} s")
    return [
        str(len(values)),
        form.format(median(values) * scale),
        form.format(percentile(values, 90) * scale),
    ]


def main() -> int:
    args = parse_args(__doc__ or "")
    return publish(lambda: report(args.quick))


if __name__ == "__main__":
    sys.exit(main())
