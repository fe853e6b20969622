"""The chat's side of the tool hub: starting it off the prompt's path, its status, approvals.

The hub is built in a worker thread (importing the MCP SDK takes about a second) after the
prompt is up, so the first prompt never waits for tools; servers then start in the
background and the bottom toolbar shows how they stand. An `ask` approval pauses the
streaming view, shows the call in full and waits for y / a / n; no answer within
`APPROVAL_TIMEOUT` is a no.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from rung.agent.prompt import untrusted
from rung.agent.tiers import tier_rules
from rung.config.errors import RungError
from rung.config.paths import Paths
from rung.tools.views import ServerView, render_prompt, server_views

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live

    from rung.agent.daemon.chat_client import RemoteChat
    from rung.agent.tiers import Tier
    from rung.tools.approvals import Answer, ApprovalRequest, Approver
    from rung.tools.hub import Server, ToolHub
    from rung.tools.mcp_client import RemotePrompt, RemoteResource

APPROVAL_TIMEOUT = 300.0  # seconds; then the call is denied


class ChatTools:
    def __init__(self, console: Console, paths: Paths) -> None:
        self.console = console
        self.paths = paths
        self.hub: ToolHub | None = None
        self.live: Live | None = None  # the streaming view to pause for a question
        self.invalidate: Callable[[], None] = lambda: None  # redraws the prompt's toolbar
        self._task: asyncio.Task[None] | None = None
        self._news: list[str] = []  # failures to show before the next prompt or reply

    def start(self, tier: Tier) -> None:
        """Build the hub for `tier`'s servers and start them (in the background)."""
        if self._task is None:
            self._task = asyncio.create_task(self._open(tier))

    async def started(self) -> ToolHub | None:
        """The hub once it exists (servers may still be starting); None if it could not be."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.hub

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.hub is not None:
            await self.hub.aclose()
            self.hub = None

    async def _open(self, tier: Tier) -> None:
        from rung.tools.catalog import open_hub

        try:
            hub, problems = await asyncio.to_thread(
                lambda: open_hub(
                    self.paths.mcp_file,
                    self.paths.server_logs,
                    self.approve,
                    use=tier.uses_server,
                    rules=tier_rules(tier),
                    audit=self.paths.audit_log,
                )
            )
            hub.on_change = self._changed
            hub.start()
        except RungError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            self._news.append(f"tools are off: {exc.message}{hint}")
            return
        self._news.extend(problems)
        self.hub = hub
        self.invalidate()

    def _changed(self, server: Server) -> None:
        if server.state == "failed":
            self._news.append(
                f"tool server {server.name} failed: {server.reason} (log: {server.log_path})"
            )
        if blocked := server.pin_notice():
            self._news.append(blocked)
        self.invalidate()

    def tell(self, line: str) -> None:
        """Something to show before the next prompt or reply."""
        self._news.append(line)
        self.invalidate()

    def show_news(self) -> None:
        from rich.markup import escape

        for line in self._news:
            self.console.print(f"[yellow]{escape(line)}[/]", soft_wrap=True)  # whole paths
        self._news.clear()

    def toolbar(self) -> str:
        status = self.status()
        if status is None:
            return " tools: loading…" if self.loading() else ""
        tools, counts = status
        states = " · ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        return f" tools: {tools} from {states or 'no servers'} — /tools"

    # -- what is shown, read from the hub (the daemon's chat reads it from the daemon's) --

    def loading(self) -> bool:
        return self._task is not None and not self._task.done()

    def status(self) -> tuple[int, dict[str, int]] | None:
        """The tools offered, and how many servers are in each state; None without a hub."""
        if self.hub is None:
            return None
        counts: dict[str, int] = {}
        for server in self.hub.servers.values():
            counts[server.state] = counts.get(server.state, 0) + 1
        return len(self.hub), counts

    def server_of(self, tool: str) -> str | None:
        return self.hub.tool_server(tool) if self.hub else None

    async def servers(self) -> list[ServerView] | None:
        return server_views(self.hub) if self.hub is not None else None

    async def prompts(self) -> list[tuple[str, RemotePrompt]] | None:
        hub = await self.started()
        return await hub.prompts() if hub is not None else None

    async def rendered_prompt(self, typed: str) -> str:
        hub = await self.started()
        assert hub is not None  # prompts() said there is one
        return await render_prompt(hub, typed)

    async def resources(self) -> list[tuple[str, RemoteResource]] | None:
        hub = await self.started()
        return await hub.resources() if hub is not None else None

    async def read_resource(self, uri: str) -> str | None:
        hub = await self.started()
        return await hub.read_resource(uri) if hub is not None else None

    # -- the commands ---------------------------------------------------------------------

    async def describe(self) -> None:
        """/tools: each server, its state, its tools (or why it failed, and its log)."""
        from rich.markup import escape

        servers = await self.servers()
        if servers is None:
            self.console.print("No tools in this tier (or they are still loading).")
            return
        if not servers:
            self.console.print("No tool servers are enabled; see `rung tools list`.")
        for server in servers:
            color = {"ready": "green", "failed": "red"}.get(server.state, "yellow")
            self.console.print(
                f"[bold]{escape(server.name)}[/] [{color}]{server.state}[/] "
                f"[dim]{escape(server.launch)}[/]"
            )
            if server.state == "ready":
                names = ", ".join(server.tools) or "(no tools)"
                self.console.print(f"  {escape(names)}")
                if server.blocked:
                    held = ", ".join(f"{t} ({why})" for t, why in server.blocked.items())
                    diff = f"rung tools diff {server.name}"
                    self.console.print(f"  [red]blocked:[/] {escape(held)} · {escape(diff)}")
            elif server.reason:
                self.console.print(
                    f"  [dim]{escape(server.reason)} · log: {escape(server.log)}[/]",
                    soft_wrap=True,  # a path broken across lines cannot be copied
                )

    async def prompt_text(self, arg: str) -> str | None:
        """/prompt: list the servers' prompts, or render one into the text to send."""
        from rich.markup import escape

        if not arg:
            found = await self.prompts()
            if found is None:
                self.console.print("No tools in this tier: MCP prompts come with the agent tier.")
                return None
            if not found:
                self.console.print("No MCP prompts on offer (servers may still be starting).")
            for server, p in found:
                args = " ".join(f"{n}=…" if req else f"[{n}=…]" for n, req in p.arguments)
                self.console.print(
                    f"  [cyan]{escape(p.name)}[/] {escape(args)} "
                    f"[dim]({escape(server)}) {escape(p.description)}[/]"
                )
            return None
        if not await self.has_tools():
            self.console.print("No tools in this tier: MCP prompts come with the agent tier.")
            return None
        return await self.rendered_prompt(arg)

    async def attachment(self, uri: str) -> str | None:
        """/attach: list the servers' resources, or read one to go with the next message."""
        from rich.markup import escape

        if not uri:
            found = await self.resources()
            if found is None:
                self.console.print("No tools in this tier: resources come with the agent tier.")
                return None
            if not found:
                self.console.print("No MCP resources listed (servers may still be starting).")
            for server, r in found:
                self.console.print(
                    f"  [cyan]{escape(r.uri)}[/] [dim]({escape(server)}) {escape(r.name)}[/]"
                )
            return None
        text = await self.read_resource(uri)
        if text is None:
            self.console.print("No tools in this tier: resources come with the agent tier.")
            return None
        self.console.print(f"Attached {escape(uri)} ({len(text)} characters) to your next message.")
        return untrusted(f"resource {uri}", text)

    async def has_tools(self) -> bool:
        return await self.started() is not None

    async def approve(self, request: ApprovalRequest) -> Answer:
        """Ask the person at the terminal, with the streaming view paused meanwhile."""
        live = self.live
        if live is not None:
            live.stop()
        try:
            return await ask_at_terminal(self.console, request)
        finally:
            if live is not None:
                live.start()


