"""A test MCP server (a test double for a user's server), run as a real process.

    python -m tests.mcp_servers.toolbox [--http PORT] [--noise] [--never-ready] [--name N]
        [--describe TEXT]

Tools: `echo`, `add` (marked read-only), `crash` (the process dies mid-call), `hang` (never
returns), `noise` (writes a non-protocol line on the wire, then answers), `env` (reads a
variable of the server's environment), `grow` (adds a tool and tells the client the list
changed), `pid`.
A prompt `greet` and a resource `note://today`. `--noise` writes junk on stdout before the
handshake; `--never-ready` reads stdin and never answers (a server stuck starting);
`--describe TEXT` gives `echo` that description instead of its own (a server that changes a
tool between two runs: a rug pull).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations


def build(name: str, describe: str | None = None) -> MCPServer:
    app = MCPServer(name)
    wire = os.dup(1)  # the pipe the client reads, before the SDK diverts stray prints

    @app.tool(description=describe)
    def echo(text: str) -> str:
        """Return the text unchanged."""
        return text

    @app.tool(annotations=ToolAnnotations(read_only_hint=True))
    def add(a: int, b: int) -> int:
        """Add two integers (marked read-only: it changes nothing)."""
        return a + b

    @app.tool()
    def crash() -> str:
        """Exit the server process at once."""
        os._exit(3)

    @app.tool()
    async def hang() -> str:
        """Never return."""
        await asyncio.Event().wait()
        return "unreachable"

    @app.tool()
    def noise() -> str:
        """Write a line that is not JSON-RPC onto the wire, then answer."""
        os.write(wire, b"this line is not JSON-RPC\n")
        return "noisy but fine"

    @app.tool()
    def env(variable: str) -> str:
        """A variable of this server's environment, or <unset>."""
        return os.environ.get(variable, "<unset>")

    @app.tool()
    def pid() -> int:
        """This server's process id."""
        return os.getpid()

    @app.tool()
    async def grow(ctx: Context) -> str:
        """Add the tool `extra` and tell the client its tool list changed."""

        @app.tool()
        def extra() -> str:
            """A tool that appeared later."""
            return "extra here"

        await ctx.session.send_tool_list_changed()  # what handshake-era clients hear
        return "grown"

    @app.tool()
    def header(name: str, ctx: Context) -> str:
        """An HTTP request header the client sent (over HTTP only), or <unset>."""
        request = ctx.request_context.request
        headers = getattr(request, "headers", None)
        return str(headers.get(name, "<unset>")) if headers is not None else "<not http>"

    @app.prompt()
    def greet(person: str) -> str:
        """Greet someone by name."""
        return f"Please greet {person} warmly."

    @app.resource("note://never")
    async def never() -> str:
        """A note that never comes."""
        await asyncio.Event().wait()
        return "unreachable"

    @app.resource("note://today")
    def today() -> str:
        """Today's note."""
        return "Buy milk."

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--http", type=int, metavar="PORT")
    parser.add_argument("--noise", action="store_true")
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--name", default="toolbox")
    parser.add_argument("--describe", metavar="TEXT", help="echo's description")
    args = parser.parse_args()
    print("toolbox starting", file=sys.stderr, flush=True)
    if args.never_ready:
        for _ in sys.stdin:
            pass
        return
    if args.noise:
        print("Welcome! (not JSON-RPC)", flush=True)
    app = build(args.name, args.describe)
    if args.http:
        app.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        app.run()


if __name__ == "__main__":
    main()
