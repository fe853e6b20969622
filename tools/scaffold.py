"""`rung tools new NAME`: a runnable MCP server of one file, with a test, ready to edit.

The files are plain text templates: what the user gets is what they read here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rung.config.errors import UserError

SERVER = '''"""{name}: an MCP tool server (for Rung, or any MCP client).

Add a tool: write a function with type hints and a docstring, put @server.tool() on it.
The docstring and the parameter names are what the model reads, so make them clear.

    python {module}.py                 # run it (Rung starts it for you)
    rung tools test {name}             # start it, list its tools, time it
    python test_{module}.py            # its test (or: python -m pytest)
"""

from mcp.server.mcpserver import MCPServer

server = MCPServer("{name}")


@server.tool()
def count_words(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


if __name__ == "__main__":
    server.run()
'''

TEST = '''"""The {name} server's test: calls its tools the way Rung does, over MCP, in-process."""

import asyncio

from mcp.client import Client

from {module} import server


async def call(tool, arguments):
    async with Client(server) as client:
        result = await client.call_tool(tool, arguments)
        assert not result.is_error, result.content
        return result.content[0].text


def test_count_words():
    assert asyncio.run(call("count_words", {{"text": "one two three"}})) == "3"


if __name__ == "__main__":
    test_count_words()
    print("ok")
'''


@dataclass(frozen=True)
class Scaffold:
    folder: Path
    server: Path
    test: Path


def check_name(name: str) -> str:
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", name):
        raise UserError(
            f"{name!r} is not a usable tool server name",
            hint="use lower-case letters, digits, '-' or '_', starting with a letter",
        )
    return name


def scaffold(name: str, parent: Path) -> Scaffold:
    """Write NAME/NAME_server.py and NAME/test_NAME_server.py under `parent`."""
    module = f"{check_name(name).replace('-', '_')}_server"
    folder = (parent / name).resolve()
    if folder.exists():
        raise UserError(f"{folder} already exists", hint="pick another name or --dir")
    if parent.exists() and not parent.is_dir():
        raise UserError(f"{parent} is a file, not a folder", hint="give --dir a folder")
    folder.mkdir(parents=True)
    server, test = folder / f"{module}.py", folder / f"test_{module}.py"
    server.write_text(SERVER.format(name=name, module=module), encoding="utf-8")
    test.write_text(TEST.format(name=name, module=module), encoding="utf-8")
    return Scaffold(folder, server, test)
