"""Which tool calls may run: a policy per tool (allow, ask, deny) and who answers an `ask`.

Rules are globs over "server:tool" (from `approvals` in mcp.json, set with `rung tools
allow|ask|deny`) and over tool names (a server's own `approval`). Deny always wins; among
the rest the most specific rule decides; with no rule, a built-in read-only tool is
allowed and everything else asks. A server marked always-ask (the shell) never runs a call
without a yes for that call.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rung.config.mcp_file import Policy

Answer = Literal["once", "always", "deny"]


@dataclass(frozen=True)
class ApprovalRequest:
    server: str
    tool: str  # the server's own name for the tool
    arguments: dict[str, Any]
    always_offered: bool = True  # False where "allow always" is not an option (the shell)


Approver = Callable[[ApprovalRequest], Awaitable[Answer]]


async def no_one_to_ask(request: ApprovalRequest) -> Answer:
    """Where no one can answer (`rung ask` without a terminal, the daemon): ask means no."""
    return "deny"


@dataclass
class ApprovalPolicy:
    rules: dict[str, Policy] = field(default_factory=dict)  # "server:tool" glob -> policy
    server_rules: dict[str, Mapping[str, Policy]] = field(default_factory=dict)  # tool glob
    read_only: dict[str, frozenset[str]] = field(default_factory=dict)  # built-in read-only tools
    always_ask: frozenset[str] = frozenset()  # servers whose every call asks

    def decide(self, server: str, tool: str) -> Policy:
        matches = [
            (policy, _specificity(pattern))
            for pattern, policy in self.rules.items()
            if fnmatch.fnmatchcase(f"{server}:{tool}", pattern)
        ]
        matches += [
            (policy, _specificity(f"{server}:{pattern}"))
            for pattern, policy in self.server_rules.get(server, {}).items()
            if fnmatch.fnmatchcase(tool, pattern)
        ]
        if any(policy == "deny" for policy, _ in matches):
            return "deny"
        if server in self.always_ask:
            return "ask"
        if matches:
            # The most specific rule wins; between equals, the more careful one.
            best = max(s for _, s in matches)
            return "ask" if any(p == "ask" for p, s in matches if s == best) else "allow"
        return "allow" if tool in self.read_only.get(server, frozenset()) else "ask"

    def allow(self, server: str, tool: str) -> None:
        self.rules[exact_pattern(server, tool)] = "allow"


def _specificity(pattern: str) -> tuple[int, int]:
    """Exact names beat globs; longer literal text beats shorter."""
    wild = sum(pattern.count(c) for c in "*?[")
    return (1 if wild == 0 else 0, len(pattern) - wild)


def exact_pattern(server: str, tool: str) -> str:
    """A rule that matches this one tool only, even if its name holds glob characters."""
    return f"{server}:" + re.sub(r"([*?\[])", r"[\1]", tool)


def parse_answer(text: str, *, always_offered: bool) -> Answer:
    """What a person typed at an approval prompt: y = once, a = always, anything else = no."""
    choice = text.strip().lower()
    if choice in ("a", "always") and always_offered:
        return "always"
    return "once" if choice in ("y", "yes") else "deny"


def denied_message(server: str, tool: str, *, by_policy: bool) -> str:
    why = "the policy denies it" if by_policy else "the user did not approve it"
    return (
        f"the call to {tool} (server {server}) did not run: {why}. "
        "Do not call it again with the same arguments; answer without it or ask the user."
    )
