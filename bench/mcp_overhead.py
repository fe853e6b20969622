"""What Rung's tool hub adds to an MCP tool call, against the bare SDK client; and hub start-up.

Calls: the `echo` tool of the toolbox test server (tests/mcp_servers/toolbox.py, a real
process) through `ToolHub.call` (the loop's entry point: lookup, argument validation, the
approval policy, the call timeout, the server link) and through a bare `mcp.client.Client`
made as the hub makes it (mode="legacy", cache=None), in the same run: over stdio (each client
starts its own server process) and over streamable HTTP (one server process on 127.0.0.1 for
both). The policy allows the tool, so no prompt is involved. After a warm-up the calls
alternate hub and bare, who goes first swapping each round, and each call is timed on its
own; the overhead is the median of the paired differences.

Start-up: `ToolHub.start()` with five stdio toolbox servers configured against a hub with
none (it must return at once: the servers start in the background), the time until all five
are ready (`wait_started`), the longest the event loop stalled meanwhile (a chat's prompt
shares that loop), and `aclose()`, which must leave no server process behind.

    python -m bench.mcp_overhead [--quick]
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from bench.common import Report, Target, median, parse_args, percentile, publish
from rung.config.mcp_file import ServerConfig
from rung.tools.approvals import ApprovalPolicy, no_one_to_ask
from rung.tools.hub import ToolHub
from rung.tools.mcp_client import server_environment

ROOT = Path(__file__).resolve().parent.parent  # the repository root: `tests` imports from here
TOOLBOX = ("-m", "tests.mcp_servers.toolbox")
SERVER = "toolbox"
TEXT = "hello from the bench"
TARGET_MS = 0.5  # the hub's median overhead per call
START_TARGET_MS = 10.0  # start() with five servers, over start() with none: "at once"
STARTUP_SERVERS = 5
SETTLE_S = 60.0  # bound on any server's start
TICK_S = 0.001  # the event-loop stall probe's period


def toolbox(name: str = SERVER, *, url: str | None = None) -> ServerConfig:
    if url is not None:
        return ServerConfig(name=name, url=url)
    return ServerConfig(name=name, command=sys.executable, args=TOOLBOX, cwd=str(ROOT))


def hub_for(configs: Sequence[ServerConfig], log_dir: Path, allow: str) -> ToolHub:
    """A hub whose policy allows the servers' tools; anything that would ask is denied."""
    policy = ApprovalPolicy(rules={allow: "allow"})
    return ToolHub(configs, policy=policy, approver=no_one_to_ask, log_dir=log_dir)


async def ready_hub(configs: Sequence[ServerConfig], log_dir: Path, allow: str) -> ToolHub:
    hub = hub_for(configs, log_dir, allow)
    hub.start()
    await hub.wait_started(SETTLE_S)
    for server in hub.servers.values():
        if server.state != "ready":
            await hub.aclose()
            raise SystemExit(
                f"bench: the {server.name} server is {server.state}: {server.reason} "
                f"(log: {server.log_path})"
            )
    return hub


