"""A test MCP server standing for a user's mail server (a test double), run as a real
stdio process: a third-party tool whose results are untrusted, and a way for data to leave.

    python -m tests.mcp_servers.outbox BOX

Tools: `inbox()` (marked read-only) returns the messages in BOX/inbox.json;
`send_message(to, text)` appends {"to", "text"} to BOX/sent.jsonl, which is how the tests
see that something left.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations


def build(box: Path) -> MCPServer:
    app = MCPServer("outbox")

    @app.tool(annotations=ToolAnnotations(read_only_hint=True))
    def inbox() -> str:
        """The messages in the user's inbox, newest last."""
        messages = json.loads((box / "inbox.json").read_text(encoding="utf-8"))
        return "\n\n".join(f"From: {m['from']}\n{m['text']}" for m in messages)

    @app.tool()
    def send_message(to: str, text: str) -> str:
        """Send a message to someone."""
        with (box / "sent.jsonl").open("a", encoding="utf-8") as sent:
            sent.write(json.dumps({"to": to, "text": text}) + "\n")
        return f"sent to {to}"

    return app


if __name__ == "__main__":
    build(Path(sys.argv[1])).run()
