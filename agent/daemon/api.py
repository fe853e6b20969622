"""The daemon's local API: a Starlette app, version 1 under /v1.

Every request carries the daemon's token (`Authorization: Bearer …`, compared in constant
time; 401 without it), whatever its path. The peer's uid is checked before that, per
connection (`peer.py`)."""

from __future__ import annotations

import contextlib
import hmac
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from rung.agent.daemon.chat_api import chat_paths, chat_routes, chat_schemas
from rung.agent.daemon.doctor_api import FINDING_SCHEMA, doctor_paths, doctor_routes
from rung.agent.daemon.host import Host, TurnRequest
from rung.agent.daemon.jobs import Jobs
from rung.agent.daemon.memory_api import memory_paths, memory_routes
from rung.agent.daemon.pages import Renderer, page_routes
from rung.agent.daemon.routing import (
    BadRequest,
    failure,
    flag,
    read_body,
    refusal,
    required,
    settings_of,
)
from rung.agent.daemon.sessions_api import sessions_paths, sessions_routes
from rung.agent.daemon.web import Logins, WebServer, web_app
from rung.agent.daemon.wire import NDJSON
from rung.config.errors import RungError

API_VERSION = "v1"
ANSWERS = ("once", "always", "deny")


@dataclass(frozen=True)
class DaemonInfo:
    """What the daemon says about itself in /v1/status."""

    model: str
    version: str
    socket: str
    tcp: str | None = None  # "127.0.0.1:PORT" when daemon_port is set
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)


