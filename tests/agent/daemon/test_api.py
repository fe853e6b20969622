"""The API's routes in this process, through httpx's ASGI transport: the token on every
request, what each route answers, and the OpenAPI document describing them."""

from __future__ import annotations

import os
from importlib.metadata import version

import httpx
import pytest

from rung.agent.daemon.api import DaemonInfo, TokenMiddleware, create_app
from tests.agent.daemon.conftest import idle_host

TOKEN = "s3cret-token"


class Stops:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def client(stops: Stops, token: str | None = TOKEN) -> httpx.AsyncClient:
    info = DaemonInfo(model="tiny:1b", version=version("rung"), socket="/run/test.sock")
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    app = create_app(info, TOKEN, stops, idle_host())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://rung", headers=headers
    )


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": TOKEN},  # no scheme
        {"Authorization": f"bearer  {TOKEN}"},
    ],
    ids=["none", "wrong", "longer", "no-scheme", "mangled"],
)
async def test_every_route_needs_the_token(headers: dict[str, str]) -> None:
    stops = Stops()
    async with client(stops, token=None) as api:
        for method, path in [
            ("GET", "/v1/health"),
            ("GET", "/v1/status"),
            ("POST", "/v1/shutdown"),
            ("GET", "/v1/openapi.json"),
            ("GET", "/no/such/route"),  # 401 too: nothing is told without the token
        ]:
            response = await api.request(method, path, headers=headers)
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "token" in response.json()["error"]
    assert stops.count == 0


async def test_two_authorization_headers_are_refused() -> None:
    async with client(Stops(), token=None) as api:
        headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer other")]
        assert (await api.get("/v1/health", headers=headers)).status_code == 401


async def test_health_and_status_with_the_token() -> None:
    async with client(Stops()) as api:
        health = await api.get("/v1/health")
        assert health.status_code == 200 and health.json() == {"ok": True, "pid": os.getpid()}
        status = (await api.get("/v1/status")).json()
    assert status["pid"] == os.getpid()
    assert status["model"] == "tiny:1b"
    assert status["version"] == version("rung")
    assert status["api"] == "v1"
    assert status["socket"] == "/run/test.sock"
    assert 0 <= status["uptime_s"] < 60
    assert status["rss_bytes"] > 10 * 2**20  # this test process, with Python and Starlette


async def test_shutdown_asks_to_stop_after_answering() -> None:
    stops = Stops()
    async with client(stops) as api:
        assert (await api.get("/v1/shutdown")).status_code == 405  # POST only
        assert stops.count == 0
        response = await api.post("/v1/shutdown")
    assert response.status_code == 200 and response.json()["stopping"] is True
    assert stops.count == 1


async def test_openapi_describes_each_route() -> None:
    app = create_app(DaemonInfo("m", "1.2.3", "/s"), TOKEN, Stops(), idle_host())
    routes = {
        (method.upper(), route.path)  # type: ignore[attr-defined]
        for route in app.routes
        for method in route.methods - {"HEAD"}  # type: ignore[attr-defined]
    }
    async with client(Stops()) as api:
        document = (await api.get("/v1/openapi.json")).json()
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert described == routes
    assert document["openapi"].startswith("3.1")
    status = document["components"]["schemas"]["Status"]["properties"]
    async with client(Stops()) as api:
        assert set((await api.get("/v1/status")).json()) == set(status)


def test_the_middleware_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token is checked with hmac.compare_digest, whatever header comes."""
    import hmac

    seen: list[tuple[bytes, bytes]] = []

    def compare(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return False

    monkeypatch.setattr(hmac, "compare_digest", compare)
    middleware = TokenMiddleware(
        create_app(DaemonInfo("m", "v", "/s"), TOKEN, Stops(), idle_host()), TOKEN
    )
    scope = {"type": "http", "headers": [(b"authorization", b"Bearer guess")]}
    assert middleware._allowed(scope) is False
    assert seen == [(b"Bearer guess", f"Bearer {TOKEN}".encode())]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/turns", b"not json"),
        ("POST", "/v1/turns", b'{"question": ""}'),
        ("POST", "/v1/turns", b'{"question": "hi", "settings": {"num_ctx": 1}}'),
        ("POST", "/v1/chats", b"[1, 2]"),
        ("POST", "/v1/chats", b'{"settings": {"model": ""}}'),
        ("POST", "/v1/memory/search", b'{"query": 5}'),
        ("POST", "/v1/memory/plan", b'{"paths": ["relative/path"]}'),
        ("POST", "/v1/approvals/nothing", b'{"answer": "maybe"}'),
    ],
)
async def test_a_bad_body_is_a_400_with_what_is_wrong(method: str, path: str, body: bytes) -> None:
    async with client(Stops()) as api:
        response = await api.request(method, path, content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]


async def test_an_unknown_chat_is_a_404_that_says_what_to_do() -> None:
    async with client(Stops()) as api:
        response = await api.post("/v1/chats/nosuch/new", json={})
    assert response.status_code == 404
    assert "rung chat --resume" in response.json()["hint"]
