"""The fetch server: read a web page, or any text at a URL, as plain text.

HTML becomes readable text (the title and the main text; scripts, styles, navigation and
footers dropped) through the standard library's ``html.parser``; other text comes back
as it is; images, PDFs and other binary content are refused. Only http and https URLs
are read, and by default no host on a private, loopback, link-local or otherwise
non-public address: the host's addresses are checked before connecting, the address
actually connected to is checked again (against DNS tricks), and each redirect is
followed by hand and checked the same way. A page is read up to ``max_bytes`` and within
``timeout`` seconds in all.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from rung.memory.html import html_to_text
from rung.tools.builtin import Options, new_server, parse_options, serve

NAME = "fetch"
READ_ONLY: frozenset[str] = frozenset({"fetch"})

MAX_REDIRECTS = 5
USER_AGENT = "Mozilla/5.0 (compatible; Rung-fetch/0.1; a personal AI agent)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/sql",
        "application/x-sh",
        "application/csv",
        "application/x-ndjson",
    }
)
SNIFFED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


class FetchOptions(Options):
    max_bytes: int = Field(default=2_000_000, gt=0)
    timeout: float = Field(default=15.0, gt=0)
    allow_private: bool = False


def create(options: Mapping[str, Any] | None = None) -> MCPServer:
    """Build a fetch server (``max_bytes``, ``timeout`` in seconds, ``allow_private``)."""
    fetcher = Fetcher(parse_options(FetchOptions, NAME, options))
    server = new_server(NAME, "Read web pages and other text from http(s) URLs.")
    annotations = ToolAnnotations(read_only_hint=True, open_world_hint=True)
    server.add_tool(fetcher.fetch, annotations=annotations, structured_output=False)
    return server


@dataclass
class Page:
    url: str
    kind: str  # "html" or "text"
    text: str
    cut: bool


class Fetcher:
    def __init__(self, settings: FetchOptions) -> None:
        self.settings = settings

    async def fetch(
        self,
        url: Annotated[str, Field(description="The http or https URL to read")],
        max_chars: Annotated[int, Field(ge=1, description="Most characters to return")] = 20000,
        start_index: Annotated[
            int, Field(ge=0, description="Character to start at, to read on after a cut")
        ] = 0,
    ) -> str:
        """Fetch a web page (or other text) from a URL and return it as readable text."""
        limit = self.settings.timeout
        try:
            async with asyncio.timeout(limit):
                page = await self._download(url.strip())
        except (TimeoutError, httpx.TimeoutException):
            raise ToolError(f"no complete answer from {url} within {limit:g} s") from None
        except httpx.HTTPError as exc:
            raise ToolError(f"cannot fetch {url}: {_http_error(exc)}") from None
        return _window(page, max_chars, start_index, self.settings.max_bytes)

    async def _download(self, url: str) -> Page:
        client = httpx.AsyncClient(
            timeout=self.settings.timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": USER_AGENT, "Accept": "text/html, text/*;q=0.9, */*;q=0.5"},
        )
        async with client:
            for _ in range(MAX_REDIRECTS + 1):
                target = await self._check(url)
                async with client.stream("GET", target) as response:
                    self._check_peer(response, target)
                    if not response.is_redirect:
                        return await self._read(response)
                    url = str(response.url.join(response.headers["location"]))
        raise ToolError(f"more than {MAX_REDIRECTS} redirects; stopped at {url}")

    async def _check(self, url: str) -> httpx.URL:
        """The URL parsed; ToolError unless it is http(s) and (by default) public."""
        text = url if "://" in url else f"https://{url}"
        try:
            parsed = httpx.URL(text)
        except httpx.InvalidURL as exc:
            raise ToolError(f"bad URL {url!r}: {exc}") from None
        if parsed.scheme not in ("http", "https"):
            raise ToolError(f"only http and https URLs can be fetched, not {parsed.scheme}:")
        if not parsed.host:
            raise ToolError(f"bad URL {url!r}: it names no host")
        if not self.settings.allow_private:
            await _check_public(
                parsed.host, parsed.port or (443 if parsed.scheme == "https" else 80)
            )
        return parsed

    def _check_peer(self, response: httpx.Response, url: httpx.URL) -> None:
        """Check the address really connected to, in case DNS answered differently."""
        stream = response.extensions.get("network_stream")
        if self.settings.allow_private or stream is None:
            return
        peer = stream.get_extra_info("server_addr")
        if peer and _is_private(_address(str(peer[0]))):
            raise ToolError(_private_message(url.host, str(peer[0])))

    async def _read(self, response: httpx.Response) -> Page:
        if response.status_code >= 400:
            reason = response.reason_phrase or "error"
            raise ToolError(f"{response.url} answered HTTP {response.status_code} {reason}")
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        kind = _kind(media)
        if kind == "binary":
            raise ToolError(f"{response.url} is {media}, not text; fetch reads pages and text")
        body, cut = await _read_capped(response, self.settings.max_bytes)
        if kind == "sniff":
            kind = _sniff(body)
            if kind == "binary":
                raise ToolError(f"{response.url} is binary, not text; fetch reads pages and text")
        text = body.decode(_charset(response, body, kind), errors="replace")
        if kind == "html":
            title, readable = html_to_text(text)
            text = f"Title: {title}\n\n{readable}" if title else readable
        return Page(str(response.url), kind, text, cut)


# --- addresses --------------------------------------------------------------------------

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def _check_public(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ToolError(f"cannot find the host {host!r}: {exc}") from None
    for *_, sockaddr in found:
        if _is_private(_address(str(sockaddr[0]))):
            raise ToolError(_private_message(host, str(sockaddr[0])))


def _address(text: str) -> Address:
    return ipaddress.ip_address(text.split("%", 1)[0])


def _is_private(address: Address) -> bool:
    """True for every address that is not plainly on the public internet."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:  # an IPv4 address wrapped in IPv6 is judged as that address
            return _is_private(embedded)
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _private_message(host: str, address: str) -> str:
    where = host if host == address else f"{host} ({address})"
    return (
        f"{where} is a private, local or reserved address; fetch only reads public "
        "web pages (the user can allow private addresses in the fetch tool's options)"
    )


