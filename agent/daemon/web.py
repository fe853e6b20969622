"""The assistant's local web page, served by the daemon on 127.0.0.1 only, safe by
construction:

- **Login by a one-time link.** `rung web` asks the daemon for a code (`Logins.issue`),
  good once and for two minutes; GET /login?code=… trades it for a session cookie
  (HttpOnly, SameSite=Strict) and redirects to a URL without it. The code never appears in
  a later URL (the login answers a redirect, never a page, so no Referer carries it; and
  Referrer-Policy: same-origin keeps the page's own URLs in the page) or a log (no access
  log). The page never learns the API's token: it is authenticated by its cookie.
- **The Host header** must name 127.0.0.1:PORT or localhost:PORT (421 otherwise: DNS
  rebinding), as on the API's TCP listener; **anything that changes state** (every method
  but GET and HEAD) must come with an Origin that is the page's own (403 otherwise); no
  CORS header is ever sent; a strict Content-Security-Policy allows scripts, styles and
  connections from the page's own origin only, and no inline script.
- Everything the page does goes through the daemon's own API (mounted under /api, the same
  routes `rung` uses, with the same approval rules), or through the page routes, which call
  the same ledger and host.

Listens only once asked (`WebServer.start`, the first `rung web`), on `web_port`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rung.config.errors import DaemonError

if TYPE_CHECKING:
    from rung.agent.daemon.pages import Renderer

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
COOKIE = "rung_session"
CODE_TTL_S = 120.0
SESSION_TTL_S = 12 * 3600.0
SAFE_METHODS = frozenset({"GET", "HEAD"})
OPEN_PATHS = ("/login", "/static/")  # reachable without a session
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    # same-origin, not no-referrer: with no-referrer a browser sends "Origin: null" on the
    # page's own form posts, which the Origin check must refuse
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class Logins:
    """One-time login codes, and the sessions they become."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.clock = clock
        self._codes: dict[str, float] = {}  # code -> expiry
        self._sessions: dict[str, float] = {}  # session token -> expiry

    def issue(self) -> str:
        now = self.clock()
        self._codes = {c: t for c, t in self._codes.items() if t > now}
        code = secrets.token_urlsafe(24)
        self._codes[code] = now + CODE_TTL_S
        return code

    def redeem(self, code: str) -> str | None:
        """A new session for a code that is good (then dead); None otherwise."""
        expiry = self._codes.pop(code, None)
        if expiry is None or expiry <= self.clock():
            return None
        session = secrets.token_urlsafe(32)
        self._sessions[session] = self.clock() + SESSION_TTL_S
        return session

    def valid(self, session: str | None) -> bool:
        if not session:
            return False
        expiry = self._sessions.get(session)
        if expiry is None or expiry <= self.clock():
            self._sessions.pop(session, None)
            return False
        return True

    def end(self, session: str | None) -> None:
        if session:
            self._sessions.pop(session, None)


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def own_origins(scope: Scope) -> set[str]:
    port = scope["server"][1] if scope.get("server") else None
    return {f"http://{host}:{port}" for host in (LOOPBACK, "localhost")}


def session_of(scope: Scope) -> str | None:
    for raw in _header(scope, b"cookie"):
        cookie: SimpleCookie = SimpleCookie()
        with contextlib.suppress(Exception):
            cookie.load(raw.decode("latin-1"))
            if COOKIE in cookie:
                return cookie[COOKIE].value
    return None


class PageGuard:
    """The page's checks, in order: the Host (in `HostMiddleware`, outside this), the
    Origin of a request that changes state, the session; and the security headers on every
    response."""

    def __init__(self, app: ASGIApp, logins: Logins) -> None:
        self.app = app
        self.logins = logins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not k.lower().startswith(b"access-control-")  # never any CORS
                ]
                message = {**message, "headers": [*headers, *HEADERS]}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self.app(scope, receive, secured)

    def _refusal(self, scope: Scope) -> Response | None:
        path: str = scope["path"]
        if scope["method"] not in SAFE_METHODS:
            origin = _header(scope, b"origin")
            if len(origin) != 1 or origin[0].decode("latin-1") not in own_origins(scope):
                return JSONResponse(
                    {"error": "a request that changes something must come from this page"},
                    status_code=403,
                )
        if path.startswith(OPEN_PATHS) or self.logins.valid(session_of(scope)):
            return None
        if path.startswith("/api/"):
            return JSONResponse(
                {"error": "log in first: `rung web` prints a link"}, status_code=401
            )
        return RedirectResponse("/login", status_code=303)


def login_routes(logins: Logins, render: Renderer) -> list[BaseRoute]:
    async def login(request: Request) -> Response:
        code = request.query_params.get("code")
        if code is None:
            return render(request, "login.html", {}, status_code=401)
        session = logins.redeem(code)
        if session is None:
            return render(request, "login.html", {"refused": True}, status_code=403)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE, session, max_age=int(SESSION_TTL_S), httponly=True, samesite="strict"
        )
        return response

    async def logout(request: Request) -> Response:
        logins.end(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return [
        Route("/login", login, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
    ]


def web_app(
    logins: Logins, pages: list[BaseRoute], api: list[BaseRoute], render: Renderer
) -> Starlette:
    """The page's app: its pages, the login, its static files, and the API under /api."""
    from starlette.staticfiles import StaticFiles

    from rung.agent.daemon.api import HostMiddleware

    static = StaticFiles(packages=[("rung.agent.daemon", "static")])
    app = Starlette(
        routes=[
            *login_routes(logins, render),
            Mount("/static", app=static, name="static"),
            Mount("/api", routes=api),
            *pages,
        ]
    )
    app.add_middleware(PageGuard, logins=logins)
    app.add_middleware(HostMiddleware)  # the outermost: checked first
    return app


class QuietServer(uvicorn.Server):
    """uvicorn in a running loop beside the API's server: the daemon's signal handlers
    stay the daemon's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebServer:
    """The page's listener on 127.0.0.1:`port`, started at the first `rung web`."""

    def __init__(self, app: ASGIApp, port: int) -> None:
        self.app = app
        self.port = port
        self.server: QuietServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> str:
        async with self._lock:
            if self.server is None:
                listener = bind(self.port)
                self.port = listener.getsockname()[1]
                from rung.agent.daemon.peer import PeerCheckedProtocol

                config = uvicorn.Config(
                    self.app,
                    http=PeerCheckedProtocol,  # the user's own browser only
                    lifespan="off",
                    log_config=None,
                    access_log=False,
                )
                self.server = QuietServer(config)
                self._task = asyncio.create_task(self.server.serve(sockets=[listener]))
                while not self.server.started:  # bound already: this is the startup
                    if self._task.done():
                        self.server = None
                        raise DaemonError(f"the web page could not start on {self.url}")
                    await asyncio.sleep(0.01)
                log.info("serving the web page on %s", self.url)
        return self.url

    async def close(self) -> None:
        if self.server is not None and self._task is not None:
            self.server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 10)


def bind(port: int, hint: str = "set web_port to a free port") -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0: any free port): the loopback only, by
    construction."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DaemonError(
            f"cannot listen on {LOOPBACK}:{port}: {exc.strerror or exc}", hint=hint
        ) from None
    sock.setblocking(False)
    return sock