class DaemonTools(ChatTools):
    """The tools of a chat that runs in the daemon: the daemon's warm servers, started at
    the chat's first turn; what /tools, /prompt and /attach show is read from it."""

    def __init__(self, console: Console, paths: Paths, chat: RemoteChat) -> None:
        super().__init__(console, paths)
        self.chat = chat

    def start(self, tier: Tier) -> None:
        """The daemon starts them (or has them running already)."""

    async def stop(self) -> None:
        """The daemon keeps them for the next turns, of this chat or any other."""

    async def started(self) -> ToolHub | None:
        return None  # the daemon's hub stays in the daemon

    def loading(self) -> bool:
        return False

    def status(self) -> tuple[int, dict[str, int]] | None:
        tools = self.chat.tools
        return (int(tools["count"]), dict(tools["states"])) if tools else None

    def server_of(self, tool: str) -> str | None:
        return self.chat.servers.get(tool)

    async def servers(self) -> list[ServerView] | None:
        return await self.chat.server_views()

    async def prompts(self) -> list[tuple[str, RemotePrompt]] | None:
        return await self.chat.prompts()

    async def rendered_prompt(self, typed: str) -> str:
        return await self.chat.rendered_prompt(typed)

    async def resources(self) -> list[tuple[str, RemoteResource]] | None:
        return await self.chat.resources()

    async def read_resource(self, uri: str) -> str | None:
        return await self.chat.read_resource(uri)

    async def has_tools(self) -> bool:
        return self.chat.tier.tools


def terminal_approver(*, stderr: bool = False) -> Approver:
    """Who answers approvals outside the chat: the person at the terminal, or no one."""
    import sys

    from rich.console import Console

    from rung.tools.approvals import no_one_to_ask

    if not sys.stdin.isatty():
        return no_one_to_ask
    console = Console(stderr=stderr, highlight=False)

    async def approver(request: ApprovalRequest) -> Answer:
        return await ask_at_terminal(console, request)

    return approver


async def ask_at_terminal(console: Console, request: ApprovalRequest) -> Answer:
    """Show the call in full and wait for y / a / n; Ctrl-C, Ctrl-D or no answer is a no."""
    from prompt_toolkit import PromptSession
    from rich.markup import escape
    from rich.syntax import Syntax

    from rung.tools.approvals import parse_answer

    if request.gated:  # why it asks though its policy may allow it
        console.print(f"[yellow]Careful:[/] {escape(request.gated)}.", soft_wrap=True)
    console.print(
        f"[bold yellow]Allow[/] [bold]{escape(request.tool)}[/] "
        f"from server [cyan]{escape(request.server)}[/]?"
    )
    args = json.dumps(request.arguments, indent=2, ensure_ascii=False)
    console.print(Syntax(args, "json", theme="ansi_dark", word_wrap=True))
    options = "y = once, a = always, n = no" if request.always_offered else "y = yes, n = no"
    try:
        async with asyncio.timeout(APPROVAL_TIMEOUT):
            # handle_sigint=False: the reply's own Ctrl-C handler must survive the question
            text = await PromptSession[str]().prompt_async(f"({options}) › ", handle_sigint=False)
    except (KeyboardInterrupt, EOFError, TimeoutError):
        text = ""
    answer = parse_answer(text, always_offered=request.always_offered)
    verdict = {"once": "allowed once", "always": "allowed from now on", "deny": "denied"}
    console.print(f"[dim]{verdict[answer]}[/]")
    return answer