# --- the body ---------------------------------------------------------------------------


def _kind(media: str) -> str:
    """'html', 'text', 'binary', or 'sniff' (look at the bytes) for a media type."""
    if media in HTML_TYPES:
        return "html"
    if media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+json", "+xml")):
        return "text"
    return "sniff" if media in SNIFFED_TYPES else "binary"


def _sniff(body: bytes) -> str:
    head = body[:1024]
    if b"\0" in head:
        return "binary"
    start = head.lstrip().lower()
    return "html" if start.startswith((b"<!doctype html", b"<html")) else "text"


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """The body, up to ``limit`` bytes (decompressed); and whether it was cut."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            return bytes(body), True
    return bytes(body), False


def _charset(response: httpx.Response, body: bytes, kind: str) -> str:
    declared = response.charset_encoding
    if not declared and kind == "html":
        meta = re.search(rb"""<meta[^>]+charset=["']?([\w.:-]+)""", body[:4096], re.IGNORECASE)
        declared = meta.group(1).decode("ascii") if meta else None
    try:
        return codecs.lookup(declared or "utf-8").name
    except LookupError:
        return "utf-8"


def _window(page: Page, max_chars: int, start: int, max_bytes: int) -> str:
    """The part of the page asked for, with notes on what is left out."""
    text = page.text
    if start and start >= len(text):
        raise ToolError(f"start_index {start} is past the end ({len(text)} characters)")
    end = min(len(text), start + max_chars)
    result = f"URL: {page.url}\n\n{text[start:end] or '(the page has no text)'}"
    notes = []
    if end < len(text):
        notes.append(f"[... {len(text) - end} more characters: fetch with start_index={end}]")
    if page.cut:
        notes.append(f"[the page is larger than {max_bytes} bytes: only its start was read]")
    if notes and not result.endswith("\n"):
        result += "\n"
    return result + "\n".join(notes)


def _http_error(exc: httpx.HTTPError) -> str:
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    return f"{reason} ({cause})" if cause and str(cause) and str(cause) != reason else reason


# --- command line -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the fetch server over stdio."""
    parser = argparse.ArgumentParser(
        prog="python -m rung.tools.builtin.fetch",
        description="Rung's fetch tool as an MCP server over stdio: reads http(s) pages as "
        "text. Private and local addresses are refused unless --allow-private is given.",
    )
    parser.add_argument(
        "--max-bytes", type=int, metavar="N", help="most bytes read per page (default: 2000000)"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="S", help="seconds allowed per fetch (default: 15)"
    )
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="also read hosts on loopback, private and link-local addresses",
    )
    args = parser.parse_args(argv)
    flags = {"max_bytes": args.max_bytes, "timeout": args.timeout}
    options: dict[str, Any] = {name: value for name, value in flags.items() if value is not None}
    if args.allow_private:
        options["allow_private"] = True
    serve(parser, create, options)


if __name__ == "__main__":
    main()