# -- calls --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def http_toolbox(log: TextIO) -> Iterator[str]:
    """The toolbox over streamable HTTP on 127.0.0.1; yields its URL once it accepts."""
    port = free_port()
    argv = [sys.executable, *TOOLBOX, "--http", str(port)]
    process = subprocess.Popen(
        argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + SETTLE_S
        while True:
            if process.poll() is not None:
                raise SystemExit(f"bench: the HTTP toolbox exited with {process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"bench: the HTTP toolbox did not listen on {port} in {SETTLE_S:g} s"
                    ) from None
                time.sleep(0.02)  # the poll's period, bounded by the deadline above
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stdio_parameters() -> StdioServerParameters:
    """The bare client's server: what the hub launches, with the environment the hub gives."""
    config = toolbox()
    return StdioServerParameters(
        command=sys.executable,
        args=list(TOOLBOX),
        env=server_environment(config, os.environ),
        cwd=ROOT,
    )


@dataclass
class Calls:
    transport: str
    bare_ms: list[float] = field(default_factory=list)
    hub_ms: list[float] = field(default_factory=list)

    @property
    def overhead_ms(self) -> list[float]:
        return [h - b for h, b in zip(self.hub_ms, self.bare_ms, strict=True)]


async def timed(call: Callable[[], Awaitable[str]], label: str) -> float:
    """Milliseconds of one call, which must echo TEXT back."""
    started = time.perf_counter()
    text = await call()
    elapsed = time.perf_counter() - started
    if text != TEXT:
        raise SystemExit(f"bench: {label} returned {text!r}, not the echo of {TEXT!r}")
    return elapsed * 1000


async def compare(transport: str, hub: ToolHub, bare: Client, calls: int, warmup: int) -> Calls:
    async def through_hub() -> str:
        return await hub.call("echo", {"text": TEXT})

    async def through_bare() -> str:
        result = await bare.call_tool("echo", {"text": TEXT})
        return str(getattr(result.content[0], "text", "")) if result.content else ""

    result = Calls(transport)
    pair: list[tuple[list[float], Callable[[], Awaitable[str]], str]] = [
        (result.hub_ms, through_hub, f"the hub over {transport}"),
        (result.bare_ms, through_bare, f"the bare client over {transport}"),
    ]
    for _ in range(warmup):  # imports, jsonschema, connection pools, the servers' own caches
        for _, call, label in pair:
            await timed(call, label)
    for i in range(calls):  # alternated; who goes first swaps, so drift hits both alike
        for times, call, label in pair if i % 2 == 0 else pair[::-1]:
            times.append(await timed(call, label))
    return result


async def measure_calls(calls: int, warmup: int, log_dir: Path) -> list[Calls]:
    allow = f"{SERVER}:*"
    results = []
    with open(log_dir / "bare-stdio.log", "w", encoding="utf-8") as errlog:
        async with AsyncExitStack() as stack:
            hub = await ready_hub([toolbox()], log_dir / "hub-stdio", allow)
            stack.push_async_callback(hub.aclose)
            transport = stdio_client(stdio_parameters(), errlog=errlog)
            bare = Client(transport, mode="legacy", cache=None)
            await stack.enter_async_context(bare)
            results.append(await compare("stdio", hub, bare, calls, warmup))

    with open(log_dir / "http-server.log", "w", encoding="utf-8") as log, http_toolbox(log) as url:
        async with AsyncExitStack() as stack:
            hub = await ready_hub([toolbox(url=url)], log_dir / "hub-http", allow)
            stack.push_async_callback(hub.aclose)
            bare = Client(url, mode="legacy", cache=None)
            await stack.enter_async_context(bare)
            results.append(await compare("streamable HTTP", hub, bare, calls, warmup))
    return results


# -- start-up -------------------------------------------------------------------------


@dataclass
class Startup:
    none_start_ms: list[float] = field(default_factory=list)
    five_start_ms: list[float] = field(default_factory=list)
    five_ready_ms: list[float] = field(default_factory=list)
    stall_ms: list[float] = field(default_factory=list)
    close_ms: list[float] = field(default_factory=list)
    left_running: list[int] = field(default_factory=list)  # server processes alive after aclose


async def longest_stall(stop: asyncio.Event) -> float:
    """Milliseconds of the longest delay of a TICK_S sleep past its due time, until `stop`."""
    worst = 0.0
    while not stop.is_set():
        due = time.perf_counter() + TICK_S
        await asyncio.sleep(TICK_S)
        worst = max(worst, time.perf_counter() - due)
    return worst * 1000


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def server_pids(hub: ToolHub) -> list[int]:
    """Each server's process id, asked of its `pid` tool through the hub."""
    names = [s.name for s in hub.specs() if s.name.rpartition("_")[2] == "pid"]
    pids = [int(await hub.call(name, {})) for name in names]
    if len(pids) != len(hub.servers):
        raise SystemExit(f"bench: {len(pids)} `pid` tools for {len(hub.servers)} servers")
    return pids


async def startup_once(result: Startup, log_dir: Path) -> None:
    configs = [toolbox(f"{SERVER}-{i}") for i in range(1, STARTUP_SERVERS + 1)]
    none = hub_for([], log_dir, f"{SERVER}-*:*")
    started = time.perf_counter()
    none.start()
    result.none_start_ms.append((time.perf_counter() - started) * 1000)
    await none.aclose()

    five = hub_for(configs, log_dir, f"{SERVER}-*:*")
    stop = asyncio.Event()
    probe = asyncio.create_task(longest_stall(stop))
    await asyncio.sleep(0)  # the probe is running before the servers start
    started = time.perf_counter()
    five.start()
    result.five_start_ms.append((time.perf_counter() - started) * 1000)
    try:
        await five.wait_started(SETTLE_S)
        result.five_ready_ms.append((time.perf_counter() - started) * 1000)
    finally:
        stop.set()
        result.stall_ms.append(await probe)
    failed = [f"{s.name}: {s.reason}" for s in five.servers.values() if s.state != "ready"]
    if failed:
        await five.aclose()
        raise SystemExit("bench: servers did not start: " + "; ".join(failed))
    pids = await server_pids(five)
    started = time.perf_counter()
    await five.aclose()
    result.close_ms.append((time.perf_counter() - started) * 1000)
    result.left_running.append(sum(alive(pid) for pid in pids))


async def measure(calls: int, warmup: int, starts: int) -> tuple[list[Calls], Startup]:
    with tempfile.TemporaryDirectory(prefix="rung-bench-mcp-") as tmp:
        log_dir = Path(tmp)
        by_transport = await measure_calls(calls, warmup, log_dir)
        startup = Startup()
        await startup_once(Startup(), log_dir / "warm-up")  # page cache, .pyc files
        for i in range(starts):
            await startup_once(startup, log_dir / f"start-{i}")
    return by_transport, startup


# -- the report -----------------------------------------------------------------------


def verdict(value: float, limit: float) -> str:
    return "PASS" if value < limit else "FAIL"


def report(by_transport: list[Calls], startup: Startup, calls: int) -> Report:
    starts = len(startup.five_start_ms)
    result = Report(
        name="mcp_overhead",
        title=(
            f"MCP tool call (echo), Rung's hub vs the bare SDK client: {calls} calls each, "
            f"alternated; hub start-up with {STARTUP_SERVERS} stdio servers: {starts} runs. "
            "Times in ms"
        ),
        columns=["what", "median ms", "p90 ms", "vs baseline ms", "target", "met"],
        text_columns=(0, 4, 5),
    )
    targets = []
    for c in by_transport:
        overhead = c.overhead_ms
        result.rows += [
            [
                f"{c.transport}: bare mcp Client (baseline)",
                f"{median(c.bare_ms):.3f}",
                f"{percentile(c.bare_ms, 90):.3f}",
                "(baseline)",
                "",
                "",
            ],
            [
                f"{c.transport}: ToolHub.call",
                f"{median(c.hub_ms):.3f}",
                f"{percentile(c.hub_ms, 90):.3f}",
                f"{median(c.hub_ms) - median(c.bare_ms):+.3f}",
                "",
                "",
            ],
            [
                f"{c.transport}: hub overhead (paired)",
                f"{median(overhead):+.3f}",
                f"{percentile(overhead, 90):+.3f}",
                "",
                f"< {TARGET_MS:g} median",
                verdict(median(overhead), TARGET_MS),
            ],
        ]
        targets.append(
            Target(
                f"hub overhead per call, {c.transport}, median", median(overhead), TARGET_MS, "ms"
            )
        )
    extra_start = median(startup.five_start_ms) - median(startup.none_start_ms)
    result.rows += [
        [
            "ToolHub.start(), no servers (baseline)",
            f"{median(startup.none_start_ms):.3f}",
            f"{percentile(startup.none_start_ms, 90):.3f}",
            "(baseline)",
            "",
            "",
        ],
        [
            f"ToolHub.start(), {STARTUP_SERVERS} stdio servers",
            f"{median(startup.five_start_ms):.3f}",
            f"{percentile(startup.five_start_ms, 90):.3f}",
            f"{extra_start:+.3f}",
            f"< {START_TARGET_MS:g} over none",
            verdict(extra_start, START_TARGET_MS),
        ],
        [
            f"start() until all {STARTUP_SERVERS} ready (wait_started)",
            f"{median(startup.five_ready_ms):.1f}",
            f"{percentile(startup.five_ready_ms, 90):.1f}",
            "",
            "",
            "",
        ],
        [
            "longest event-loop stall while they start",
            f"{median(startup.stall_ms):.1f}",
            f"{percentile(startup.stall_ms, 90):.1f}",
            "",
            "",
            "",
        ],
        [
            f"aclose() of {STARTUP_SERVERS} servers",
            f"{median(startup.close_ms):.1f}",
            f"{percentile(startup.close_ms, 90):.1f}",
            "",
            "",
            "",
        ],
    ]
    left = max(startup.left_running)
    result.notes.append(
        "stdio: the hub and the bare client each start their own server process, so a "
        "difference between the two processes shows too; over HTTP both share one server"
    )
    result.notes.append(
        f"server processes left running after aclose(): {left} (of {STARTUP_SERVERS}, worst run)"
    )
    result.targets = [
        *targets,
        Target(
            f"ToolHub.start() with {STARTUP_SERVERS} servers, over none, median",
            extra_start,
            START_TARGET_MS,
            "ms",
        ),
        Target("server processes left after aclose(), worst run", left, 1, "processes"),
    ]
    result.data = {
        "calls_per_transport": calls,
        "text": TEXT,
        "transports": [
            {
                "transport": c.transport,
                "median_ms": {"bare": median(c.bare_ms), "hub": median(c.hub_ms)},
                "p90_ms": {"bare": percentile(c.bare_ms, 90), "hub": percentile(c.hub_ms, 90)},
                "overhead_ms": {
                    "median": median(c.overhead_ms),
                    "p90": percentile(c.overhead_ms, 90),
                    "difference_of_medians": median(c.hub_ms) - median(c.bare_ms),
                },
                "times_ms": {"bare": c.bare_ms, "hub": c.hub_ms},
            }
            for c in by_transport
        ],
        "startup": {
            "servers": STARTUP_SERVERS,
            "runs": starts,
            "start_ms": {"none": startup.none_start_ms, "five": startup.five_start_ms},
            "ready_ms": startup.five_ready_ms,
            "loop_stall_ms": startup.stall_ms,
            "close_ms": startup.close_ms,
            "left_running": startup.left_running,
        },
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("What Rung's MCP tool hub adds to a tool call, and its start-up.", argv)
    calls, warmup, starts = (50, 10, 3) if args.quick else (300, 30, 10)

    def run() -> Report:
        by_transport, startup = asyncio.run(measure(calls, warmup, starts))
        return report(by_transport, startup, calls)

    return publish(run)


if __name__ == "__main__":
    sys.exit(main())
