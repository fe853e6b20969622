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
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rung.agent import tiers
from rung.agent.cli.chat_tools import ChatTools
from rung.agent.conversation import Conversation
from rung.agent.messages import (
    FinalAnswer,
    Notice,
    Recalled,
    TextDelta,
    ThinkingDelta,
    ToolCallStarted,
    ToolResult,
)
from rung.agent.ollama_model import OllamaChatModel, capped_notice
from rung.agent.runtime import build_conversation, open_memory, open_store, tier_of, use_tier
from rung.config.errors import ModelNotFound, RungError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, Settings
from rung.tools.base import ToolRegistry

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.live import Live

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


def run_chat(loaded: LoadedSettings, *, resume: str | None, debug: bool) -> int:
    return asyncio.run(ChatApp(loaded.settings, debug=debug).run(resume))


class ChatApp:
    def __init__(self, settings: Settings, *, debug: bool = False) -> None:
        from rich.console import Console

        self.settings = settings
        self.debug = debug
        self.paths = Paths.default()
        self.console: Console = Console(highlight=False)
        self.store = open_store(self.paths)
        self.model = OllamaChatModel.from_settings(settings)
        self.tier = tier_of(settings)
        self.conversation: Conversation = build_conversation(
            settings, store=self.store, model=self.model
        )
        self.ready = False  # the model was checked (present, tools if needed)
        self.tools = ChatTools(self.console, self.paths)
        self.attached: list[str] = []  # resources that go with the next message
        self.memory_opening: asyncio.Future[None] | None = None  # see `open_memory`
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

    # --- the main loop ------------------------------------------------------------------

    async def run(self, resume: str | None = None) -> int:
        try:
            if resume:
                self.conversation.resume(resume)
            self.banner()
            session = self.prompt_session()
            self.tools.invalidate = session.app.invalidate
            if self.tier.tools:
                self.start_tools_after_first_render(session)
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
            if self.memory_opening is not None:
                await asyncio.gather(self.memory_opening, return_exceptions=True)
            await self.tools.stop()
            await self.model.aclose()
            self.conversation.close()
            self.store.close()

    def start_tools_after_first_render(self, session: PromptSession[str]) -> None:
        """The tool hub (about a second of imports) and the assistant tier's memory (the
        embedding model: seconds) start once the prompt is on screen."""

        def once(_: object) -> None:
            session.app.after_render -= once
            self.tools.start(self.tier)
            self.memory_opening = asyncio.ensure_future(self.open_memory())

        session.app.after_render += once

    async def open_memory(self) -> None:
        """Open the tier's memory (another Rung process may hold it: then the chat goes on
        without it, said once), then let it catch up on past turns in the background."""
        line = await open_memory(self.conversation, self.settings, self.paths)
        if line:
            self.tools.tell(line)
        if self.conversation.recall is not None:
            self.conversation.recall.start()

    def banner(self) -> None:
        s = self.settings
        self.console.print(
            f"[bold]Rung[/] · model [cyan]{self.model.name}[/] · tier [cyan]{s.tier}[/] · "
            f"session {self.conversation.session_id}"
        )
        self.console.print(
            "[dim]Alt-Enter for a new line · /help for commands · Ctrl-D to leave[/]"
        )
        if self.tier.recall:
            from rich.markup import escape

            from rung.agent.tool_check import weak_model_warning

            warning = weak_model_warning(self.paths.state_dir, self.model.name)
            if warning:
                self.console.print(f"[yellow]{escape(warning)}[/]")
        if self.conversation.history:
            turns = sum(1 for m in self.conversation.history if m.role == "user")
            self.console.print(f"[dim]Resumed a session with {turns} turns.[/]")

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
            if self.memory_opening is not None:  # the turn recalls from it, or goes without
                await asyncio.shield(self.memory_opening)
            if self.tier.tools:
                hub = await self.tools.started()  # a hub with no tools yet is still the hub
                self.conversation.tools = hub if hub is not None else ToolRegistry()
            self.tools.show_news()
            if self.attached:
                text = "\n\n".join([*self.attached, text])
                self.attached.clear()
            await self.stream_reply(text)

    async def stream_reply(self, text: str) -> None:
        from rich.live import Live
        from rich.markup import escape

        thinking: list[str] = []
        answer: list[str] = []
        view = ReplyView(self.settings.show_thinking)
        live = Live(view, console=self.console, refresh_per_second=12, transient=True)
        self.tools.live = live
        with live:
            try:
                async for event in self.conversation.send(text):
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
                    elif isinstance(event, FinalAnswer):
                        pass
            finally:
                self.tools.live = None
                self.flush(live, thinking, answer)
                view.update([], [])
                live.refresh()

    def flush(self, live: Live, thinking: list[str], answer: list[str]) -> None:
        """Print what has streamed so far for good (thinking dimmed, answer as Markdown)."""
        from rich.markdown import Markdown
        from rich.text import Text

        if thinking and self.settings.show_thinking:
            live.console.print(Text("".join(thinking).strip(), style="dim italic"))
        if "".join(answer).strip():
            live.console.print(Markdown("".join(answer)))
        thinking.clear()
        answer.clear()

    async def ensure_ready(self) -> bool:
        """Check the model once; offer to download it when it is missing."""
        if self.ready:
            return True
        try:
            await self.model.check(tools=self.tier.tools)
        except ModelNotFound as exc:
            self.error(exc)
            if not await self.confirm(f"Download {exc.model} now with `ollama pull`?"):
                return False
            await self.pull()
            await self.model.check(tools=self.tier.tools)
        self.ready = True
        self.conversation.num_ctx = self.model.num_ctx
        if self.model.capped_from is not None:
            self.console.print(f"[yellow]{capped_notice(self.model)}[/]")
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

    async def pull(self) -> None:
        from rung.agent.pull import pull_with_progress

        await pull_with_progress(self.model, self.console)

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
        self.conversation.new_session()
        self.console.print(f"New session {self.conversation.session_id}.")

    async def cmd_sessions(self, _: str) -> None:
        sessions = self.store.list(limit=10)
        if not sessions:
            self.console.print("No stored sessions yet.")
        for s in sessions:
            mark = "*" if s.id == self.conversation.session_id else " "
            when = s.updated_at.astimezone().strftime("%Y-%m-%d %H:%M")
            self.console.print(f"{mark} [cyan]{s.id}[/] {when}  {s.turns:>3} turns  {s.title}")

    async def cmd_resume(self, arg: str) -> None:
        if not arg:
            self.console.print("Usage: /resume ID (see /sessions)")
            return
        self.conversation.resume(arg)
        turns = sum(1 for m in self.conversation.history if m.role == "user")
        self.console.print(f"Resumed session {self.conversation.session_id} ({turns} turns).")
        last = next((m for m in reversed(self.conversation.history) if m.role == "assistant"), None)
        if last is not None and last.content:
            from rich.markdown import Markdown

            self.console.print(Markdown(last.content))

    async def cmd_model(self, arg: str) -> None:
        if not arg:
            self.console.print(f"Model: [cyan]{self.model.name}[/]")
            installed = await self.model.installed()
            self.console.print("Installed: " + (", ".join(installed) or "(none)"))
            return
        model = OllamaChatModel.from_settings(self.settings, model=arg)
        old, self.model = self.model, model
        self.ready = False
        try:
            if not await self.ensure_ready():
                raise RungError(f"kept the model {old.name}")
        except RungError:
            self.model = old
            self.ready = True
            await model.aclose()
            raise
        await old.aclose()
        self.settings = self.settings.model_copy(update={"model": arg})
        self.conversation.model = model
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
        tier = tiers.get(arg)  # an unknown name is an error line with the list
        self.settings = self.settings.model_copy(update={"default_tier": tier.name})
        old, self.tier = self.tier, tier
        old_recall = use_tier(self.conversation, self.settings, self.paths)
        if old_recall is not None:
            await asyncio.to_thread(old_recall.close)  # its store's lock, before the new one
        self.memory_opening = asyncio.ensure_future(self.open_memory())
        if (old.tools, old.servers, old.approvals) != (tier.tools, tier.servers, tier.approvals):
            await self.tools.stop()  # the servers and approval rules are the tier's
            if tier.tools:
                self.tools.start(tier)
        self.ready = False
        self.console.print(f"Now in the [cyan]{tier.name}[/] tier; the conversation carries over.")

    async def cmd_memory(self, _: str) -> None:
        from rich.markup import escape

        if self.conversation.recall is None:
            self.console.print("Recall comes with the assistant tier (/tier assistant).")
            return
        memories = self.conversation.recalled
        if not memories:
            self.console.print("Nothing was recalled for the last message.")
            return
        answer = self.conversation.last.answer if self.conversation.last else ""
        for m in memories:
            cited = " [green]cited[/]" if f"[{m.tag}]" in answer else ""
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
        self.tools.describe()

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
        rows = self.conversation.budget()
        window = self.conversation.num_ctx
        for name, tokens in rows:
            bar = "█" * round(30 * tokens / window) if window else ""
            self.console.print(f"  {name:<9} {tokens:>7}  {tokens / window:>4.0%} [cyan]{bar}[/]")
        scale = self.conversation.calibration
        note = f" · estimates scaled ×{scale:.2f} from what Ollama reported" if scale != 1 else ""
        self.console.print(f"[dim]num_ctx {window} tokens (estimated){note}[/]")

    async def cmd_compact(self, _: str) -> None:
        from rich.markup import escape

        if not await self.ensure_ready():
            return
        with self.console.status("compacting…"):
            said = await self.conversation.compact()
        self.console.print(escape(said))

    async def cmd_usage(self, _: str) -> None:
        last = self.conversation.last
        if last is None:
            self.console.print("No turn yet in this session.")
            return
        u = last.usage
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
