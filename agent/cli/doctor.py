"""`rung doctor`: is everything Rung needs there and working? In plain words, with fixes.

The checks (`rung.agent.doctor`, shared with the web page's Doctor page) run in order, each
printed as it is found. `--model` runs the tool-calling check now (`tool_check`). Exit code
0 when nothing failed (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from rung.agent import tool_check
from rung.agent.doctor import Doctor, Finding, daemon_finding
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.tiers import Tier, tier_rules
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, Settings

if TYPE_CHECKING:
    from rung.tools.hub import ToolHub

MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


class TerminalDoctor(Doctor):
    """The doctor at the terminal: it starts the tier's tool servers itself (a server that
    asks for approval asks here), and asks the daemon, if one runs, how it is."""

    @contextlib.asynccontextmanager
    async def tools(self, tier: Tier) -> AsyncIterator[tuple[ToolHub, list[str]]]:
        from rung.agent.cli.chat_tools import terminal_approver
        from rung.tools.catalog import open_hub

        hub, problems = open_hub(
            self.paths.mcp_file,
            self.paths.server_logs,
            terminal_approver(stderr=True),
            use=tier.uses_server,
            rules=tier_rules(tier),
        )
        try:
            await hub.start_and_wait()
            yield hub, [str(problem) for problem in problems]
        finally:
            await hub.aclose()

    def daemon(self) -> Finding:
        from rung.agent.daemon.client import DaemonClient

        client = DaemonClient(self.paths, timeout=3)
        pid = client.running_pid()
        if pid is None:
            return daemon_finding(self.paths, None, None)
        try:
            status = client.status()
        except RungError as exc:
            return Finding("daemon", "fail", f"pid {pid} holds the lock: {exc.message}", exc.hint)
        turns = status.get("turns") or {}
        return daemon_finding(self.paths, status["pid"], turns.get("served", 0))


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

    found = asyncio.run(TerminalDoctor(loaded, paths, show).run())
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

    from rung.agent.tool_choice import ToolChooser
    from rung.memory.embedder import Embedder

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

            await model.check(tools=False)  # num_ctx within the model's, as a chat has it
            chooser = ToolChooser(Embedder.shared(settings.embedding_model)) if lenient else None
            return await tool_check.run_check(
                model,
                num_ctx=model.num_ctx,
                tools=tools,
                lenient=lenient,
                ranker=chooser.ranked if chooser else None,  # as a chat with tools has it
                progress=step,
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
