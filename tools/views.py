"""What a front end shows of a tool hub, as plain data: its servers and their state, the
prompts and resources they offer, and a prompt rendered from what the user typed. The
terminal reads them from its own hub; the daemon sends them over its API from its warm one,
and the terminal shows them the same way."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rung.config.errors import RungError

if TYPE_CHECKING:
    from rung.tools.approvals import ApprovalPolicy
    from rung.tools.catalog import Catalog
    from rung.tools.hub import ToolHub
    from rung.tools.mcp_client import RemotePrompt, RemoteResource


@dataclass(frozen=True)
class ServerView:
    name: str
    state: str  # starting, ready, failed, …
    launch: str  # what starting it runs or connects to
    tools: list[str] = field(default_factory=list)  # those offered to the model
    blocked: dict[str, str] = field(default_factory=dict)  # tool -> why its pin holds it
    reason: str = ""  # why it is not ready
    log: str = ""


def server_views(hub: ToolHub) -> list[ServerView]:
    return [
        ServerView(
            s.name,
            s.state,
            s.config.launch_line(),
            [t.name for t in s.offered()] if s.state == "ready" else [],
            dict(s.blocked),
            s.reason or "",
            str(s.log_path),
        )
        for s in hub.servers.values()
    ]


@dataclass(frozen=True)
class ToolLine:
    """One tool as `rung tools list` shows it."""

    name: str
    description: str
    parameters: dict[str, Any]
    decision: str  # what the policy says of it: allow, ask, deny
    blocked: str = ""  # why its pin holds it back: changed, new, unverified; "" if not


@dataclass(frozen=True)
class ServerListing:
    """One server of the catalog as `rung tools list` shows it (a disabled one too)."""

    name: str
    state: str  # "disabled" for one not started
    launch: str
    reason: str = ""
    log: str = ""
    pin_problem: str = ""
    tools: list[ToolLine] = field(default_factory=list)


def listing(catalog: Catalog, hub: ToolHub, policy: ApprovalPolicy) -> list[ServerListing]:
    """Every server of the catalog, with the state and tools it has in `hub`."""
    found = []
    for config in catalog.servers:
        server = hub.servers.get(config.name)
        if server is None:
            found.append(ServerListing(config.name, "disabled", config.launch_line()))
            continue
        tools = [
            ToolLine(
                t.name,
                t.description,
                t.parameters,
                policy.decide(config.name, t.name),
                server.blocked.get(t.name, ""),
            )
            for t in server.listed()
        ]
        found.append(
            ServerListing(
                config.name,
                server.state,
                config.launch_line(),
                server.reason or "",
                str(server.log_path),
                server.pin_problem or "",
                tools,
            )
        )
    return found


def server_listing(data: dict[str, Any]) -> ServerListing:
    return ServerListing(**{**data, "tools": [ToolLine(**t) for t in data["tools"]]})


def to_dict(view: ServerView | ServerListing | RemotePrompt | RemoteResource) -> dict[str, Any]:
    return asdict(view)


def server_view(data: dict[str, Any]) -> ServerView:
    return ServerView(**data)


def prompt_view(data: dict[str, Any]) -> RemotePrompt:
    from rung.tools.mcp_client import RemotePrompt

    return RemotePrompt(
        data["name"], data["description"], tuple((n, bool(r)) for n, r in data["arguments"])
    )


def resource_view(data: dict[str, Any]) -> RemoteResource:
    from rung.tools.mcp_client import RemoteResource

    return RemoteResource(**data)


async def render_prompt(hub: ToolHub, typed: str) -> str:
    """`/prompt NAME ARGS…`: the server's prompt with those arguments, as the text to send.
    `RungError` for an unknown prompt, a missing argument or one too many."""
    name, _, rest = typed.partition(" ")
    _, prompt = await hub.find_prompt(name)
    arguments = prompt_arguments(rest, [n for n, _ in prompt.arguments])
    missing = [n for n, required in prompt.arguments if required and n not in arguments]
    if missing:
        raise RungError(
            f"the prompt {name} needs {', '.join(missing)}",
            hint=f"/prompt {name} " + " ".join(f"{n}=VALUE" for n in missing),
        )
    messages = await hub.get_prompt(name, arguments)
    return "\n\n".join(text for _, text in messages if text.strip())


def prompt_arguments(text: str, names: list[str]) -> dict[str, str]:
    """`key=value` pairs, and bare words for the prompt's arguments in order (quotes work)."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise RungError(f"cannot read the arguments: {exc}") from None
    arguments: dict[str, str] = {}
    free = iter(names)
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key in names:
            arguments[key] = value
            continue
        name = next((n for n in free if n not in arguments), None)
        if name is None:
            raise RungError(f"too many arguments: {word!r}", hint=f"arguments: {', '.join(names)}")
        arguments[name] = word
    return arguments
