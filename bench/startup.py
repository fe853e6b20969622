"""Start-up time: `rung --help` and `rung chat` until its prompt is ready.

Baselines, measured in the same run and interleaved with the candidates: `python -c pass`
(the interpreter alone) for `rung --help`, and a bare prompt_toolkit prompt in the same kind
of pseudo-terminal for `rung chat`. A separate, untimed run of each command records which
heavy modules it imported (a `sitecustomize` hook dumps `sys.modules` at exit).

    python -m bench.startup [--quick]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pexpect

from bench.common import Report, Target, median, parse_args, percentile, publish
from tests.ollama_server import OllamaTestServer

HELP_TARGET_S = 0.3
CHAT_TARGET_S = 0.6
SERVERS_TARGET_S = 0.05  # five tool servers configured may cost the prompt at most this
ROOT = Path(__file__).resolve().parents[1]
PROMPT = "› "
# prompt_toolkit draws PROMPT's trailing space as a cursor move, not a space character, so
# the first thing a terminal shows of a ready prompt is this mark.
PROMPT_MARK = PROMPT.rstrip()
# A terminal's answer to prompt_toolkit's cursor-position request (ESC [ 6 n). Without it,
# prompt_toolkit waits about a second at exit for the answer that never comes.
CPR_REQUEST, CPR_ANSWER = "\x1b[6n", "\x1b[1;1R"
HEAVY = (
    "torch",
    "sentence_transformers",
    "chromadb",
    "numpy",
    "mcp",
    "ollama",
    "httpx",
    "pydantic",
    "jsonschema",
    "rich",
    "prompt_toolkit",
)
BARE_PROMPT = (
    "from prompt_toolkit import PromptSession\n"
    "try:\n"
    f"    PromptSession().prompt({PROMPT!r})\n"
    "except EOFError:\n"
    "    pass\n"
)
MODULES_HOOK = """\
import atexit, json, os, sys

def _dump_modules():
    with open(os.environ["BENCH_MODULES_OUT"], "w") as f:
        json.dump(sorted(sys.modules), f)

atexit.register(_dump_modules)
"""


@dataclass
class Series:
    label: str
    baseline: bool
    times: list[float] = field(default_factory=list)
    heavy: list[str] | None = None


def rung_script() -> str:
    """The installed console script next to this interpreter (else the one on PATH)."""
    beside = Path(sys.executable).with_name("rung")
    found = str(beside) if beside.exists() else shutil.which("rung")
    if found is None:
        raise SystemExit("bench: no `rung` console script; run `make bench` (it installs one)")
    return found


@contextmanager
def isolated_env(ollama_url: str) -> Iterator[dict[str, str]]:
    """An environment with throw-away XDG dirs and HOME, pointed at the test server."""
    with tempfile.TemporaryDirectory(prefix="rung-bench-") as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RUNG_") and k not in ("OLLAMA_HOST", "OLLAMA_API_KEY")
        }
        for var, sub in (
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_DATA_HOME", "data"),
            ("XDG_STATE_HOME", "state"),
            ("XDG_RUNTIME_DIR", "run"),
            ("HOME", "home"),
        ):
            path = Path(tmp, sub)
            path.mkdir(mode=0o700)
            env[var] = str(path)
        env.setdefault("TERM", "xterm-256color")
        env["COLUMNS"] = "100"
        env["RUNG_OLLAMA_HOST"] = ollama_url
        yield env


def time_command(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def time_prompt(argv: Sequence[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``argv`` in a pseudo-terminal until PROMPT shows; then Ctrl-D."""
    started = time.perf_counter()
    child = pexpect.spawn(
        argv[0], list(argv[1:]), env=env, encoding="utf-8", dimensions=(40, 100), timeout=20
    )
    child.delaybeforesend = None
    try:
        child.expect_exact(PROMPT_MARK)
        ready = time.perf_counter() - started
        if CPR_REQUEST in str(child.before):
            child.send(CPR_ANSWER)
        child.sendeof()
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    if child.exitstatus != 0:
        raise SystemExit(f"bench: {' '.join(argv)} exited with {child.exitstatus}")
    return ready


def heavy_modules(run: Callable[[dict[str, str]], object], env: dict[str, str]) -> list[str]:
    """The heavy top-level packages a run imported, read from a sitecustomize hook."""
    with tempfile.TemporaryDirectory(prefix="rung-bench-hook-") as hook:
        Path(hook, "sitecustomize.py").write_text(MODULES_HOOK, encoding="utf-8")
        out = Path(hook, "modules.json")
        path = os.pathsep.join(p for p in (hook, env.get("PYTHONPATH")) if p)
        run(env | {"PYTHONPATH": path, "BENCH_MODULES_OUT": str(out)})
        modules: list[str] = json.loads(out.read_text(encoding="utf-8"))
    top = {m.partition(".")[0] for m in modules}
    return [name for name in HEAVY if name in top]


