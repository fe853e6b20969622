"""`rung init`: a new user's first minutes, in a few questions, each with a sensible default.

1. Ollama: the configured server, or another address when that one does not answer.
2. The model: those Ollama has pulled, with their size and whether they call tools; when
   there are none (or the one named is missing), an offer to pull it with a progress bar.
3. The tier: chatbot, agent, assistant or a plugin's; a model that cannot call tools
   makes chatbot the default.
4. The persona (`persona.md`): the assistant's name and how it answers.
5. The profile (`profile.md`, tiers that read it): name, place, work, preferences.

Nothing is written until every answer is in. Then `config.toml` gets model, default_tier
and (when it changed) ollama_host, the rest of the file kept as it was; the Markdown files
are written only where none exists (an existing one is never replaced); and `rung doctor`
checks the result, whose exit code is init's.

Answers come from the terminal, or line by line from stdin; an empty line (or the end of
the input) takes the default. `--yes` takes every default without asking and pulls nothing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rich.markup import escape

from rung.agent import tiers
from rung.agent.cli.doctor import doctor_command
from rung.agent.doctor import models_pulled
from rung.agent.ollama_model import ModelDetails, OllamaChatModel, PulledModel
from rung.agent.prompt import PROFILE_TEMPLATE, TONES, persona_text
from rung.config.errors import RungError, UserError
from rung.config.paths import Paths
from rung.config.settings import LoadedSettings, load_settings, write_settings

if TYPE_CHECKING:
    from rich.console import Console

T = TypeVar("T")
SUGGESTED_MODEL = "qwen3:4b"  # pulled when a new user has none: small, and it calls tools
# The profile's questions: the template's label -> how init asks for it
PROFILE_QUESTIONS = {
    "Name": "Your name",
    "Where I live": "Where you live (for the weather, the time, places)",
    "Work": "Your work",
    "Preferences (how I like answers, what to avoid)": "How you like answers",
}


@dataclass
class Plan:
    """Everything init will write, once every question is answered."""

    host: str
    model: str
    tier: str
    persona: str | None  # the text of a new persona.md; None: keep the one there
    profile: str | None  # the same for profile.md (None also when the tier reads none)


class Questions:
    """Asks on the terminal (or reads stdin), or takes each default when told to."""

    def __init__(self, console: Console, *, defaults: bool) -> None:
        self.console = console
        self.defaults = defaults  # --yes, or stdin ended: no more asking

    def ask(self, question: str, default: str) -> str:
        if self.defaults:
            self.console.print(f"{question}: {default or '(none)'}", markup=False)
            return default
        shown = f" [{default}]" if default else ""
        try:
            answer = input(f"{question}{shown}: ")
        except EOFError:
            print()
            if sys.stdin.isatty():  # Ctrl-D at a question: stop, as Ctrl-C does
                raise KeyboardInterrupt from None
            self.defaults = True  # piped answers ran out: the defaults from here on
            return default
        if not sys.stdin.isatty():
            print(answer)  # what a terminal would have echoed
        return answer.strip() or default

    def confirm(self, question: str, default: bool = True) -> bool:
        while True:
            answer = self.ask(f"{question} ({'Y/n' if default else 'y/N'})", "").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.console.print(f"{answer!r}: type y or n", style="yellow", markup=False)

    def choose(self, question: str, options: list[str], default: str, *, free: bool) -> str:
        """A number from the list or a name; `free`: any name at all (a model to pull)."""
        while True:
            answer = self.ask(question, default)
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1]
            if answer in options or free:
                return answer
            self.console.print(
                f"{answer!r} is not in the list: type its number or its name",
                style="yellow",
                markup=False,
            )

    def fail(self, exc: RungError, what: str = "") -> None:
        """A failed step, in one line and its hint; the questions go on."""
        self.console.print(f"[red]✗[/] {escape(what + exc.message)}")
        if exc.hint:
            self.console.print(f"  hint: {exc.hint}", style="dim", markup=False)


class Init:
    def __init__(self, loaded: LoadedSettings, paths: Paths, questions: Questions) -> None:
        self.loaded = loaded
        self.settings = loaded.settings
        self.paths = paths
        self.questions = questions
        self.console = questions.console

    def plan(self, *, model: str | None, tier: str | None, host: str | None) -> Plan:
        host, pulled = self.find_ollama(host or self.settings.ollama_host)
        chosen, details = self.choose_model(host, pulled, model)
        tier_name = self.choose_tier(tier, chosen, details)
        persona = self.persona()
        profile = self.profile() if tiers.get(tier_name).profile else None
        return Plan(host, chosen, tier_name, persona, profile)

    def ollama(
        self, host: str, job: Callable[[OllamaChatModel], Awaitable[T]], model: str = ""
    ) -> T:
        """One exchange with the server, in an event loop of its own: the questions are
        asked outside any loop, so Ctrl-C at a question stops init there and then."""

        async def run() -> T:
            client = self.client(model or self.settings.model, host)
            try:
                return await job(client)
            finally:
                await client.aclose()

        return asyncio.run(run())

    # -- the questions ---------------------------------------------------------------------

    def find_ollama(self, host: str) -> tuple[str, list[PulledModel] | None]:
        """The server's address and what it has pulled; None when none answered."""
        while True:
            try:
                pulled = self.ollama(host, lambda client: client.pulled())
            except RungError as exc:
                self.questions.fail(exc, f"Ollama at {host}: ")
                other = self.questions.ask("Ollama's address (Enter: go on without it)", host)
                if other == host:
                    return host, None
                host = other
                continue
            found = f"Ollama at {host}: {models_pulled(len(pulled))}"
            self.console.print(f"[green]✓[/] {escape(found)}")
            return host, pulled

    def choose_model(
        self, host: str, pulled: list[PulledModel] | None, named: str | None
    ) -> tuple[str, ModelDetails | None]:
        if pulled is None:  # no server: take a name; the doctor will say what is wrong
            return named or self.questions.ask("Model", self.settings.model), None
        names = [m.name for m in pulled]
        details = self.ollama(host, lambda client: _all_details(client, names))
        shown = False
        while True:
            if named is None and pulled:
                if not shown:
                    self.show_models(pulled, details)
                    shown = True
                default = self.default_model(names, details)
                named = self.questions.choose("Model (number or name)", names, default, free=True)
            elif named is None:
                default = self.first_model()
                named = self.questions.ask("Model to pull", default)
            name = _pulled_name(named, names)
            if name in details:
                return name, details[name]
            try:
                return name, self.offer_pull(name, host)
            except RungError as exc:
                self.questions.fail(exc)
                if self.questions.defaults:
                    return name, None
                named = None  # ask again

    def first_model(self) -> str:
        """What to offer a server with nothing pulled: the configured model, when the
        user chose one, else the suggestion (said with why)."""
        if self.loaded.sources["model"] != "default":
            self.console.print(
                f"Ollama has no models yet; your settings name {self.settings.model}.",
                markup=False,
            )
            return self.settings.model
        self.console.print(
            f"Ollama has no models yet. {SUGGESTED_MODEL} is a good first one: "
            "about 2.5 GB, and it can call tools.",
            markup=False,
        )
        return SUGGESTED_MODEL

    def default_model(self, names: list[str], details: dict[str, ModelDetails]) -> str:
        """The configured model when pulled, else the first that calls tools, else the first."""
        if self.settings.model in names:
            return self.settings.model
        return next((n for n in names if details[n].supports("tools")), names[0])

    def show_models(self, pulled: list[PulledModel], details: dict[str, ModelDetails]) -> None:
        from rich.table import Table

        table = Table("", "model", "size", "parameters", "calls tools", "context", box=None)
        for n, model in enumerate(pulled, 1):
            info = details[model.name]
            table.add_row(
                str(n),
                escape(model.name),
                f"{model.size / 1e9:.1f} GB",
                model.parameter_size or "?",
                "yes" if info.supports("tools") else "no",
                f"{info.context_length:,}" if info.context_length else "?",
            )
        self.console.print(table)

    def offer_pull(self, name: str, host: str) -> ModelDetails | None:
        """`name` is not pulled: offer to pull it now; its details once it is there, None
        when the user would rather not. A failed pull raises, with what went wrong."""
        self.console.print(f"{name} is not pulled yet.", markup=False)
        if self.questions.defaults or not self.questions.confirm(f"Pull {name} now?"):
            self.console.print(f"Later: ollama pull {name}", style="dim", markup=False)
            return None
        from rung.agent.pull import pull_with_progress

        async def pull(model: OllamaChatModel) -> ModelDetails:
            await pull_with_progress(model, self.console)
            return await model.details()

        return self.ollama(host, pull, model=name)

    def choose_tier(self, named: str | None, model: str, details: ModelDetails | None) -> str:
        if named is not None:
            return tiers.get(named).name  # a bad name: one line with the list
        from rich.table import Table

        found, problems = tiers.available()
        table = Table("", "tier", "what it is", box=None)
        for n, tier in enumerate(found.values(), 1):
            table.add_row(str(n), escape(tier.name), escape(tier.summary))
        self.console.print(table)
        for problem in problems:
            self.console.print(f"[yellow]{escape(problem)}[/]")
        default = self.settings.tier if self.settings.tier in found else tiers.CHATBOT.name
        calls_tools = details is None or details.supports("tools")
        if not calls_tools and found[default].tools:
            default = tiers.CHATBOT.name
            self.console.print(
                f"{model} cannot call tools, so the default is the chatbot tier.", markup=False
            )
        name = self.questions.choose("Tier (number or name)", list(found), default, free=False)
        if not calls_tools and found[name].tools:
            self.console.print(
                f"The {name} tier needs tools and {model} cannot call them: "
                "rung doctor will fail until you pick a model that can.",
                style="yellow",
                markup=False,
            )
        return name

    def persona(self) -> str | None:
        path = self.paths.persona_file
        if path.exists():
            self.console.print(f"Keeping your persona: {path}", markup=False)
            return None
        name = self.questions.ask("Your assistant's name", "Rung")
        tone = self.questions.choose(
            f"How should {name} answer: {', '.join(TONES)}", list(TONES), "concise", free=False
        )
        return persona_text(name, tone) + "\n"

    def profile(self) -> str | None:
        path = self.paths.profile_file
        if path.exists():
            self.console.print(f"Keeping your profile: {path}", markup=False)
            return None
        self.console.print(
            "A few words about you, for the assistant (Enter skips one; /profile in a chat "
            "edits the whole profile later):"
        )
        answers = {label: self.questions.ask(q, "") for label, q in PROFILE_QUESTIONS.items()}
        lines = []
        for line in PROFILE_TEMPLATE.splitlines():
            label = line.removesuffix(":")
            lines.append(f"{line} {answers[label]}" if answers.get(label) else line)
        return "\n".join(lines) + "\n"

    # -- writing ---------------------------------------------------------------------------

    def write(self, plan: Plan) -> LoadedSettings:
        """Write the plan; the settings as they now load (without this run's flags)."""
        values = {"model": plan.model, "default_tier": plan.tier}
        if plan.host != self.settings.ollama_host:
            values["ollama_host"] = plan.host
        path = self.loaded.config_file
        write_settings(path, values)
        written = ", ".join(f"{k} = {v}" for k, v in values.items())
        self.console.print(f"[green]Wrote[/] {escape(f'{path}: {written}')}", soft_wrap=True)
        for text, file in (
            (plan.persona, self.paths.persona_file),
            (plan.profile, self.paths.profile_file),
        ):
            if text is not None:
                _write_new(file, text)
                self.console.print(f"[green]Wrote[/] {escape(str(file))}")
        reloaded = load_settings(path)
        for key in values:
            source = reloaded.sources[key]
            if not source.startswith("file"):
                self.console.print(
                    f"{key} comes from {source}, which wins over the file: unset it "
                    "to use what you chose here.",
                    style="yellow",
                    markup=False,
                )
        return reloaded

    def client(self, model: str, host: str) -> OllamaChatModel:
        s = self.settings
        return OllamaChatModel(
            model, host=host, connect_timeout=s.connect_timeout, read_timeout=s.read_timeout
        )


