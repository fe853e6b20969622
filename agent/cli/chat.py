"""`rung chat`: the terminal chat.

prompt_toolkit reads input (persisted history, Alt-Enter for a new line, slash-command
completion); rich shows the reply as it streams, as Markdown. Ctrl-C during a reply stops
that reply and keeps the chat; Ctrl-D or /exit leaves.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from rung.agent import tiers
from rung.agent.chat_session import ChatSession, ChatState
from rung.agent.cli.chat_tools import ChatTools
from rung.agent.messages import (
    LoopEvent,
    Notice,
    Recalled,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolResult,
)
from rung.agent.ollama_model import OllamaChatModel
from rung.agent.runtime import open_store
from rung.config.errors import ModelNotFound, RungError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, Settings

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

    from rung.agent.sessions import SessionStore
    from rung.agent.tiers import Tier
    from rung.tools.base import ToolRegistry

COMMANDS: dict[str, str] = {
    "/help": "show this help",
    "/new": "start a new session",
    "/sessions": "list recent sessions",
    "/resume": "/resume ID: continue a stored session",
    "/model": "/model [NAME]: show the model and those installed, or switch",
    "/tier": "/tier [NAME]: show the tier and the others, or switch (the talk carries over)",
    "/memory": "the memories recalled into the last turn (assistant tier)",
    "/profile": "edit who you are (profile.md, for the assistant tier) in $EDITOR",
    "/clear": "clear the screen (the conversation stays)",
    "/usage": "tokens, tokens/s and time to first token of the last turn",
    "/context": "the context window's budget: persona, profile, tools, memories, history, free",
    "/compact": "summarise the older turns now (what matters is saved to memory first)",
    "/tools": "the tool servers, their state and their tools",
    "/prompt": "/prompt [NAME ARGS…]: list the MCP prompts, or send one",
    "/attach": "/attach [URI]: list the MCP resources, or add one to your next message",
    "/exit": "leave (Ctrl-D does too)",
}
PROMPT = "› "


def run_chat(
    loaded: LoadedSettings, *, resume: str | None, debug: bool, local: bool = False
) -> int:
    return asyncio.run(_chat(loaded.settings, resume=resume, debug=debug, local=local))


async def _chat(settings: Settings, *, resume: str | None, debug: bool, local: bool) -> int:
    """The chat runs in the daemon when one runs (and not `local`), else in this process;
    either way it is shown the same."""
    from rich.console import Console

    from rung.agent.daemon.client import running_daemon

    paths = Paths.default()
    console = Console(highlight=False)
    daemon = None if local else running_daemon(paths)
    with open_store(paths) as store:
        if daemon is None:
            chat: Chat = ChatSession(settings, store, paths)
            tools = ChatTools(console, paths)
        else:
            from rung.agent.cli.chat_tools import DaemonTools
            from rung.agent.daemon.chat_client import RemoteChat

            remote = RemoteChat(daemon, settings)
            chat = remote
            tools = remote_tools = DaemonTools(console, paths, remote)
            remote.approver = remote_tools.approve
            try:
                await remote.open()
            except BaseException:
                await remote.close()
                raise
        return await ChatApp(chat, tools, store, debug=debug).run(resume)


class Chat(Protocol):
    """What the terminal drives: the engine's `ChatSession` in this process, or the
    daemon's through `RemoteChat` (each method a request)."""

    settings: Settings
    tier: Tier
    model: OllamaChatModel

    def open_memory_soon(self) -> None: ...
    async def memory_opened(self) -> str | None: ...
    async def ensure_ready(self) -> list[str]: ...
    def send(self, text: str, tools: ToolRegistry | None) -> AsyncIterator[LoopEvent]: ...
    async def new_session(self) -> None: ...
    async def resume(self, session_id: str) -> None: ...
    async def use_model(self, name: str) -> None: ...
    async def use_tier(self, name: str) -> Tier: ...
    async def compact(self) -> str: ...
    async def state(self) -> ChatState: ...
    async def close(self) -> None: ...