def with_servers(env: dict[str, str], count: int) -> dict[str, str]:
    """A copy of ``env`` whose mcp.json has ``count`` stdio test servers and no built-ins."""
    config = Path(env["XDG_CONFIG_HOME"]).with_name(f"config-{count}-servers")
    (config / "rung").mkdir(parents=True, exist_ok=True)
    box = {"command": sys.executable, "args": ["-m", "tests.mcp_servers.toolbox"], "cwd": str(ROOT)}
    mcp = {
        "mcpServers": {f"box{i}": box for i in range(count)},
        "builtins": {name: {"enabled": False} for name in ("clock", "files", "fetch", "shell")},
    }
    (config / "rung" / "mcp.json").write_text(json.dumps(mcp), encoding="utf-8")
    return env | {"XDG_CONFIG_HOME": str(config)}


def measure(runs: int) -> tuple[list[Series], int]:
    python, rung = sys.executable, rung_script()
    with OllamaTestServer() as server, isolated_env(server.url) as env:
        no_servers, five_servers = with_servers(env, 0), with_servers(env, 5)
        cases: list[tuple[Series, Callable[[dict[str, str]], float]]] = [
            (
                Series("python -c pass", baseline=True),
                lambda e: time_command([python, "-c", "pass"], e),
            ),
            (Series("rung --help", baseline=False), lambda e: time_command([rung, "--help"], e)),
            (
                Series("bare prompt_toolkit prompt (pty)", baseline=True),
                lambda e: time_prompt([python, "-c", BARE_PROMPT], e),
            ),
            (
                Series("rung chat: prompt ready (pty)", baseline=False),
                lambda e: time_prompt([rung, "chat"], e),
            ),
            (
                Series("rung chat, no tool servers (pty)", baseline=True),
                lambda e: time_prompt([rung, "chat"], e | no_servers),
            ),
            (
                Series("rung chat, 5 MCP servers configured (pty)", baseline=False),
                lambda e: time_prompt([rung, "chat"], e | five_servers),
            ),
        ]
        for _, run in cases:  # warm-up: page cache, .pyc files, the chat's data dirs
            run(env)
        for _ in range(runs):  # interleaved, so drift hits baseline and candidate alike
            for series, run in cases:
                series.times.append(run(env))
        for series, run in cases:
            series.heavy = heavy_modules(run, env)
        chat_requests = len(server.requests)
    return [series for series, _ in cases], chat_requests


def report(series: list[Series], runs: int, chat_requests: int) -> Report:
    by_label = {s.label: s for s in series}
    help_s, chat_s = by_label["rung --help"], by_label["rung chat: prompt ready (pty)"]
    none_s = by_label["rung chat, no tool servers (pty)"]
    five_s = by_label["rung chat, 5 MCP servers configured (pty)"]
    baselines = {
        help_s.label: by_label["python -c pass"],
        chat_s.label: by_label["bare prompt_toolkit prompt (pty)"],
        five_s.label: none_s,
    }
    result = Report(
        name="startup",
        title=f"Start-up, wall seconds ({runs} runs each, interleaved)",
        columns=["command", "median s", "p90 s", "vs baseline s", "heavy modules imported"],
        text_columns=(0, 4),
    )
    for s in series:
        base = baselines.get(s.label)
        delta = f"{median(s.times) - median(base.times):+.3f}" if base else "(baseline)"
        result.rows.append(
            [
                s.label,
                f"{median(s.times):.3f}",
                f"{percentile(s.times, 90):.3f}",
                delta,
                ", ".join(s.heavy or []) or "none",
            ]
        )
    help_heavy = help_s.heavy or []
    result.targets = [
        Target("rung --help, median", median(help_s.times), HELP_TARGET_S, "s"),
        Target("rung chat prompt ready, median", median(chat_s.times), CHAT_TARGET_S, "s"),
        Target(
            "rung chat prompt, 5 MCP servers over none, median",
            median(five_s.times) - median(none_s.times),
            SERVERS_TARGET_S,
            "s",
        ),
        Target("heavy modules imported by rung --help", len(help_heavy), 1, "modules"),
        Target("requests to Ollama before the first chat message", chat_requests, 1, "requests"),
    ]
    result.data = {
        "runs": runs,
        "series": [
            {
                "label": s.label,
                "baseline": s.baseline,
                "median_s": median(s.times),
                "p90_s": percentile(s.times, 90),
                "times_s": s.times,
                "heavy_modules": s.heavy,
            }
            for s in series
        ],
        "chat_requests_to_ollama": chat_requests,
    }
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("Start-up time of `rung --help` and `rung chat`.", argv)
    runs = 5 if args.quick else 20

    def run() -> Report:
        series, chat_requests = measure(runs)
        return report(series, runs, chat_requests)

    return publish(run)


if __name__ == "__main__":
    sys.exit(main())
