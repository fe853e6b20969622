"""`rung doctor`: is everything Rung needs there and working? In plain words, with fixes.

The checks run in order, each saying what it found: the config file, the Ollama server,
the model (pulled, its context length against `num_ctx`, tool support), the tool servers
(started for real), the memory (its store and the embedding model), and the last
tool-calling check of the model. `--model` runs that check now (`tool_check`). Exit code
0 when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rung.agent import tiers, tool_check
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.tiers import Tier, tier_rules
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, Settings

Status = Literal["ok", "warn", "fail"]
MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


@dataclass(frozen=True)
class Finding:
    check: str  # "ollama", "model", …
    status: Status
    detail: str
    hint: str = ""


@dataclass
class Doctor:
    loaded: LoadedSettings
    paths: Paths
    report: Callable[[Finding], None]

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def tier(self) -> Tier:
        return tiers.get(self.settings.tier)

    async def run(self) -> list[Finding]:
        found: list[Finding] = []

        def note(finding: Finding) -> None:
            found.append(finding)
            self.report(finding)

        note(self.config())
        model = OllamaChatModel.from_settings(self.settings)
        try:
            reachable = await self.ollama(model, note)
            if reachable:
                await self.model(model, note)
        finally:
            await model.aclose()
        await self.tool_servers(note)
        await asyncio.to_thread(self.memory, note)
        note(self.last_check())
        note(self.daemon())
        return found

    def config(self) -> Finding:
        path = self.loaded.config_file
        changed = sorted(k for k, v in self.loaded.sources.items() if v != "default")
        where = f"{path}" if path.exists() else f"{path} (not there: defaults in use)"
        detail = f"{where}; set: {', '.join(changed)}" if changed else where
        return Finding("config", "ok", detail)

    async def ollama(self, model: OllamaChatModel, note: Callable[[Finding], None]) -> bool:
        host = self.settings.ollama_host
        try:
            installed = await model.installed()
        except RungError as exc:
            note(Finding("ollama", "fail", f"{host}: {exc.message}", exc.hint))
            return False
        note(Finding("ollama", "ok", f"{host} answers; {models_pulled(len(installed))}"))
        return True

    async def model(self, model: OllamaChatModel, note: Callable[[Finding], None]) -> None:
        s = self.settings
        try:
            details = await model.details()
        except RungError as exc:
            note(Finding("model", "fail", f"{s.model}: {exc.message}", exc.hint))
            return
        length = details.context_length
        if length is not None and s.num_ctx > length:
            note(
                Finding(
                    "model",
                    "warn",
                    f"{s.model}: num_ctx is {s.num_ctx} but the model's context length is {length}",
                    f"set num_ctx to {length} or less (RUNG_NUM_CTX, --num-ctx)",
                )
            )
        else:
            window = f"context length {length}" if length else "context length not reported"
            note(Finding("model", "ok", f"{s.model}: {window}; num_ctx {s.num_ctx}"))
        if details.supports("tools"):
            note(Finding("tool calls", "ok", f"{s.model} supports tools"))
        else:
            status: Status = "fail" if self.tier.tools else "warn"
            note(
                Finding(
                    "tool calls",
                    status,
                    f"{s.model} does not support tools (the {s.tier} tier needs them)",
                    "pick a tools-capable model (e.g. qwen3:4b) or use --tier chatbot",
                )
            )

    async def tool_servers(self, note: Callable[[Finding], None]) -> None:
        if not self.tier.tools:
            note(Finding("tool servers", "ok", f"none in the {self.tier.name} tier"))
            return
        from rung.agent.cli.chat_tools import terminal_approver
        from rung.tools.catalog import open_hub

        try:
            hub, problems = open_hub(
                self.paths.mcp_file,
                self.paths.server_logs,
                terminal_approver(stderr=True),
                use=self.tier.uses_server,
                rules=tier_rules(self.tier),
            )
        except RungError as exc:
            note(Finding("tool servers", "fail", exc.message, exc.hint))
            return
        for problem in problems:
            note(Finding("tool servers", "fail", str(problem), "fix it with `rung tools list -v`"))
        try:
            await hub.start_and_wait()
            for server in hub.servers.values():
                if server.state == "ready":
                    tools = len(server.offered())
                    said = f"ready, {tools} tool{'' if tools == 1 else 's'}"
                    note(Finding(f"server {server.name}", "ok", said))
                else:
                    note(
                        Finding(
                            f"server {server.name}",
                            "fail",
                            f"{server.state}: {server.reason}",
                            f"see {server.log_path}, or `rung tools test {server.name}`",
                        )
                    )
            offered = min(len(hub), self.settings.max_tools)
            note(
                Finding(
                    "tool servers",
                    "ok",
                    f"{len(hub)} tools enabled; each turn offers up to {offered}",
                )
            )
        finally:
            await hub.aclose()

    def memory(self, note: Callable[[Finding], None]) -> None:
        from rung.memory.service import Memory

        started = time.perf_counter()
        try:
            with Memory.from_settings(self.settings, self.paths.memory_dir) as memory:
                stats = memory.stats()
                dimension = memory.embedder.dimension
                loaded = time.perf_counter() - started
                due = memory.reindex_due()  # opens the store: is it busy, the right model?
        except RungError as exc:
            note(Finding("memory", "fail", exc.message, exc.hint))
            return
        chunks = sum(stats["chunks"].values())
        message = (
            f"{stats['embedding_model']} ({dimension} dimensions, loaded in {loaded:.1f} s); "
            f"{chunks} chunks, {stats['facts']} facts in {stats['folder']}"
        )
        if due:
            message += "; a reindex is due: " + "; ".join(due)
        note(
            Finding(
                "memory", "warn" if due else "ok", message, "rung memory reindex" if due else ""
            )
        )

    def daemon(self) -> Finding:
        """Is the daemon running and answering; its folder, socket and token private; is it
        installed as a service."""
        import os
        import sys

        from rung.agent.cli.daemon_service import service_for
        from rung.agent.daemon.client import DaemonClient

        service = service_for(
            sys.platform,
            config=None,
            environ=os.environ,
            memory_max="",
            log=self.paths.daemon_log,
        ).path
        installed = (
            f"installed as a service ({service})"
            if service.exists()
            else "not installed as a service"
        )
        client = DaemonClient(self.paths, timeout=3)
        pid = client.running_pid()
        if pid is None:
            return Finding(
                "daemon",
                "ok",
                f"not running; {installed}",
                "" if service.exists() else "optional: `rung daemon start`, `rung daemon install`",
            )
        try:
            status = client.status()
        except RungError as exc:
            return Finding("daemon", "fail", f"pid {pid} holds the lock: {exc.message}", exc.hint)
        loose = [
            f"{path} is {oct(mode)} (should be {oct(want)})"
            for path, want in (
                (self.paths.runtime_dir, 0o700),
                (self.paths.daemon_socket, 0o600),
                (self.paths.daemon_token, 0o600),
            )
            if (mode := _mode(path)) is not None and mode & ~want
        ]
        if loose:
            return Finding(
                "daemon", "fail", "; ".join(loose), "`rung daemon restart` makes them again"
            )
        turns = status.get("turns") or {}
        return Finding(
            "daemon",
            "ok",
            f"runs (pid {status['pid']}, {turns.get('served', 0)} turns served); its socket "
            f"and token are private to you; {installed}",
        )

    def last_check(self) -> Finding:
        model = self.settings.model
        kept = tool_check.load(self.paths.state_dir, model)
        if kept is None:
            return Finding(
                "tool check", "warn", f"{model} has not been checked", "rung doctor --model"
            )
        status: Status = "ok" if kept["accuracy"] >= tool_check.WARN_BELOW else "warn"
        return Finding(
            "tool check",
            status,
            f"{model} passed {kept['accuracy']:.0%} of {kept['cases']} cases on "
            f"{kept['when'][:10]} ({kept['tools']} tools, num_ctx {kept['num_ctx']})",
            "" if status == "ok" else "a larger model may call tools more reliably",
        )


def _mode(path: Path) -> int | None:
    import stat

    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def models_pulled(count: int) -> str:
    return f"{count} model{'' if count == 1 else 's'} pulled"


def doctor_command(
    loaded: LoadedSettings, *, check_model: bool, tools: int | None, lenient: bool, as_json: bool
) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    paths = Paths.default()

    def show(finding: Finding) -> None:
        if as_json:
            return
        mark = MARKS[finding.status]
        console.print(f"{mark} {finding.check:<14} {escape(finding.detail)}", soft_wrap=True)
        if finding.hint and finding.status != "ok":
            console.print(f"  [dim]hint: {escape(finding.hint)}[/]", soft_wrap=True)

    found = asyncio.run(Doctor(loaded, paths, show).run())
    failed = any(f.status == "fail" for f in found)
    check: dict[str, Any] | None = None
    if check_model and not any(
        f.check in ("ollama", "model") and f.status == "fail" for f in found
    ):
        count = tools or loaded.settings.max_tools
        report = asyncio.run(_check(loaded.settings, count, lenient, console, quiet=as_json))
        tool_check.save(paths.state_dir, report)
        check = report.summary()
        if not as_json:
            show_check(console, report)
    if as_json:
        print(json.dumps({"findings": [asdict(f) for f in found], "tool_check": check}, indent=2))
    return 1 if failed else 0


async def _check(
    settings: Settings, tools: int, lenient: bool, console: Any, *, quiet: bool
) -> tool_check.CheckReport:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    model = OllamaChatModel.from_settings(settings)
    columns = (
        TextColumn("tool check"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[score]}"),
    )
    try:
        with Progress(*columns, console=console, transient=True, disable=quiet) as progress:
            task = progress.add_task("cases", total=len(tool_check.CASES), score="")
            passed = 0

            def step(result: tool_check.CaseResult) -> None:
                nonlocal passed
                passed += result.passed
                progress.update(task, advance=1, score=f"{passed} passed")

            return await tool_check.run_check(
                model, num_ctx=settings.num_ctx, tools=tools, lenient=lenient, progress=step
            )
    finally:
        await model.aclose()


def show_check(console: Any, report: tool_check.CheckReport) -> None:
    from rich.markup import escape

    speed = f"{report.tokens_per_s:.1f} tokens/s" if report.tokens_per_s else "n/a"
    console.print(
        f"\n[bold]Tool calling, {escape(report.model)}[/]: {report.accuracy:.0%} of "
        f"{len(report.results)} cases · {report.refusals} answered without the tool they "
        f"needed · {report.seconds_per_case:.1f} s per case · {speed} · {report.tools} tools "
        f"offered · num_ctx {report.num_ctx}"
    )
    for kind, (passed, total) in report.by_kind().items():
        console.print(f"  {kind:<10} {passed}/{total}")
    for result in report.results:
        if not result.passed:
            made = ", ".join(c["name"] for c in result.calls) or result.error or "no call"
            console.print(f"  [dim]✗ {escape(result.case.message)} → {escape(made)}[/]")
    if report.accuracy < tool_check.WARN_BELOW:
        console.print(
            "[yellow]Below 70 %: in the agent and assistant tiers this model will miss or "
            "garble tool calls. A larger model helps.[/]"
        )
