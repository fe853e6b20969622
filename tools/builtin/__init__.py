"""Rung's built-in tools, each an MCP server of its own.

Every module here offers the same small interface, which the tool hub relies on:

- ``NAME``: the server's name;
- ``READ_ONLY``: the names of its tools that only read (approval default "allow"; every
  other tool defaults to "ask");
- ``create(options)``: a fresh ``MCPServer`` built from a mapping of options (a bad option
  raises ``ValueError`` with a one-line message naming it);
- ``main(argv)``: the command line, ``python -m rung.tools.builtin.NAME --help``, which runs
  the server over stdio.

The modules are named here, not imported: the hub imports the ones it starts, when it
starts them, so importing this package costs nothing.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

BUILTINS: dict[str, str] = {
    "clock": "rung.tools.builtin.clock",
    "files": "rung.tools.builtin.files",
    "fetch": "rung.tools.builtin.fetch",
    "shell": "rung.tools.builtin.shell",
    "memory": "rung.tools.builtin.memory",
}

ENABLED_BY_DEFAULT: frozenset[str] = frozenset({"clock", "files", "fetch", "memory"})
"""The shell server runs commands, so it is off unless the user enables it."""


class Options(BaseModel):
    """Base of each server's options: strict about unknown names and wrong types."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


OptionsT = TypeVar("OptionsT", bound=Options)


def parse_options(
    model: type[OptionsT], server: str, options: Mapping[str, Any] | None
) -> OptionsT:
    """Validate ``options`` for ``server``; raise ``ValueError`` with one line naming the option."""
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = ".".join(str(part) for part in error["loc"]) or "options"
        if error["type"] == "extra_forbidden":
            known = ", ".join(sorted(model.model_fields))
            message = f"unknown option {name!r} for the {server} server (known: {known})"
        else:
            given = error.get("input")
            message = f"option {name!r} of the {server} server: {error['msg']} (got {given!r})"
        raise ValueError(message) from None


def new_server(name: str, instructions: str, lifespan: Any = None) -> MCPServer:
    """An empty ``MCPServer`` that leaves the process's logging set-up as it found it.

    The SDK calls ``logging.basicConfig`` (with a rich handler) from the constructor; in
    Rung's own process the CLI and the daemon decide how logging looks, so that is undone.
    """
    from mcp.server.mcpserver import MCPServer

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return MCPServer(name, instructions=instructions, log_level="WARNING", lifespan=lifespan)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def serve(
    parser: argparse.ArgumentParser,
    create: Callable[[Mapping[str, Any]], MCPServer],
    options: Mapping[str, Any],
) -> None:
    """The end of each server's `main()`: build it from the flags' options, run it on stdio."""
    try:
        server = create(options)
    except ValueError as exc:
        parser.error(str(exc))
    server.run()
