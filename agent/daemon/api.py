"""The daemon's local API: a Starlette app, version 1 under /v1.

Every request carries the daemon's token (`Authorization: Bearer …`, compared in constant
time; 401 without it), whatever its path. The peer's uid is checked before that, per
connection (`peer.py`)."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

API_VERSION = "v1"


@dataclass(frozen=True)
class DaemonInfo:
    """What the daemon says about itself in /v1/status."""

    model: str
    version: str
    socket: str
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.monotonic)
    started_at: float = field(default_factory=time.time)


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


def create_app(info: DaemonInfo, token: str, stop: Callable[[], None]) -> Starlette:
    """The API. `stop` asks the server to shut down gracefully (it is called once the
    response to /v1/shutdown has been sent)."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "pid": info.pid})

    async def status(request: Request) -> JSONResponse:
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
            }
        )

    async def shutdown(request: Request) -> JSONResponse:
        return JSONResponse({"stopping": True, "pid": info.pid}, background=BackgroundTask(stop))

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(info.version))

    app = Starlette(
        routes=[
            Route("/v1/health", health, methods=["GET"]),
            Route("/v1/status", status, methods=["GET"]),
            Route("/v1/shutdown", shutdown, methods=["POST"]),
            Route("/v1/openapi.json", openapi, methods=["GET"]),
        ]
    )
    app.add_middleware(TokenMiddleware, token=token)
    return app


def openapi_document(version: str) -> dict[str, Any]:
    """The API, described (OpenAPI 3.1): written out by hand, for four routes."""
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
            "daemon only (the peer's uid is checked). Every request carries the token "
            "from the token file beside the socket.",
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
            "/v1/shutdown": {
                "post": {
                    "summary": "Stop gracefully, once this response is sent",
                    "responses": {
                        "200": {"description": "stopping", "content": _json(_ref("Stopping"))},
                        "401": error,
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
                "Error": _object({"error": {"type": "string"}}),
                "Health": _object({"ok": {"type": "boolean"}, "pid": {"type": "integer"}}),
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
                    }
                ),
            },
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}
