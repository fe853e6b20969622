"""The fetch server, against a real HTTP server on 127.0.0.1 started by each test."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from rung.memory.html import html_to_text
from rung.tools.builtin import fetch
from tests.tools.builtin.helpers import ok, refused

PAGE = b"""<!DOCTYPE html>
<html><head><title>  The   Garden </title>
<style>body { color: red }</style><script>var secret = "do not show";</script></head>
<body>
<nav><a href="/">Home</a> <a href="/about">About</a></nav>
<main>
<h1>Growing tomatoes</h1>
<p>Tomatoes need <b>sun</b> and&nbsp;water.</p>
<ul><li>Plant in May</li><li>Water daily</li></ul>
<div hidden>Hidden offer</div><p style="display: none">Also hidden</p>
<pre>  keep
    indented</pre>
<table><tr><th>Month</th><th>Task</th></tr><tr><td>May</td><td>Plant</td></tr></table>
</main>
<footer>Copyright 2026</footer>
</body></html>"""

Route = Callable[[BaseHTTPRequestHandler], None]


def reply(body: bytes, content_type: str | None, status: int = 200) -> Route:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return send


def redirect(location: str) -> Route:
    def send(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return send


class Website:
    """A real HTTP server on 127.0.0.1 with routes set per test (a test double of the web)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.release = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                site.requests.append(self.path)
                route = site.routes.get(self.path, reply(b"not found", "text/plain", 404))
                route(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        self.server.serve_forever(poll_interval=0.01)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def hold(self, handler: BaseHTTPRequestHandler) -> None:
        """A route that answers only once the test sets ``release``."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.end_headers()
        handler.wfile.write(b"first part\n")
        self.release.wait(timeout=30)
        handler.wfile.write(b"the rest\n")


@pytest.fixture
def site() -> Iterator[Website]:
    site = Website()
    site.thread.start()
    try:
        yield site
    finally:
        site.release.set()
        site.server.shutdown()
        site.server.server_close()


def server(**options: object) -> MCPServer:
    return fetch.create({"allow_private": True, **options})


# --- content -----------------------------------------------------------------------------


async def test_html_becomes_the_title_and_main_text(site: Website) -> None:
    site.routes["/garden"] = reply(PAGE, "text/html; charset=utf-8")
    text = await ok(server(), "fetch", url=site.url("/garden"))
    assert text == (
        f"URL: {site.url('/garden')}\n\n"
        "Title: The Garden\n\n"
        "# Growing tomatoes\n\n"
        "Tomatoes need sun and water.\n\n"
        "- Plant in May\n- Water daily\n\n"
        "  keep\n    indented\n\n"
        "Month | Task\nMay | Plant"
    )


def test_html_to_text_without_a_main_element_keeps_the_body() -> None:
    html = "<html><body><nav>Menu</nav><div>One</div><p>Two <i>words</i></p></body></html>"
    assert html_to_text(html) == ("", "One\n\nTwo words")


def test_html_to_text_survives_broken_markup() -> None:
    html = "<p>Start<div><span>unclosed<script>x()</script> text</p></div></b>end"
    assert html_to_text(html) == ("", "Start\nunclosed text\n\nend")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", b"plain words\n"),
        ("application/json", b'{"a": 1}'),
        ("text/markdown; charset=utf-8", "# Caf\u00e9\n".encode()),
        (None, b"no type given\n"),
    ],
)
async def test_text_comes_back_as_it_is(
    site: Website, content_type: str | None, body: bytes
) -> None:
    site.routes["/t"] = reply(body, content_type)
    text = await ok(server(), "fetch", url=site.url("/t"))
    assert text == f"URL: {site.url('/t')}\n\n{body.decode()}"


async def test_the_declared_charset_is_honoured(site: Website) -> None:
    site.routes["/latin"] = reply(
        "<p>Gr\u00fc\u00dfe</p>".encode("latin-1"), "text/html; charset=iso-8859-1"
    )
    site.routes["/meta"] = reply(
        '<meta charset="windows-1252"><p>\u20ac 5</p>'.encode("cp1252"), "text/html"
    )
    assert (await ok(server(), "fetch", url=site.url("/latin"))).endswith("Gr\u00fc\u00dfe")
    assert (await ok(server(), "fetch", url=site.url("/meta"))).endswith("\u20ac 5")


async def test_html_without_a_content_type_is_recognised(site: Website) -> None:
    site.routes["/sniff"] = reply(b"<!doctype html><title>T</title><p>Body</p>", None)
    text = await ok(server(), "fetch", url=site.url("/sniff"))
    assert text.endswith("Title: T\n\nBody")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("image/png", b"\x89PNG\r\n\x1a\n\x00\x00"), ("application/octet-stream", b"\x00\x01\x02")],
)
async def test_binary_content_is_refused(site: Website, content_type: str, body: bytes) -> None:
    site.routes["/bin"] = reply(body, content_type)
    message = await refused(server(), "fetch", url=site.url("/bin"))
    assert "not text; fetch reads pages and text" in message


async def test_an_http_error_status_is_reported(site: Website) -> None:
    message = await refused(server(), "fetch", url=site.url("/missing"))
    assert message == f"{site.url('/missing')} answered HTTP 404 Not Found"


# --- limits ------------------------------------------------------------------------------


async def test_long_text_is_returned_in_windows(site: Website) -> None:
    body = "".join(f"{n:04d}\n" for n in range(1000)).encode()  # 5000 characters
    site.routes["/long"] = reply(body, "text/plain")
    first = await ok(server(), "fetch", url=site.url("/long"), max_chars=10)
    assert first.splitlines()[2:] == [
        "0000",
        "0001",
        "[... 4990 more characters: fetch with start_index=10]",
    ]
    second = await ok(server(), "fetch", url=site.url("/long"), max_chars=10, start_index=10)
    assert second.splitlines()[2:4] == ["0002", "0003"]
    message = await refused(server(), "fetch", url=site.url("/long"), start_index=5000)
    assert message == "start_index 5000 is past the end (5000 characters)"


async def test_the_size_limit_stops_the_download(site: Website) -> None:
    site.routes["/big"] = reply(b"x" * 100_000, "text/plain")
    text = await ok(server(max_bytes=1000), "fetch", url=site.url("/big"), max_chars=50_000)
    assert text.count("x") == 1000
    assert text.endswith("[the page is larger than 1000 bytes: only its start was read]")


async def test_a_slow_server_times_out(site: Website) -> None:
    site.routes["/slow"] = site.hold
    message = await refused(server(timeout=0.3), "fetch", url=site.url("/slow"))
    site.release.set()
    assert message == f"no complete answer from {site.url('/slow')} within 0.3 s"


# --- redirects ---------------------------------------------------------------------------


async def test_redirects_are_followed(site: Website) -> None:
    site.routes["/old"] = redirect("/new")
    site.routes["/new"] = reply(b"moved here", "text/plain")
    text = await ok(server(), "fetch", url=site.url("/old"))
    assert text == f"URL: {site.url('/new')}\n\nmoved here"


async def test_redirect_loops_stop(site: Website) -> None:
    site.routes["/loop"] = redirect("/loop")
    message = await refused(server(), "fetch", url=site.url("/loop"))
    assert message == f"more than {fetch.MAX_REDIRECTS} redirects; stopped at {site.url('/loop')}"
    assert len(site.requests) == fetch.MAX_REDIRECTS + 1


async def test_a_redirect_to_another_scheme_is_refused(site: Website) -> None:
    site.routes["/ftp"] = redirect("ftp://example.com/file")
    message = await refused(server(), "fetch", url=site.url("/ftp"))
    assert message == "only http and https URLs can be fetched, not ftp:"


# --- private addresses -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("http://127.0.0.1:{port}/t", "127.0.0.1"),
        ("http://localhost:{port}/t", "localhost ("),
        ("http://10.1.2.3/", "10.1.2.3"),
        ("http://192.168.0.1/", "192.168.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]:{port}/t", "::1"),
        ("http://[::ffff:127.0.0.1]:{port}/t", "::ffff:127.0.0.1"),
        ("http://[2002:7f00:1::]/", "2002:7f00:1::"),  # 6to4 around 127.0.0.1
        ("http://[2002:c0a8:1::]/", "2002:c0a8:1::"),  # 6to4 around 192.168.0.1
        ("http://0.0.0.0:{port}/t", "0.0.0.0"),
        ("http://224.0.0.1/", "224.0.0.1"),
    ],
)
async def test_private_addresses_are_refused_by_default(
    site: Website, url: str, where: str
) -> None:
    site.routes["/t"] = reply(b"private data", "text/plain")
    port = site.server.server_address[1]
    message = await refused(fetch.create(), "fetch", url=url.format(port=port))
    assert message.startswith(where)
    assert "is a private, local or reserved address; fetch only reads public" in message
    assert site.requests == []


async def test_a_redirect_to_a_private_address_is_refused(
    site: Website, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in for a public site: treat the test server's own address as public.
    real_check = fetch._is_private
    monkeypatch.setattr(fetch, "_is_private", lambda a: str(a) != "127.0.0.1" and real_check(a))
    site.routes["/public"] = redirect("http://10.0.0.7/admin")
    message = await refused(fetch.create(), "fetch", url=site.url("/public"))
    assert message.startswith("10.0.0.7 is a private, local or reserved address")
    assert site.requests == ["/public"]


async def test_the_connected_address_is_checked_too(
    site: Website, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand in for DNS that answers the check with a public address, then connects privately.
    async def says_public(host: str, port: int) -> None:
        pass

    monkeypatch.setattr(fetch, "_check_public", says_public)
    site.routes["/t"] = reply(b"private data", "text/plain")
    message = await refused(fetch.create(), "fetch", url=site.url("/t"))
    assert message.startswith("127.0.0.1 is a private, local or reserved address")
    assert "private data" not in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "only http and https URLs can be fetched, not file:"),
        ("ftp://example.com/x", "only http and https URLs can be fetched, not ftp:"),
        ("http://", "bad URL 'http://'"),
    ],
)
async def test_other_schemes_and_bad_urls_are_refused(url: str, message: str) -> None:
    assert (await refused(fetch.create(), "fetch", url=url)).startswith(message)


async def test_a_url_without_a_scheme_means_https() -> None:
    message = await refused(fetch.create(), "fetch", url="127.0.0.1/page")
    assert message.startswith("127.0.0.1 is a private")
