"""Tiers: named presets over the one loop, from a chatbot to an assistant that knows you.

A tier is not a subclass of the loop. It says what a conversation turns on: tools (and
from which servers), recall of memories each turn, the user's profile and facts in the
prompt; plus its own words for the persona, its step limit and its approval rules. The
three rungs are built in:

- chatbot: you ask, it answers and forgets. No tools are offered, no tool server starts,
  the embedding model never loads.
- agent: you give it tasks; it uses tools. It does not know you.
- assistant: an agent that knows you: your profile and the facts it has learnt sit in its
  prompt, and each turn recalls what is relevant from your documents and past talks.

Other packages add tiers through the entry-point group ``rung.tiers``; an entry point
names a `Tier` (or a function returning one):

    [project.entry-points."rung.tiers"]
    researcher = "my_package.tiers:RESEARCHER"
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

from rung.config.errors import ConfigError

if TYPE_CHECKING:
    from rung.config.mcp_file import Policy  # not at start-up: it is only a type

GROUP = "rung.tiers"
POLICIES = ("allow", "ask", "deny")


@dataclass(frozen=True)
class Tier:
    name: str
    summary: str  # one line for `rung tiers`
    tools: bool = False  # offer tools; their servers start
    servers: tuple[str, ...] = ()  # globs of the tool servers it uses; () = every enabled one
    recall: bool = False  # each turn, recall facts and passages from memory
    profile: bool = False  # profile.md and the facts about the user in the prompt
    persona: str = ""  # added after persona.md
    max_steps: int | None = None  # model steps per turn; None: the max_steps setting
    approvals: Mapping[str, str] = field(default_factory=dict)  # "server:tool" glob -> policy
    source: str = "built-in"  # where it came from (for `rung tiers`)

    def uses_server(self, name: str) -> bool:
        return self.tools and (
            not self.servers or any(fnmatch.fnmatchcase(name, p) for p in self.servers)
        )

    def turns_on(self) -> list[str]:
        """What it turns on, in words."""
        on = []
        if self.tools:
            on.append("tools" + (f" ({', '.join(self.servers)})" if self.servers else ""))
        if self.recall:
            on.append("recall")
        if self.profile:
            on.append("profile and facts")
        if self.max_steps is not None:
            on.append(f"{self.max_steps} steps")
        if self.approvals:
            on.append("approval rules " + ", ".join(f"{k}={v}" for k, v in self.approvals.items()))
        return on or ["answers only"]


CHATBOT = Tier("chatbot", "answers and forgets: no tools, no memory")
AGENT = Tier("agent", "uses tools to do tasks; does not know you", tools=True)
ASSISTANT = Tier(
    "assistant",
    "an agent that knows you: profile, facts and recall of documents and past talks",
    tools=True,
    recall=True,
    profile=True,
    persona="You know the user: their profile and the facts you have learnt about them are "
    "below. Use what you know when it helps, and say so when something you know may be out "
    "of date.",
)
BUILT_IN = (CHATBOT, AGENT, ASSISTANT)

_loaded: tuple[dict[str, Tier], list[str]] | None = None


def available() -> tuple[dict[str, Tier], list[str]]:
    """Every tier by name (built-in first, then plugins), and the plugins that failed, each
    with why. A plugin cannot replace a built-in tier."""
    global _loaded
    if _loaded is None:
        tiers = {t.name: t for t in BUILT_IN}
        problems: list[str] = []
        for name, tier, problem in _plugins():
            if problem:
                problems.append(problem)
            elif name in tiers:
                problems.append(f"tier plugin {tier.source}: {name!r} is taken, skipped")
            else:
                tiers[name] = tier
        _loaded = (tiers, problems)
    return _loaded


def get(name: str) -> Tier:
    """The tier called `name` (plugins are looked up only for a name not built in)."""
    for builtin in BUILT_IN:
        if builtin.name == name:
            return builtin
    tiers, problems = available()
    tier = tiers.get(name)
    if tier is None:
        failed = f" ({'; '.join(problems)})" if problems else ""
        raise ConfigError(
            f"no tier named {name!r}{failed}",
            hint=f"the tiers are: {', '.join(tiers)} (`rung tiers` says what each does)",
        )
    return tier


def _plugins() -> list[tuple[str, Tier, str]]:
    from importlib.metadata import entry_points

    found: list[tuple[str, Tier, str]] = []
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        dist = point.dist.name if point.dist is not None else "?"
        where = f"{dist} ({point.value})"
        try:
            loaded: Any = point.load()
            tier = loaded() if callable(loaded) and not isinstance(loaded, Tier) else loaded
            if not isinstance(tier, Tier):
                raise TypeError(f"it is a {type(tier).__name__}, not a rung Tier")
            _check(tier)
        except Exception as exc:  # a broken plugin is reported, the others still load
            found.append((point.name, CHATBOT, f"tier plugin {where}: {exc}"))
            continue
        found.append((tier.name, replace(tier, source=f"plugin {where}"), ""))
    return found


def tier_rules(tier: Tier) -> dict[str, Policy]:
    """The tier's approval rules, typed for the hub (checked when the tier was loaded)."""
    return {k: cast("Policy", v) for k, v in tier.approvals.items() if v in POLICIES}


def _check(tier: Tier) -> None:
    if not tier.name or not tier.name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"bad tier name {tier.name!r}")
    servers: object = tier.servers  # a plugin's value, whatever the type hint says
    if not isinstance(servers, tuple | list) or not all(isinstance(s, str) for s in servers):
        raise ValueError(f"servers must be a tuple of names or globs, not {servers!r}")
    bad = [p for p in tier.approvals.values() if p not in POLICIES]
    if bad:
        raise ValueError(f"approval policy {bad[0]!r} is not one of {', '.join(POLICIES)}")