class ChatApp:
    """The terminal's side of a chat: reading input, showing replies, the slash commands.
    What they do to the chat is the `ChatSession`'s."""

    def __init__(
        self, chat: Chat, tools: ChatTools, store: SessionStore, *, debug: bool = False
    ) -> None:
        self.chat = chat
        self.tools = tools
        self.console: Console = tools.console
        self.store = store  # for /sessions
        self.debug = debug
        self.paths = tools.paths
        self.attached: list[str] = []  # resources that go with the next message
        self.memory_news: asyncio.Future[None] | None = None  # says a memory is not there
        self.handlers: dict[str, Callable[[str], Awaitable[None]]] = {
            "/help": self.cmd_help,
            "/new": self.cmd_new,
            "/sessions": self.cmd_sessions,
            "/resume": self.cmd_resume,
            "/model": self.cmd_model,
            "/tier": self.cmd_tier,
            "/memory": self.cmd_memory,
            "/profile": self.cmd_profile,
            "/clear": self.cmd_clear,
            "/usage": self.cmd_usage,
            "/context": self.cmd_context,
            "/compact": self.cmd_compact,
            "/tools": self.cmd_tools,
            "/prompt": self.cmd_prompt,
            "/attach": self.cmd_attach,
        }

    @property
    def tier(self) -> Tier:
        return self.chat.tier

    # --- the main loop ------------------------------------------------------------------

    async def run(self, resume: str | None = None) -> int:
        try:
            if resume:
                await self.chat.resume(resume)
            await self.banner()
            session = self.prompt_session()
            self.tools.invalidate = session.app.invalidate
            self.start_after_first_render(session)
            while True:
                self.tools.show_news()
                try:
                    text = await session.prompt_async(PROMPT)
                except KeyboardInterrupt:
                    continue  # Ctrl-C at the prompt clears the line
                except EOFError:
                    break
                text = text.strip()
                if not text:
                    continue
                if text in ("/exit", "/quit"):
                    break
                try:
                    if text.startswith("/"):
                        await self.command(text)
                    else:
                        await self.reply(text)
                except RungError as exc:
                    self.error(exc)
            return 0
        finally:
            if self.memory_news is not None:
                await asyncio.gather(self.memory_news, return_exceptions=True)
            await self.tools.stop()
            await self.chat.close()

    def start_after_first_render(self, session: PromptSession[str]) -> None:
        """The tool hub (about a second of imports) and the assistant tier's memory (the
        embedding model: seconds) start once the prompt is on screen."""

        def once(_: object) -> None:
            session.app.after_render -= once
            if self.tier.tools:
                self.tools.start(self.tier)
            self.chat.open_memory_soon()
            self.memory_news = asyncio.ensure_future(self.say_without_memory())

        session.app.after_render += once

    async def say_without_memory(self) -> None:
        """A memory that could not be opened (another Rung process holds it) is said once."""
        line = await self.chat.memory_opened()
        if line:
            self.tools.tell(line)

    async def banner(self) -> None:
        state = await self.chat.state()
        self.console.print(
            f"[bold]Rung[/] · model [cyan]{state.model}[/] · tier [cyan]{state.tier}[/] · "
            f"session {state.session_id}"
        )
        self.console.print(
            "[dim]Alt-Enter for a new line · /help for commands · Ctrl-D to leave[/]"
        )
        if self.tier.recall:
            from rich.markup import escape

            from rung.agent.tool_check import weak_model_warning

            warning = weak_model_warning(self.paths.state_dir, state.model)
            if warning:
                self.console.print(f"[yellow]{escape(warning)}[/]")
        if state.turns:
            self.console.print(f"[dim]Resumed a session with {state.turns} turns.[/]")

    def prompt_session(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.completion import WordCompleter
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("escape", "enter")
        def _newline(event: object) -> None:
            event.current_buffer.insert_text("\n")  # type: ignore[attr-defined]

        self.paths.chat_history.parent.mkdir(parents=True, exist_ok=True)
        return PromptSession(
            history=FileHistory(str(self.paths.chat_history)),
            completer=WordCompleter([*COMMANDS, "/quit"], sentence=True),
            bottom_toolbar=self.tools.toolbar,
            complete_while_typing=False,
            key_bindings=bindings,
            prompt_continuation="  ",
        )

    def error(self, exc: RungError) -> None:
        from rich.markup import escape

        self.console.print(f"[red]{escape(exc.message)}[/]")
        if exc.hint:
            self.console.print(f"[dim]hint: {escape(exc.hint)}[/]")
        if self.debug:
            self.console.print_exception()

    # --- one reply ----------------------------------------------------------------------

    async def reply(self, text: str) -> None:
        """Check the model (offering a download), then stream; Ctrl-C stops either."""
        task = asyncio.ensure_future(self.checked_reply(text))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            self.console.print("[yellow](stopped: the partial reply is kept)[/]")
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    async def checked_reply(self, text: str) -> None:
        if await self.ensure_ready():
            hub = await self.tools.started() if self.tier.tools else None
            self.tools.show_news()
            if self.attached:
                text = "\n\n".join([*self.attached, text])
                self.attached.clear()
            await self.stream_reply(text, hub)

    async def stream_reply(self, text: str, hub: ToolRegistry | None) -> None:
        from rich.live import Live
        from rich.markup import escape

        thinking: list[str] = []
        answer: list[str] = []
        view = ReplyView(self.chat.settings.show_thinking)
        live = Live(view, console=self.console, refresh_per_second=12, transient=True)
        self.tools.live = live
        with live:
            try:
                async for event in self.chat.send(text, hub):
                    if isinstance(event, TextDelta):
                        answer.append(event.text)
                        view.update(thinking, answer)
                    elif isinstance(event, ThinkingDelta):
                        thinking.append(event.text)
                        view.update(thinking, answer)
                    elif isinstance(event, ToolCallStarted):
                        self.flush(live, thinking, answer)
                        args = escape(json.dumps(event.call.arguments, ensure_ascii=False))
                        server = self.tools.server_of(event.call.name)
                        source = f" [dim]({escape(server)})[/]" if server else ""
                        live.console.print(
                            f"[magenta]⚙ {escape(event.call.name)}[/]{source} {args}"
                        )
                    elif isinstance(event, ToolResult):
                        style = "red" if event.is_error else "dim"
                        first = (
                            escape(event.content.strip().splitlines()[0][:120])
                            if event.content.strip()
                            else ""
                        )
                        live.console.print(f"[{style}]  ↳ {first}[/]")
                    elif isinstance(event, Notice):
                        live.console.print(f"[yellow]{escape(event.text)}[/]")
                    elif isinstance(event, Recalled):
                        live.console.print(f"[dim]◆ {escape(event.summary)} · /memory[/]")
            finally:
                self.tools.live = None
                self.flush(live, thinking, answer)
                view.update([], [])
                live.refresh()

    def flush(self, live: Live, thinking: list[str], answer: list[str]) -> None:
        """Print what has streamed so far for good (thinking dimmed, answer as Markdown)."""
        from rich.markdown import Markdown
        from rich.text import Text

        if thinking and self.chat.settings.show_thinking:
            live.console.print(Text("".join(thinking).strip(), style="dim italic"))
        if "".join(answer).strip():
            live.console.print(Markdown("".join(answer)))
        thinking.clear()
        answer.clear()

    async def ensure_ready(self) -> bool:
        """Check the model once; offer to download it when it is missing."""
        from rich.markup import escape

        try:
            lines = await self.chat.ensure_ready()
        except ModelNotFound as exc:
            self.error(exc)
            if not await self.confirm(f"Download {exc.model} now with `ollama pull`?"):
                return False
            await self.pull(exc.model)
            lines = await self.chat.ensure_ready()
        for line in lines:
            self.console.print(f"[yellow]{escape(line)}[/]")
        return True

    async def confirm(self, question: str) -> bool:
        from prompt_toolkit import PromptSession

        try:
            # handle_sigint=False: the reply's own Ctrl-C handler must survive the question
            answer = await PromptSession[str]().prompt_async(
                f"{question} [Y/n] ", handle_sigint=False
            )
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("", "y", "yes")

    async def pull(self, name: str) -> None:
        from rung.agent.pull import pull_with_progress

        model = OllamaChatModel.from_settings(self.chat.settings, model=name)
        try:
            await pull_with_progress(model, self.console)
        finally:
            await model.aclose()

    # --- slash commands -----------------------------------------------------------------

    async def command(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        handler = self.handlers.get(name)
        if handler is None:
            close = difflib.get_close_matches(name, COMMANDS, n=1)
            guess = f" Did you mean {close[0]}?" if close else ""
            self.console.print(f"Unknown command {name}.{guess} Type /help for the list.")
            return
        await handler(arg.strip())

    async def cmd_help(self, _: str) -> None:
        for name, text in COMMANDS.items():
            self.console.print(f"  [cyan]{name:<10}[/] {text}")
        self.console.print("  [dim]Alt-Enter: new line · Ctrl-C: stop a reply · Ctrl-D: leave[/]")

    async def cmd_new(self, _: str) -> None:
        await self.chat.new_session()
        self.console.print(f"New session {(await self.chat.state()).session_id}.")

    async def cmd_sessions(self, _: str) -> None:
        sessions = self.store.list(limit=10)
        if not sessions:
            self.console.print("No stored sessions yet.")
        current = (await self.chat.state()).session_id
        for s in sessions:
            mark = "*" if s.id == current else " "
            when = s.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            self.console.print(f"{mark} [cyan]{s.id}[/] {when}  {s.turns:>3} turns  {s.title}")

    async def cmd_resume(self, arg: str) -> None:
        if not arg:
            self.console.print("Usage: /resume ID (see /sessions)")
            return
        await self.chat.resume(arg)
        state = await self.chat.state()
        self.console.print(f"Resumed session {state.session_id} ({state.turns} turns).")
        if state.last_answer:
            from rich.markdown import Markdown

            self.console.print(Markdown(state.last_answer))

    async def cmd_model(self, arg: str) -> None:
        if not arg:
            self.console.print(f"Model: [cyan]{(await self.chat.state()).model}[/]")
            installed = await self.chat.model.installed()
            self.console.print("Installed: " + (", ".join(installed) or "(none)"))
            return
        try:
            await self.chat.use_model(arg)
        except ModelNotFound as exc:
            self.error(exc)
            if not await self.confirm(f"Download {exc.model} now with `ollama pull`?"):
                raise RungError(f"kept the model {(await self.chat.state()).model}") from None
            await self.pull(exc.model)
            await self.chat.use_model(arg)
        self.console.print(f"Now using [cyan]{arg}[/]; the conversation carries over.")

    async def cmd_tier(self, arg: str) -> None:
        from rich.markup import escape

        known, _ = tiers.available()
        if not arg:
            self.console.print(
                f"Tier: [cyan]{self.tier.name}[/] ({escape(', '.join(self.tier.turns_on()))}); "
                f"available: {', '.join(known)}"
            )
            return
        old = await self.chat.use_tier(arg)  # an unknown name is an error line with the list
        tier = self.tier
        self.memory_news = asyncio.ensure_future(self.say_without_memory())
        if (old.tools, old.servers, old.approvals) != (tier.tools, tier.servers, tier.approvals):
            await self.tools.stop()  # the servers and approval rules are the tier's
            if tier.tools:
                self.tools.start(tier)
        self.console.print(f"Now in the [cyan]{tier.name}[/] tier; the conversation carries over.")

    async def cmd_memory(self, _: str) -> None:
        from rich.markup import escape

        state = await self.chat.state()
        if not state.recall:
            self.console.print("Recall comes with the assistant tier (/tier assistant).")
            return
        if not state.recalled:
            self.console.print("Nothing was recalled for the last message.")
            return
        for m in state.recalled:
            cited = " [green]cited[/]" if f"[{m.tag}]" in state.last_reply else ""
            tag = escape(f"[{m.tag}]")
            why = f" · {m.why}" if m.why else ""
            self.console.print(
                f"[cyan]{tag}[/] {escape(m.origin)}{cited} [dim]{m.id}{escape(why)}[/]"
            )
            self.console.print(f"     {escape(m.text[:300])}")
        self.console.print("[dim]rung memory forget ID removes one.[/]")

    async def cmd_profile(self, _: str) -> None:
        from rung.agent.prompt import PROFILE_TEMPLATE, edit_file

        path = self.paths.profile_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(PROFILE_TEMPLATE, encoding="utf-8")
        await asyncio.to_thread(edit_file, path)
        used = "from your next message" if self.tier.profile else "in the assistant tier"
        self.console.print(
            f"Saved {path}; the assistant uses it {used}.", markup=False, soft_wrap=True
        )

    async def cmd_tools(self, _: str) -> None:
        await self.tools.describe()

    async def cmd_prompt(self, arg: str) -> None:
        text = await self.tools.prompt_text(arg)
        if text:
            await self.reply(text)

    async def cmd_attach(self, arg: str) -> None:
        text = await self.tools.attachment(arg)
        if text:
            self.attached.append(text)

    async def cmd_clear(self, _: str) -> None:
        self.console.clear()

    async def cmd_context(self, _: str) -> None:
        state = await self.chat.state()
        window = state.num_ctx
        for name, tokens in state.budget:
            bar = "█" * round(30 * tokens / window) if window else ""
            self.console.print(f"  {name:<9} {tokens:>7}  {tokens / window:>4.0%} [cyan]{bar}[/]")
        scale = state.calibration
        note = f" · estimates scaled ×{scale:.2f} from what Ollama reported" if scale != 1 else ""
        self.console.print(f"[dim]num_ctx {window} tokens (estimated){note}[/]")

    async def cmd_compact(self, _: str) -> None:
        from rich.markup import escape

        if not await self.ensure_ready():
            return
        with self.console.status("compacting…"):
            said = await self.chat.compact()
        self.console.print(escape(said))

    async def cmd_usage(self, _: str) -> None:
        u = (await self.chat.state()).last_usage
        if u is None:
            self.console.print("No turn yet in this session.")
            return
        speed = f"{u.tokens_per_s:.1f} tokens/s" if u.tokens_per_s else "n/a"
        ttft = f"{u.time_to_first_token_s:.2f} s" if u.time_to_first_token_s is not None else "n/a"
        self.console.print(
            f"prompt {u.prompt_tokens} tokens · reply {u.completion_tokens} tokens · {speed} · "
            f"first token after {ttft} · {u.total_s:.2f} s in all"
        )


class ReplyView:
    """What streams on screen: the tail of the reply, as Markdown, that fits the terminal."""

    def __init__(self, show_thinking: bool) -> None:
        self.show_thinking = show_thinking
        self.thinking = ""
        self.answer = ""

    def update(self, thinking: list[str], answer: list[str]) -> None:
        self.thinking = "".join(thinking)
        self.answer = "".join(answer)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.markdown import Markdown
        from rich.segment import Segment
        from rich.text import Text

        parts: list[object] = []
        if self.thinking and self.show_thinking:
            parts.append(Text(self.thinking.strip(), style="dim italic"))
        if self.answer:
            parts.append(Markdown(self.answer))
        lines = []
        for part in parts:
            lines.extend(console.render_lines(part, options, pad=False))  # type: ignore[arg-type]
        height = max(1, console.size.height - 2)
        for line in lines[-height:]:
            yield from line
            yield Segment.line()
