"""The web page's pages: server-rendered HTML (Jinja2, autoescaped) over the same host and
job ledger the API and the terminal use. The chat streams through the API (/api/v1/chats,
`static/chat.js`); the rest are plain pages and forms.

- /            the chat: the stored sessions to resume, the conversation, approvals
- /inbox       unread first; mark read; each item linked to its run
- /jobs        each job's schedule, next occurrence and last run; run now, pause, resume
- /jobs/NAME   a job and its runs
- /new-job, /jobs/NAME/edit   a job's form: the same checks as `rung jobs add|edit`
- /runs/ID     a run: its answer, its tool calls, what was refused
- /tools       the servers, their state and tools, each tool's policy (allow, ask, deny:
               set here, in mcp.json, as `rung tools allow|ask|deny` does), the audit log
- /memory      search (the mode, why each hit ranked), the facts, documents (through the
               API, `static/memory.js`), and the profile and persona (edited here)
- /doctor      the checks of `rung doctor`, run by the daemon (/api/v1/doctor, `static/doctor.js`)
- /render      Markdown to HTML (for the chat's answers; raw HTML in it is escaped)"""

from __future__ import annotations

import contextlib
import functools
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rung.config.errors import RungError

if TYPE_CHECKING:
    from jinja2 import Environment

    from rung.agent.daemon.host import Host
    from rung.agent.daemon.job_form import JobForm
    from rung.agent.daemon.jobs import Jobs
    from rung.agent.daemon.ledger import Job, Ledger


