"""The `Tool` protocol and an in-process registry of tools.

A tool is a name, a description, a JSON schema for its arguments and an async call. MCP
servers (the hub) and plain Python functions both plug in here, so the loop knows one
abstraction only.
"""

from __future__ import annotations

import difflib
import inspect
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from rung.config.errors import ToolError
from rung.tools.approvals import Taint


@dataclass(frozen=True)
class ToolSpec:
    """What the model is told about a tool: its name, description and JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_ollama(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


def named_arguments(schema: Any) -> tuple[set[str], set[str]] | None:
    """The argument names a tool's JSON `schema` defines, and those it requires; None when
    it does not say (no `properties` object, or `required` not a list)."""
    defined = schema.get("properties") if isinstance(schema, dict) else None
    required = schema.get("required", []) if isinstance(schema, dict) else None
    if not isinstance(defined, dict) or not isinstance(required, list):
        return None
    return set(defined), {name for name in required if isinstance(name, str)}


class Tool(Protocol):
    @property
    def spec(self) -> ToolSpec: ...

    async def call(self, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        """Run the tool; return its result as text. Raise to report a failure. `taint`:
        untrusted content is in the turn (a tool that can act may need a fresh yes)."""
        ...


class UnknownTool(ToolError):
    """The model asked for a tool that does not exist."""


class InvalidArguments(ToolError):
    """The model's arguments do not match the tool's schema."""


@dataclass(frozen=True)
class FunctionTool:
    """A plain Python function (sync or async) as a tool."""

    spec: ToolSpec
    function: Callable[..., Any]

    async def call(self, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        result = self.function(**arguments)
        if inspect.isawaitable(result):
            result = await result
        return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


class ToolRegistry:
    """The tools on offer this turn, by name. Validates arguments before any call runs."""

    def __init__(self, tools: Iterable[Tool] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        self._tools[tool.spec.name] = tool

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec for tool in self._tools.values()]

    def get(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._tools, n=3, cutoff=0.5)
            known = close or sorted(self._tools)
            raise UnknownTool(
                f"there is no tool named {name!r}; "
                + ("did you mean: " if close else "the tools are: ")
                + (", ".join(known) if known else "(none)")
            ) from None

    async def call(self, name: str, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        tool = self.get(name)
        validate_arguments(tool.spec, arguments)
        return await tool.call(arguments, taint)


class ToolView(ToolRegistry):
    """Some of a registry's tools on offer (`specs`); calls still reach any of them."""

    def __init__(self, source: ToolRegistry, offered: Iterable[ToolSpec]) -> None:
        super().__init__()
        self.source = source
        self.offered = list(offered)

    def __len__(self) -> int:
        return len(self.offered)

    def specs(self) -> list[ToolSpec]:
        return list(self.offered)

    def get(self, name: str) -> Tool:
        return self.source.get(name)

    async def call(self, name: str, arguments: dict[str, Any], taint: Taint | None = None) -> str:
        return await self.source.call(name, arguments, taint)


def validate_arguments(spec: ToolSpec, arguments: dict[str, Any]) -> None:
    """Check arguments against the tool's JSON schema; raise one short, precise message."""
    problem = argument_problem(spec, arguments)
    if problem is not None:
        expected = json.dumps(spec.parameters.get("properties", {}), ensure_ascii=False)
        raise InvalidArguments(
            f"invalid arguments for {spec.name}: {problem}. "
            f"Expected an object with properties {expected}"
        )


def argument_problem(spec: ToolSpec, arguments: dict[str, Any]) -> str | None:
    """What is wrong with `arguments` for the tool's JSON schema ("where: what"), if anything."""
    import jsonschema  # lazy: only needed once a tool is called

    validator = jsonschema.Draft202012Validator(spec.parameters)
    error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "arguments"
    return f"{where}: {error.message}"
