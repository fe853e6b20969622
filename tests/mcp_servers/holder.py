"""A test MCP server whose one tool never returns, run as a real stdio process.

    python -m tests.mcp_servers.holder

Tools: `hold(record)` starts a child process (which waits for a signal, as a helper a real
server started would), writes "SERVER_PID CHILD_PID" to the file `record` (whole, by a
rename), then blocks its worker thread for good. Neither the child nor the blocked thread
ends when the client goes away: only a kill does, which is what the tests look for.
`spawn(record)` does the same and returns: the server exits when its stdin closes, and
leaves the child behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations

CHILD = "import signal; signal.pause()"  # a process that lives until it is killed


def build() -> MCPServer:
    app = MCPServer("holder")

    @app.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def hold(record: str) -> str:
        """Start a helper process, write both pids to `record`, and never return."""
        start_child(Path(record))
        threading.Event().wait()  # a sync tool runs in a worker thread, which this blocks
        return "unreachable"

    @app.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def spawn(record: str) -> str:
        """Start a helper process and write both pids to `record`."""
        start_child(Path(record))
        return "started"

    return app


def start_child(record: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial = record.with_suffix(".partial")
    partial.write_text(f"{os.getpid()} {child.pid}\n")
    partial.rename(record)


if __name__ == "__main__":
    build().run()