class Renderer:
    """The templates, and a page of them as a response."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self._env: Environment | None = None

    @property
    def env(self) -> Environment:
        if self._env is None:
            from jinja2 import Environment, PackageLoader, select_autoescape

            self._env = Environment(
                loader=PackageLoader("rung.agent.daemon", "templates"),
                autoescape=select_autoescape(["html"]),
            )
            self._env.filters["when"] = when
        return self._env

    def __call__(
        self, request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        unread = 0
        if self.jobs.ledger is not None:
            with contextlib.suppress(RungError):
                unread = self.jobs.ledger.unread()
        page = self.env.get_template(name).render(
            {**context, "path": request.url.path, "unread": unread}
        )
        return HTMLResponse(page, status_code=status_code)


def when(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).astimezone().strftime("%Y-%m-%d %H:%M")


@functools.cache
def _markdown() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def markdown_html(text: str) -> str:
    """Markdown as HTML; any raw HTML in it is shown as text, never run."""
    return str(_markdown().render(text))


def page_routes(host: Host, jobs: Jobs, render: Renderer) -> list[BaseRoute]:
    def ledger() -> Ledger:
        if jobs.ledger is None:
            raise RungError(f"jobs are not running: {jobs.problem or 'not started'}")
        return jobs.ledger

    async def chat(request: Request) -> Response:
        from rung.agent import tiers

        resume = request.query_params.get("session", "")
        past = []
        if resume:
            resume = host.store.get(resume).id  # a clear error for an unknown one
            past = [
                (m.role, markdown_html(m.content) if m.role == "assistant" else m.content)
                for m in host.store.messages(resume)
                if m.role in ("user", "assistant") and m.content
            ]
        context = {
            "sessions": host.store.list()[:200],
            "resume": resume,
            "past": past,
            "tiers": list(tiers.available()[0]),
            "tier": host.settings.tier,
            "model": host.settings.model,
        }
        return render(request, "chat.html", context)

    async def export(request: Request) -> Response:
        text = host.store.export_markdown(request.path_params["session"])
        name = f"rung-{request.path_params['session']}.md"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(text, media_type="text/markdown; charset=utf-8", headers=headers)

    async def inbox(request: Request) -> Response:
        show_all = request.query_params.get("all") == "1"
        items = ledger().inbox(unread_only=not show_all, limit=200)
        return render(request, "inbox.html", {"items": items, "all": show_all})

    async def read(request: Request) -> Response:
        item = request.path_params["item"]
        ledger().mark_read(None if item == "all" else [int(item)])
        return RedirectResponse("/inbox", status_code=303)

    async def job_list(request: Request) -> Response:
        found = ledger().jobs()
        last = ledger().last_runs()
        rows = [(job, next_time(job), last.get(job.name)) for job in found]
        return render(request, "jobs.html", {"rows": rows, "beat": jobs.heartbeat_status()})

    async def job(request: Request) -> Response:
        name = request.path_params["name"]
        found = ledger().get(name)
        runs = ledger().history(name, limit=50)
        context = {"job": found, "next": next_time(found), "runs": runs}
        return render(request, "job.html", {**context, "grace": interval_text(found.grace_s)})

    async def act(request: Request) -> Response:
        name, action = request.path_params["name"], request.path_params["action"]
        if action not in ("run", "pause", "resume"):
            raise RungError(f"a job cannot {action!r}", hint="run, pause or resume")
        if action == "run":
            ledger().queue_now(name)
        else:
            ledger().set_paused(name, action == "pause")
        jobs.wake()
        return RedirectResponse(f"/jobs/{name}", status_code=303)

    async def job_form(request: Request) -> Response:
        """The form of a new job (/new-job), or of a job to change (/jobs/NAME/edit)."""
        name = request.path_params.get("name")
        values = form_values(ledger().get(name)) if name else form_values(None)
        context = form_context(values, editing=bool(name), model=host.settings.model)
        return render(request, "job_form.html", context)

    async def save_job(request: Request) -> Response:
        from rung.agent.daemon.job_form import add_job, edit_job

        name = request.path_params.get("name")
        posted = await request.form()
        values: dict[str, Any] = {key: str(posted.get(key, "")) for key in FORM_FIELDS}
        values["notify"] = [str(sink) for sink in posted.getlist("notify")]
        if name:
            values["name"] = name
        try:
            form = job_form_of(values, editing=bool(name))
            saved = (edit_job if name else add_job)(ledger(), form, host.settings)
        except RungError as exc:
            context = form_context(values, editing=bool(name), model=host.settings.model)
            context.update(message=exc.message, hint=exc.hint)
            return render(request, "job_form.html", context, status_code=400)
        jobs.wake()
        return RedirectResponse(f"/jobs/{saved.name}", status_code=303)

    async def run(request: Request) -> Response:
        found = ledger().run(int(request.path_params["run"]))
        answer = markdown_html(found.answer) if found.answer else ""
        return render(request, "run.html", {"run": found, "answer": answer})

    files = {
        "profile": (
            "Your profile (profile.md: who you are, for the assistant tier)",
            host.paths.profile_file,
        ),
        "persona": (
            "Its persona (persona.md: who the assistant is, its tone, its rules)",
            host.paths.persona_file,
        ),
    }

    async def memory(request: Request) -> Response:
        shown = [
            (name, label, path.read_text(encoding="utf-8") if path.is_file() else "")
            for name, (label, path) in files.items()
        ]
        saved = request.query_params.get("saved", "")
        return render(
            request, "memory.html", {"files": shown, "saved": saved if saved in files else ""}
        )

    async def save(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in files:
            raise RungError(f"there is no {name!r} to edit", hint="profile or persona")
        text = str((await request.form()).get("text", "")).replace("\r\n", "\n")
        path = files[name][1]
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.saving")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)  # whole or not at all
        return RedirectResponse(f"/memory?saved={name}", status_code=303)

    async def tools(request: Request) -> Response:
        from rung.agent import tiers
        from rung.tools.audit import read_log
        from rung.tools.catalog import load_catalog, policy_for
        from rung.tools.views import listing

        async with host.tools(tiers.get("agent")) as (hub, problems):
            catalog = load_catalog(host.paths.mcp_file)
            servers = listing(catalog, hub, policy_for(catalog))
        records, _ = read_log(host.paths.audit_log)
        context = {"servers": servers, "problems": problems, "calls": records[-100:][::-1]}
        return render(request, "tools.html", context)

    async def policy(request: Request) -> Response:
        from rung.config.mcp_file import load_mcp_file, set_policy
        from rung.tools.builtin import BUILTINS

        form = await request.form()
        target, wanted = str(form.get("target", "")), str(form.get("policy", ""))
        if wanted not in ("allow", "ask", "deny"):
            raise RungError(f"{wanted!r} is not a policy", hint="allow, ask or deny")
        file = load_mcp_file(host.paths.mcp_file, frozenset(BUILTINS))
        server, _, tool = target.partition(":")
        if server not in BUILTINS and server not in file.servers:
            raise RungError(f"there is no server {server!r}", hint="the Tools page lists them")
        set_policy(file, f"{server}:{tool or '*'}", wanted)  # type: ignore[arg-type]
        file.save()  # the daemon reads it again at the next turn, as after `rung tools …`
        return RedirectResponse("/tools", status_code=303)

    async def doctor(request: Request) -> Response:
        return render(request, "doctor.html", {})

    async def rendered(request: Request) -> Response:
        text = (await request.body()).decode("utf-8", errors="replace")
        return HTMLResponse(markdown_html(text))

    def guarded(endpoint: Any) -> Any:
        async def page(request: Request) -> Response:
            try:
                return await endpoint(request)  # type: ignore[no-any-return]
            except RungError as exc:
                context = {"message": exc.message, "hint": exc.hint}
                return render(request, "error.html", context, status_code=404)
            except ValueError:
                return render(request, "error.html", {"message": "not a number"}, 400)

        return page

    return [
        Route("/", guarded(chat), methods=["GET"]),
        Route("/sessions/{session}.md", guarded(export), methods=["GET"]),
        Route("/inbox", guarded(inbox), methods=["GET"]),
        Route("/inbox/{item}/read", guarded(read), methods=["POST"]),
        Route("/jobs", guarded(job_list), methods=["GET"]),
        Route("/new-job", guarded(job_form), methods=["GET"]),
        Route("/new-job", guarded(save_job), methods=["POST"]),
        Route("/jobs/{name}", guarded(job), methods=["GET"]),
        Route("/jobs/{name}/edit", guarded(job_form), methods=["GET"]),
        Route("/jobs/{name}/edit", guarded(save_job), methods=["POST"]),
        Route("/jobs/{name}/{action:str}", guarded(act), methods=["POST"]),
        Route("/runs/{run}", guarded(run), methods=["GET"]),
        Route("/memory", guarded(memory), methods=["GET"]),
        Route("/memory/{name}", guarded(save), methods=["POST"]),
        Route("/tools", guarded(tools), methods=["GET"]),
        Route("/tools/policy", guarded(policy), methods=["POST"]),
        Route("/doctor", guarded(doctor), methods=["GET"]),
        Route("/render", rendered, methods=["POST"]),
    ]


FORM_FIELDS = (
    *("name", "prompt", "when_kind", "when", "tz", "tier", "model", "tools", "missed"),
    *("grace", "urgent", "paused"),
)


def form_values(job: Job | None) -> dict[str, Any]:
    """What the job form shows: a job's fields as typed, or a new job's defaults."""
    if job is None:
        return {"when_kind": "cron", "missed": "once", "grace": "1h", "notify": []}
    return {
        "name": job.name,
        "prompt": job.prompt,
        "when_kind": job.schedule.kind,
        "when": job.schedule.spec,
        "tz": job.schedule.tz,
        "tier": job.tier or "",
        "model": job.model or "",
        "tools": " ".join(job.tools),
        "missed": job.missed,
        "grace": interval_text(job.grace_s),
        "notify": list(job.notify),
        "urgent": job.urgent,
    }


def form_context(values: dict[str, Any], *, editing: bool, model: str) -> dict[str, Any]:
    from rung.agent import tiers
    from rung.agent.daemon.schedule import local_zone_name
    from rung.agent.daemon.sinks import SINKS

    return {
        "v": values,
        "editing": editing,
        "tiers": list(tiers.available()[0]),
        "sinks": SINKS,
        "local_zone": local_zone_name(),
        "model": model,
    }


def job_form_of(values: dict[str, Any], *, editing: bool) -> JobForm:
    """The job the form's `values` describe. Every field is sent, so an edit sets each one
    (an empty tier or model: the defaults)."""
    from rung.agent.daemon.job_form import JobForm
    from rung.agent.daemon.ledger import JobError

    kind, when = values["when_kind"], values["when"].strip()
    if kind not in ("cron", "every", "at"):
        raise JobError(f"{kind!r} is not a kind of schedule", hint="cron, every or at")
    if not when and not editing:
        raise JobError(
            "say when the job runs",
            hint='a cron expression ("0 8 * * 1-5"), an interval ("2h") or a moment',
        )
    return JobForm(
        name=values["name"].strip(),
        prompt=values["prompt"].replace("\r\n", "\n"),
        **{kind: when or None},
        tz=values["tz"].strip() or None,
        tier=values["tier"],
        model=values["model"],
        tools=values["tools"].replace(",", " ").split(),
        missed=values["missed"] or "once",
        grace=values["grace"].strip() or "1h",
        notify=values["notify"],
        urgent=bool(values["urgent"]),
        paused=bool(values["paused"]),
    )


def interval_text(seconds: float) -> str:
    """3600 → "1h": the largest whole unit."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def next_time(job: Job) -> str:
    if job.paused:
        return "paused"
    nxt = job.schedule.next_after(datetime.now(UTC))
    return when(nxt.timestamp()) if nxt else "none"
