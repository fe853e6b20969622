"""What tools a user has configured: mcp.json's servers plus the built-in ones, and a hub for them.

Reading the catalog starts nothing; `open_hub()` builds the `ToolHub` (the `mcp` SDK is
imported only then, about a second, so callers do it off the prompt's path).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rung.config.mcp_file import (
    DEFAULT_CALL_TIMEOUT,
    McpFile,
    Policy,
    ServerConfig,
    load_mcp_file,
    set_approval,
)
from rung.config.paths import PINS_FILE
from rung.tools.approvals import ApprovalPolicy, Approver, exact_pattern
from rung.tools.builtin import BUILTINS, ENABLED_BY_DEFAULT

if TYPE_CHECKING:
    from rung.tools.hub import ToolHub

ALWAYS_ASK = frozenset({"shell"})  # built-ins whose every call needs a yes
# The shell reports what a command printed when its own time limit (60 s) ends it; the
# hub's limit must not cut in first.
BUILTIN_CALL_TIMEOUT = {"shell": 75.0}


@dataclass
class Catalog:
    file: McpFile
    servers: list[ServerConfig]  # built-ins first, then mcp.json's, in file order

    def get(self, name: str) -> ServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)

    def problems(self) -> list[str]:
        """The mcp.json entries that were skipped, each with why."""
        return [
            f"tool server {name} skipped: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
            for name, exc in self.file.problems.items()
        ]


def load_catalog(mcp_path: Path, use: Callable[[str], bool] | None = None) -> Catalog:
    """mcp.json's servers and the built-ins; only those `use(name)` says, when given."""
    file = load_mcp_file(mcp_path, frozenset(BUILTINS))
    builtins = [
        file.builtins.get(name)
        or ServerConfig(
            name,
            builtin=True,
            enabled=name in ENABLED_BY_DEFAULT,
            call_timeout=BUILTIN_CALL_TIMEOUT.get(name, DEFAULT_CALL_TIMEOUT),
        )
        for name in BUILTINS
    ]
    servers = [*builtins, *file.servers.values()]
    return Catalog(file, [s for s in servers if use is None or use(s.name)])


def read_only_tools(catalog: Catalog) -> dict[str, frozenset[str]]:
    """Each enabled built-in's read-only tools (allowed without asking unless a rule says so)."""
    return {
        s.name: importlib.import_module(BUILTINS[s.name]).READ_ONLY
        for s in catalog.servers
        if s.builtin and s.enabled
    }


def policy_for(catalog: Catalog, rules: Mapping[str, Policy] | None = None) -> ApprovalPolicy:
    """The approval rules of the catalog's servers; a tier's `rules` come under the user's
    own (the user's rule for the same pattern wins; a deny anywhere still wins)."""
    return ApprovalPolicy(
        rules={**(rules or {}), **catalog.file.approvals},
        server_rules={s.name: s.approval for s in catalog.servers if s.approval},
        read_only=read_only_tools(catalog),
        always_ask=ALWAYS_ASK,
        trusted_tools=tuple(catalog.file.trusted_tools),
        trusted_hosts=tuple(catalog.file.trusted_hosts),
    )


def open_hub(
    mcp_path: Path,
    log_dir: Path,
    approver: Approver,
    *,
    use: Callable[[str], bool] | None = None,
    rules: Mapping[str, Policy] | None = None,
    audit: Path | None = None,
) -> tuple[ToolHub, list[str]]:
    """A hub for every enabled server ("allow always" answers are saved to mcp.json), and
    the entries of mcp.json that had to be skipped, each with why. A tier narrows it:
    `use(name)` says which servers it uses, `rules` adds its approval rules (the user's
    own rule for the same pattern wins; a deny anywhere still wins). The servers' tools are
    checked against their pins (`pins.json` beside mcp.json); `audit` is the audit log's
    path (None: calls are not logged)."""
    from rung.tools.audit import AuditLog
    from rung.tools.hub import ToolHub
    from rung.tools.pins import PinStore

    catalog = load_catalog(mcp_path, use)

    def remember(server: str, tool: str) -> None:
        file = load_mcp_file(mcp_path, frozenset(BUILTINS))  # re-read: keep edits made since
        set_approval(file, exact_pattern(server, tool), "allow")
        file.save()

    hub = ToolHub(
        catalog.servers,
        policy=policy_for(catalog, rules),
        approver=approver,
        log_dir=log_dir,
        on_allow_always=remember,
        pins=PinStore(mcp_path.with_name(PINS_FILE)),
        audit=AuditLog(audit),
    )
    return hub, catalog.problems()