async def _all_details(client: OllamaChatModel, names: list[str]) -> dict[str, ModelDetails]:
    """What /api/show says of each model; unknown (not a stop) when it says nothing useful."""
    details = {}
    for name in names:
        try:
            details[name] = await client.show(name)
        except RungError:
            details[name] = ModelDetails(None, None)
    return details


def _pulled_name(name: str, names: list[str]) -> str:
    """`llama3.2` is `llama3.2:latest` when that is what Ollama lists."""
    if name not in names and ":" not in name and f"{name}:latest" in names:
        return f"{name}:latest"
    return name


def _write_new(path: Path, text: str) -> None:
    """Create `path` with `text`; never replace a file that appeared in the meantime."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise UserError(
            f"{path} appeared while rung init was running; it was left as it is",
            hint="run rung init again to finish, or edit the file yourself",
        ) from None


def init_command(
    loaded: LoadedSettings,
    *,
    model: str | None,
    tier: str | None,
    host: str | None,
    defaults: bool,
) -> int:
    from rich.console import Console

    if tier is not None:
        tiers.get(tier)  # a bad name: one line with the list, before any question
    console = Console(highlight=False)
    questions = Questions(console, defaults=defaults)
    init = Init(loaded, Paths.default(), questions)
    console.print("[bold]Setting up Rung[/] (Enter takes the default shown in brackets)")
    try:
        plan = init.plan(model=model, tier=tier, host=host)
    except KeyboardInterrupt:
        console.print("\nStopped: nothing was written.")
        raise
    reloaded = init.write(plan)
    console.print("\n[bold]Checking the setup[/] (rung doctor)")
    sys.stdout.flush()
    code = doctor_command(reloaded, check_model=False, tools=None, lenient=True, as_json=False)
    if code == 0:
        console.print(
            f"\n[green]Ready.[/] Start with `rung chat`. `rung doctor --model` measures how well "
            f"{escape(plan.model)} calls tools; /profile in a chat edits your profile."
        )
    else:
        console.print("\nFix what is marked ✗ above, then run `rung doctor` again.")
    return code
