"""Calling a built-in server's tools through a real in-process MCP client."""

from __future__ import annotations

import functools
import os
import tempfile
from dataclasses import dataclass
from typing import Any

import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer
from mcp.types import TextContent


@dataclass
class Reply:
    text: str
    is_error: bool


async def call(server: MCPServer, tool: str, **arguments: Any) -> Reply:
    """Call ``tool`` on ``server`` over the SDK's in-memory transport."""
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
    texts = [part.text for part in result.content if isinstance(part, TextContent)]
    return Reply("\n".join(texts), result.is_error)


async def ok(server: MCPServer, tool: str, **arguments: Any) -> str:
    """The text of a call that must succeed."""
    reply = await call(server, tool, **arguments)
    assert not reply.is_error, reply.text
    return reply.text


async def refused(server: MCPServer, tool: str, **arguments: Any) -> str:
    """The message of a call that must fail with a readable error (no traceback)."""
    reply = await call(server, tool, **arguments)
    assert reply.is_error, reply.text
    assert "Traceback" not in reply.text
    assert reply.text.startswith(f"Error executing tool {tool}: ")
    return reply.text.removeprefix(f"Error executing tool {tool}: ")


@functools.cache
def sandbox_problem() -> str | None:
    """Why the shell's sandbox (bubblewrap) cannot run here, or None."""
    from rung.tools.builtin import shell

    try:
        shell.Shell(shell.ShellOptions(cwd=tempfile.gettempdir()), os.environ).check_sandbox()
    except shell.SandboxUnavailable as exc:
        return exc.message
    return None


def skip_without_bubblewrap() -> None:
    """Skip the test, saying why, where the shell's sandbox cannot run."""
    problem = sandbox_problem()
    if problem:
        pytest.skip(f"needs bubblewrap (the Debian package bubblewrap): {problem}")