class HostMiddleware:
    """On the TCP listener, a request must name the daemon's own address in its Host header
    (127.0.0.1 or localhost, and the port): a page whose name a DNS rebinding points at
    127.0.0.1 names itself, and gets 421. (The unix socket has no such name to check.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server") if scope["type"] in ("http", "websocket") else None
        if server is not None and server[1] is not None:  # TCP: (host, port)
            given = [value for key, value in scope["headers"] if key == b"host"]
            allowed = {f"{name}:{server[1]}".encode() for name in ("127.0.0.1", "localhost")}
            if len(given) != 1 or given[0].lower() not in allowed:
                response = JSONResponse(
                    {"error": "the Host header must be 127.0.0.1:PORT or localhost:PORT"},
                    status_code=421,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class TokenMiddleware:
    """401 for any request (HTTP or WebSocket) whose bearer token is not the daemon's."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode("ascii")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self._allowed(scope):
            response = JSONResponse(
                {"error": "a valid token is required (Authorization: Bearer TOKEN)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="rung"'},
            )
            if scope["type"] == "websocket":  # refused before the handshake is accepted
                await send({"type": "websocket.close", "code": 1008})
                return
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        given = [value for key, value in scope["headers"] if key == b"authorization"]
        # one header exactly; compare_digest takes as long whatever prefix matches
        return len(given) == 1 and hmac.compare_digest(given[0], self.expected)


def rss_bytes() -> int | None:
    """The resident memory of this process now (Linux's /proc), or None where unknown."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def create_app(info: DaemonInfo, token: str, stop: Callable[[], None], host: Host) -> Starlette:
    """The API over `host`, which it starts and closes with itself (its lifespan), with
    the scheduler of jobs. `stop` asks the server to shut down gracefully (it is called
    once the response to /v1/shutdown has been sent)."""
    jobs = Jobs(host)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "pid": info.pid})

    async def status(request: Request) -> JSONResponse:
        counters = host.counters
        return JSONResponse(
            {
                "pid": info.pid,
                "uptime_s": round(time.monotonic() - info.started, 3),
                "started_at": info.started_at,
                "rss_bytes": rss_bytes(),
                "model": info.model,
                "version": info.version,
                "api": API_VERSION,
                "socket": info.socket,
                "tcp": info.tcp,
                "turns": {"served": counters.served, "failed": counters.failed},
                "last_errors": counters.last_errors,
                "servers": host.servers(),
                "jobs": jobs.status(),
                "heartbeat": jobs.heartbeat_status(),
            }
        )

    async def turns(request: Request) -> Response:
        try:
            body = await read_body(request)
            turn = TurnRequest(
                required(body, "question"),
                settings_of(body),
                save=flag(body, "save"),
                interactive=flag(body, "interactive"),
            )
        except BadRequest as exc:
            return refusal(400, f"not a turn: {exc}")
        return StreamingResponse(host.turn(turn), media_type=NDJSON)

    async def approval(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            answer = body["answer"] if isinstance(body, dict) else None
        except (ValueError, KeyError):
            answer = None
        if answer not in ANSWERS:
            return refusal(400, 'the body must be {"answer": "once" | "always" | "deny"}')
        if not host.approvals.answer(request.path_params["key"], answer):
            return JSONResponse(
                {"error": "no call waits for that approval (it timed out or was answered)"},
                status_code=404,
            )
        return JSONResponse({"ok": True})

    async def tools(request: Request) -> JSONResponse:
        """Every configured server, as the agent tier's warm hub (every enabled server)
        has it, with the user's own policy."""
        from rung.agent import tiers
        from rung.tools.catalog import load_catalog, policy_for
        from rung.tools.views import listing, to_dict

        try:
            async with host.tools(tiers.get("agent")) as (hub, _):
                catalog = load_catalog(host.paths.mcp_file)
                found = listing(catalog, hub, policy_for(catalog))
        except RungError as exc:
            return failure(422, exc)
        return JSONResponse({"servers": [to_dict(s) for s in found]})

    async def shutdown(request: Request) -> JSONResponse:
        return JSONResponse({"stopping": True, "pid": info.pid}, background=BackgroundTask(stop))

    async def wake(request: Request) -> JSONResponse:
        return JSONResponse({"ok": jobs.wake()})

    async def beat(request: Request) -> JSONResponse:
        try:
            return JSONResponse(await jobs.beat())
        except RungError as exc:
            return failure(422, exc)

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(info.version))

    async def web(request: Request) -> JSONResponse:
        try:
            url = await page.start()
        except RungError as exc:
            return failure(422, exc)
        return JSONResponse({"url": url, "login": f"{url}/login?code={logins.issue()}"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await host.start()
        await jobs.start()
        try:
            yield
        finally:
            await page.close()
            await jobs.close()
            await host.close()

    shared = [  # the API the web page uses too (under /api, by its cookie)
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/status", status, methods=["GET"]),
        Route("/v1/turns", turns, methods=["POST"]),
        Route("/v1/approvals/{key}", approval, methods=["POST"]),
        Route("/v1/tools", tools, methods=["GET"]),
        Route("/v1/jobs/wake", wake, methods=["POST"]),
        Route("/v1/heartbeat", beat, methods=["POST"]),
        Route("/v1/openapi.json", openapi, methods=["GET"]),
        *chat_routes(host, host.chats),
        *memory_routes(host),
        *doctor_routes(host),
        *sessions_routes(host),
    ]
    logins = Logins()
    render = Renderer(jobs)
    page = WebServer(
        web_app(logins, page_routes(host, jobs, render), list(shared), render),
        host.settings.web_port,
    )
    app = Starlette(
        routes=[
            *shared,
            Route("/v1/shutdown", shutdown, methods=["POST"]),
            Route("/v1/web", web, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(TokenMiddleware, token=token)
    app.add_middleware(HostMiddleware)  # the outermost: checked first
    return app


def openapi_document(version: str) -> dict[str, Any]:
    """The API, described (OpenAPI 3.1), written out by hand; the chats' and the memory's
    routes come from their own modules."""
    error = {
        "description": "no token, or a wrong one",
        "content": _json({"$ref": "#/components/schemas/Error"}),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rung daemon",
            "version": version,
            "description": "The local API of `rung daemon`: HTTP over a unix socket in "
            "$XDG_RUNTIME_DIR/rung/ (0600, in a 0700 folder), for the user who runs the "
            "daemon only (the peer's uid is checked); and, when daemon_port is set, on "
            "127.0.0.1:daemon_port, where the Host header must name that address (421 "
            "otherwise). Every request carries the token from the token file beside the "
            "socket. No CORS headers are ever sent.",
        },
        "security": [{"token": []}],
        "paths": {
            "/v1/health": {
                "get": {
                    "summary": "The daemon answers",
                    "responses": {
                        "200": {"description": "it runs", "content": _json(_ref("Health"))},
                        "401": error,
                    },
                }
            },
            "/v1/status": {
                "get": {
                    "summary": "What runs: pid, uptime, memory, model, version",
                    "responses": {
                        "200": {"description": "the status", "content": _json(_ref("Status"))},
                        "401": error,
                    },
                }
            },
            "/v1/turns": {
                "post": {
                    "summary": "Answer a question in a new session: the turn's events as NDJSON",
                    "description": "One JSON object per line, each with its `type`: `notice` "
                    "(a line for the user), `begun` (session_id, tier, model, and the server "
                    "of each tool), `text` and `thinking` (the reply as it streams), "
                    "`recalled` (the memories put into the prompt), `tool_call`, "
                    "`tool_result`, `approval` (a call waits: POST the answer to "
                    "/v1/approvals/{id} within timeout_s, or it is denied), then `final` "
                    "(the answer, the messages added, the usage) or `error` (message, hint, "
                    "exit_code). Closing the connection stops the turn; what was said is "
                    "kept, marked as interrupted.",
                    "requestBody": {"required": True, "content": _json(_ref("TurnRequest"))},
                    "responses": {
                        "200": {
                            "description": "the turn's events, one per line",
                            "content": {NDJSON: {"schema": _ref("Event")}},
                        },
                        "400": {
                            "description": "not a turn",
                            "content": _json({"$ref": "#/components/schemas/Error"}),
                        },
                        "401": error,
                    },
                }
            },
            "/v1/approvals/{key}": {
                "post": {
                    "summary": "Answer the approval a turn's call waits for",
                    "parameters": [
                        {"name": "key", "in": "path", "required": True, "schema": _string()}
                    ],
                    "requestBody": {"required": True, "content": _json(_ref("ApprovalAnswer"))},
                    "responses": {
                        "200": {"description": "taken", "content": _json(_ref("Health"))},
                        "400": {"description": "not an answer"},
                        "401": error,
                        "404": {"description": "no call waits for it (timed out or answered)"},
                    },
                }
            },
            **chat_paths(),
            **memory_paths(),
            **doctor_paths(),
            **sessions_paths(),
            "/v1/tools": {
                "get": {
                    "summary": "Every configured server: its state and its tools (started if "
                    "need be), each tool with its policy, or why its pin blocks it",
                    "responses": {
                        "200": {"description": "the servers", "content": _json({"type": "object"})},
                        "401": error,
                        "422": {"description": "mcp.json cannot be read"},
                    },
                }
            },
            "/v1/shutdown": {
                "post": {
                    "summary": "Stop gracefully, once this response is sent",
                    "responses": {
                        "200": {"description": "stopping", "content": _json(_ref("Stopping"))},
                        "401": error,
                    },
                }
            },
            "/v1/jobs/wake": {
                "post": {
                    "summary": "Jobs changed in the ledger: look at them now",
                    "description": "`rung jobs add|edit|resume|run` write the job ledger "
                    "(jobs.sqlite3 in the data folder) and then ask the scheduler here to "
                    "tick at once instead of at its next occurrence.",
                    "responses": {
                        "200": {"description": "told", "content": _json(_ref("Health"))},
                        "401": error,
                    },
                }
            },
            "/v1/heartbeat": {
                "post": {
                    "summary": "A heartbeat now, even if nothing it watches changed",
                    "description": "Goes through heartbeat.md as a scheduled beat would (the "
                    "day's budget still holds) and answers what it did: `outcome` (skipped, "
                    "ok, notify or failed), `why`, `run`, `tokens`, `cpu_s`.",
                    "responses": {
                        "200": {"description": "what the beat did"},
                        "401": error,
                        "422": {"description": "it could not beat"},
                    },
                }
            },
            "/v1/web": {
                "post": {
                    "summary": "Serve the web page (127.0.0.1:web_port) and a one-time login",
                    "description": "Starts the page's listener if it is not running and "
                    "answers its `url` and a `login` link whose code is good once, for two "
                    "minutes; opening it gives the browser a session cookie (HttpOnly, "
                    "SameSite=Strict). The page uses this API under /api by that cookie.",
                    "responses": {
                        "200": {"description": "the page's address and a login link"},
                        "401": error,
                        "422": {"description": "the port cannot be had"},
                    },
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}, "401": error},
                }
            },
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                **chat_schemas(),
                "Finding": FINDING_SCHEMA,
                "Error": _object({"error": {"type": "string"}}),
                "Health": _object({"ok": {"type": "boolean"}, "pid": {"type": "integer"}}),
                "TurnRequest": {
                    "type": "object",
                    "properties": {
                        "question": _string(),
                        "settings": {
                            "type": "object",
                            "description": "Rung's settings for this turn (`rung config show`); "
                            "those left out take their defaults",
                        },
                        "save": {"type": "boolean", "default": False},
                        "interactive": {
                            "type": "boolean",
                            "default": False,
                            "description": "the client answers approvals; if false, a call "
                            "that needs one is refused",
                        },
                    },
                    "required": ["question"],
                },
                "Event": {
                    "type": "object",
                    "properties": {
                        "type": {
                            "enum": [
                                "notice",
                                "begun",
                                "text",
                                "thinking",
                                "recalled",
                                "tool_call",
                                "tool_result",
                                "approval",
                                "final",
                                "error",
                            ]
                        }
                    },
                    "required": ["type"],
                },
                "ApprovalAnswer": _object({"answer": {"enum": list(ANSWERS)}}),
                "Stopping": _object({"stopping": {"type": "boolean"}, "pid": {"type": "integer"}}),
                "Status": _object(
                    {
                        "pid": {"type": "integer"},
                        "uptime_s": {"type": "number", "description": "seconds since start"},
                        "started_at": {"type": "number", "description": "Unix time of start"},
                        "rss_bytes": {
                            "type": ["integer", "null"],
                            "description": "resident memory; null where unknown",
                        },
                        "model": {"type": "string"},
                        "version": {"type": "string", "description": "Rung's version"},
                        "api": {"type": "string", "const": API_VERSION},
                        "socket": {"type": "string"},
                        "tcp": {
                            "type": ["string", "null"],
                            "description": "127.0.0.1:PORT when daemon_port is set",
                        },
                        "turns": _object(
                            {"served": {"type": "integer"}, "failed": {"type": "integer"}}
                        ),
                        "last_errors": {
                            "type": "array",
                            "items": _string(),
                            "description": "the last five turns' errors",
                        },
                        "servers": {
                            "type": "array",
                            "description": "each tier's tool servers, started at its first turn",
                            "items": _object(
                                {
                                    "tier": _string(),
                                    "name": _string(),
                                    "state": _string(),
                                    "reason": {"type": ["string", "null"]},
                                }
                            ),
                        },
                        "heartbeat": {
                            "type": "object",
                            "description": "the heartbeat: every_min, active_hours, the "
                            "checklist's path and whether it is empty, the next beat, today's "
                            "beats, skipped beats, tokens and CPU seconds against the budget, "
                            "and the last beat's outcome",
                        },
                        "jobs": {
                            "type": "object",
                            "description": "scheduled jobs: how many (and paused), the ones "
                            "running, the runs queued, the next occurrence, unread inbox "
                            "items; or `problem`, why jobs cannot run",
                        },
                    }
                ),
            },
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _string() -> dict[str, Any]:
    return {"type": "string"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}
