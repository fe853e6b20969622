"""The checks of `rung doctor`, shared by the terminal (`rung doctor`) and the web page's
Doctor page (through the daemon): is everything Rung needs there and working? In plain
words, with fixes.

In order, each saying what it found: the config file, the Ollama server, the model (pulled,
its context length against `num_ctx`, tool support), the tool servers (started for real),
the memory (its store and the embedding model), the last tool-calling check of the model,
and the daemon. A front end gives what differs where it runs: the tool servers to look at
(the terminal starts them; the daemon shows its own) and how the daemon is seen (the
terminal asks it; the daemon looks at itself)."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rung.agent import tiers, tool_check
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.tiers import Tier
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, Settings

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from rung.tools.hub import ToolHub

Status = Literal["ok", "warn", "fail"]
MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


@dataclass(frozen=True)
class Finding:
    check: str  # "ollama", "model", …
    status: Status
    detail: str
    hint: str = ""


@dataclass
class Doctor(ABC):
    """The checks; a front end subclasses it to say which tool servers to look at
    (`tools`) and how it sees the daemon (`daemon`)."""

    loaded: LoadedSettings
    paths: Paths
    report: Callable[[Finding], None]

    @abstractmethod
    def tools(self, tier: Tier) -> AbstractAsyncContextManager[tuple[ToolHub, list[str]]]:
        """The tier's tool hub, its servers started, and the problems met on the way."""

    @abstractmethod
    def daemon(self) -> Finding:
        """Is the daemon running and answering; its folder, socket and token private; is
        it installed as a service (`daemon_finding`)."""

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
        note(await asyncio.to_thread(self.daemon))  # the daemon may be asking itself
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
        try:
            async with self.tools(self.tier) as (hub, problems):
                for problem in problems:
                    hint = "fix it with `rung tools list -v`"
                    note(Finding("tool servers", "fail", str(problem), hint))
                for server in hub.servers.values():
                    note(server_finding(server))
                offered = min(len(hub), self.settings.max_tools)
                said = f"{len(hub)} tools enabled; each turn offers up to {offered}"
                note(Finding("tool servers", "ok", said))
        except RungError as exc:
            note(Finding("tool servers", "fail", exc.message, exc.hint))

    def memory(self, note: Callable[[Finding], None]) -> None:
        from rung.memory.embedder import Embedder
        from rung.memory.service import Memory

        started = time.perf_counter()
        try:
            embedder = Embedder.shared(self.settings.embedding_model)
            memory = Memory.shared(self.settings, self.paths.memory_dir, embedder)
            try:
                with memory.lock:
                    stats = memory.stats()
                    dimension = memory.embedder.dimension
                    loaded = time.perf_counter() - started
                    due = memory.reindex_due()  # opens the store: busy? the right model?
            finally:
                memory.release()
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


def server_finding(server: Any) -> Finding:
    if server.state == "ready":
        tools = len(server.offered())
        said = f"ready, {tools} tool{'' if tools == 1 else 's'}"
        return Finding(f"server {server.name}", "ok", said)
    return Finding(
        f"server {server.name}",
        "fail",
        f"{server.state}: {server.reason}",
        f"see {server.log_path}, or `rung tools test {server.name}`",
    )


def daemon_finding(paths: Paths, pid: int | None, served: int | None) -> Finding:
    """What the doctor says of the daemon: not running (`pid` None), or running with
    `served` turns, its folder, socket and token private to the user."""
    import os
    import sys

    from rung.agent.service import service_for

    service = service_for(
        sys.platform, config=None, environ=os.environ, memory_max="", log=paths.daemon_log
    ).path
    installed = (
        f"installed as a service ({service})" if service.exists() else "not installed as a service"
    )
    if pid is None:
        return Finding(
            "daemon",
            "ok",
            f"not running; {installed}",
            "" if service.exists() else "optional: `rung daemon start`, `rung daemon install`",
        )
    loose = [
        f"{path} is {oct(mode)} (should be {oct(want)})"
        for path, want in (
            (paths.runtime_dir, 0o700),
            (paths.daemon_socket, 0o600),
            (paths.daemon_token, 0o600),
        )
        if (mode := _mode(path)) is not None and mode & ~want
    ]
    if loose:
        return Finding("daemon", "fail", "; ".join(loose), "`rung daemon restart` makes them again")
    return Finding(
        "daemon",
        "ok",
        f"runs (pid {pid}, {served or 0} turns served); its socket and token are private "
        f"to you; {installed}",
    )


def _mode(path: Path) -> int | None:
    import stat

    try:
        return stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        return None


def models_pulled(count: int) -> str:
    return f"{count} model{'' if count == 1 else 's'} pulled"
