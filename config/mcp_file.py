"""`mcp.json`: which MCP servers Rung starts, in the common `mcpServers` format.

A block pasted from Claude Desktop, Cursor or oterm works as it is:

    {"mcpServers": {
        "weather": {"command": "uvx", "args": ["weather-mcp"], "env": {"KEY": "${WEATHER_KEY}"}},
        "notes":   {"url": "http://127.0.0.1:8000/mcp", "headers": {"Authorization": "Bearer ${T}"}}
    }}

Rung's own keys sit beside them in a server's entry (`enabled`, `tools.include` /
`tools.exclude`, `startup_timeout`, `call_timeout`, `approval`); `builtins` configures the
built-in servers, `approvals` holds the policies set with `rung tools allow|ask|deny`, and
`trusted` the tools and hosts `rung tools trust` exempts from the untrusted-content gate.
`${VAR}` and `${VAR:-default}` are expanded when a server starts, not when the file is read,
so one server's missing variable never stops the others.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from rung.config.errors import ConfigError

Policy = Literal["allow", "ask", "deny"]
POLICIES: tuple[Policy, ...] = ("allow", "ask", "deny")

DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_CALL_TIMEOUT = 60.0

SERVER_KEYS = {
    "command": "the program to run (stdio server)",
    "args": "a list of texts",
    "env": "an object of texts",
    "cwd": "a directory",
    "url": "http(s) URL of a streamable HTTP server",
    "headers": "an object of texts",
    "type": "stdio | http | streamable-http",
    "enabled": "true or false",
    "tools": '{"include": [globs], "exclude": [globs]}',
    "startup_timeout": "seconds, a number > 0",
    "call_timeout": "seconds, a number > 0",
    "approval": "allow | ask | deny, or an object of tool glob -> policy",
}
# Keys other clients write into the same block; read where they mean something, else ignored.
FOREIGN_KEYS = {
    "disabled",
    "autoApprove",
    "alwaysAllow",
    "timeout",
    "transportType",
    "description",
}
# Keys that say which tools run without asking (Rung's and other clients'): `rung tools
# import` takes them only when the user says so.
APPROVAL_KEYS = ("approval", "autoApprove", "alwaysAllow")
_TRANSPORTS = {"stdio", "http", "streamable-http", "streamable_http", "streamableHttp"}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ServerConfig:
    """One entry of `mcpServers` (or of `builtins`), checked, with `${VAR}` still unexpanded."""

    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    call_timeout: float = DEFAULT_CALL_TIMEOUT
    approval: Mapping[str, Policy] = field(default_factory=dict)  # tool glob -> policy
    builtin: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # a built-in server's own options

    @property
    def transport(self) -> str:
        return "builtin" if self.builtin else ("http" if self.url else "stdio")

    def launch_line(self) -> str:
        """What starting this server runs or connects to, in full, for the user to read."""
        if self.builtin:
            return f"built-in ({self.name})"
        if self.url:
            return self.url
        return " ".join([_quote(self.command or ""), *(_quote(a) for a in self.args)])


@dataclass
class McpFile:
    """The parsed file; `raw` keeps everything as written so saving loses nothing."""

    path: Path
    raw: dict[str, Any]
    servers: dict[str, ServerConfig]
    builtins: dict[str, ServerConfig]
    approvals: dict[str, Policy]  # "server:tool" glob -> policy
    problems: dict[str, ConfigError] = field(default_factory=dict)  # server skipped -> why
    trusted_tools: list[str] = field(default_factory=list)  # "server:tool" globs never gated
    trusted_hosts: list[str] = field(default_factory=list)  # fetch may reach them after all

    def save(self) -> None:
        """Write `raw` back atomically (temp file, fsync, rename); 0600, it may hold secrets."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.raw, indent=2, ensure_ascii=False) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".mcp.", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def server_entries(self) -> dict[str, Any]:
        return cast("dict[str, Any]", self.raw.setdefault("mcpServers", {}))


def load_mcp_file(path: Path, builtin_names: frozenset[str] = frozenset()) -> McpFile:
    """Read and check `mcp.json`; a missing file is an empty one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return McpFile(path, {}, {}, {}, {})
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not a file", hint="remove it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        raw = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            hint="fix the file, or move it away to start again",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f'{path} must hold a JSON object like {{"mcpServers": {{...}}}}')
    where = f"in {path}"
    servers: dict[str, ServerConfig] = {}
    problems: dict[str, ConfigError] = {}
    for name, entry in _object(raw.get("mcpServers", {}), "mcpServers", where).items():
        try:  # one bad entry skips that server, not the others
            if name in builtin_names:
                raise ConfigError(
                    f"mcpServers.{name} {where}: {name!r} is the name of a built-in server",
                    hint=f"rename it (e.g. {name}-mcp); the built-in one is configured "
                    "under builtins",
                )
            servers[name] = parse_server(name, entry, where)
        except ConfigError as exc:
            problems[name] = exc
    builtins = {}
    for name, entry in _object(raw.get("builtins", {}), "builtins", where).items():
        if builtin_names and name not in builtin_names:
            raise ConfigError(
                f"builtins.{name} {where}: there is no built-in server of that name",
                hint=f"built-in servers: {', '.join(sorted(builtin_names))}",
            )
        builtins[name] = parse_builtin(name, entry, where)
    approvals = {
        pattern: _policy(value, f"approvals.{pattern}", where)
        for pattern, value in _object(raw.get("approvals", {}), "approvals", where).items()
    }
    trusted = _object(raw.get("trusted", {}), "trusted", where)
    unknown = sorted(set(trusted) - set(TRUST_KINDS))
    if unknown:
        raise ConfigError(
            f"trusted.{unknown[0]} {where}: not a kind of trust",
            hint='"trusted" holds "tools" (server:tool globs) and "hosts"',
        )
    return McpFile(
        path,
        raw,
        servers,
        builtins,
        approvals,
        problems,
        _texts(trusted.get("tools", []), "trusted.tools", where),
        _texts(trusted.get("hosts", []), "trusted.hosts", where),
    )


def parse_server(name: str, entry: Any, where: str) -> ServerConfig:
    """Check one `mcpServers` entry, naming the key and what it allows on a bad value."""
    _check_name(name, where)
    key = f"mcpServers.{name}"
    entry = _object(entry, key, where)
    for k in entry:
        if k not in SERVER_KEYS and k not in FOREIGN_KEYS:
            raise ConfigError(
                f"{key}.{k} {where}: unknown key",
                hint="allowed: " + ", ".join(sorted(SERVER_KEYS)),
            )
    kind = entry.get("type", entry.get("transportType"))
    if kind is not None and (not isinstance(kind, str) or kind not in _TRANSPORTS):
        raise ConfigError(
            f"{key}.type {where}: {kind!r} is not supported",
            hint="Rung speaks stdio (command) and streamable HTTP (url); SSE-only servers "
            "need a newer server version",
        )
    command, url = entry.get("command"), entry.get("url")
    if (command is None) == (url is None):
        raise ConfigError(
            f"{key} {where}: give either 'command' (a stdio server) or 'url' (an HTTP server)"
        )
    if kind is not None and (kind == "stdio") != (command is not None):
        raise ConfigError(
            f"{key}.type {where}: {kind!r} does not fit "
            + ("'command' (a stdio server)" if command is not None else "'url' (an HTTP server)"),
            hint="drop 'type', or make it match",
        )
    if command is not None:
        _text(command, f"{key}.command", where, nonempty=True)
    if url is not None and not re.match(r"(https?://|\$\{)", _text(url, f"{key}.url", where)):
        raise ConfigError(f"{key}.url {where}: {url!r} is not an http(s) URL")
    common = _rung_keys(entry, key, where)
    if entry.get("disabled") is True:
        common["enabled"] = False
    return ServerConfig(
        name=name,
        command=command,
        args=tuple(_texts(entry.get("args", []), f"{key}.args", where)),
        env=_text_map(entry.get("env", {}), f"{key}.env", where),
        cwd=_text(entry["cwd"], f"{key}.cwd", where) if entry.get("cwd") is not None else None,
        url=url,
        headers=_text_map(entry.get("headers", {}), f"{key}.headers", where),
        **common,
    )


def parse_builtin(name: str, entry: Any, where: str) -> ServerConfig:
    key = f"builtins.{name}"
    entry = _object(entry, key, where)
    common = _rung_keys(entry, key, where)
    ours = {"enabled", "tools", "startup_timeout", "call_timeout", "approval"}
    options = {k: v for k, v in entry.items() if k not in ours}
    return ServerConfig(name=name, builtin=True, options=options, **common)


def expand(text: str, environ: Mapping[str, str], what: str) -> str:
    """`${VAR}` and `${VAR:-default}`; an unset variable without a default is an error."""

    def one(match: re.Match[str]) -> str:
        var, default = match.group(1), match.group(2)
        if var in environ and (environ[var] or default is None):
            return environ[var]
        if default is not None:
            return default
        raise ConfigError(
            f"{what} uses ${{{var}}}, but {var} is not set",
            hint=f"export {var}=… before starting Rung, or write ${{{var}:-default}}",
        )

    return _VAR.sub(one, text)


def variables(text: str) -> list[tuple[str, str | None]]:
    """The `${VAR}` and `${VAR:-default}` in a text, as (VAR, default or None), once each."""
    found: dict[tuple[str, str | None], None] = {
        (match.group(1), match.group(2)): None for match in _VAR.finditer(text)
    }
    return list(found)


TRUST_KINDS = ("tools", "hosts")


def set_trust(file: McpFile, kind: str, value: str, *, on: bool = True) -> bool:
    """Trust (or no longer) a tool glob or a host; whether anything changed."""
    listed = file.trusted_tools if kind == "tools" else file.trusted_hosts
    if (value in listed) == on:
        return False
    if on:
        listed.append(value)
    else:
        listed.remove(value)
    trusted = file.raw.setdefault("trusted", {})
    trusted[kind] = list(listed)
    if not trusted[kind]:
        del trusted[kind]
    if not trusted:
        del file.raw["trusted"]
    return True


def set_policy(file: McpFile, pattern: str, policy: Policy) -> list[str]:
    """Set the rule for `pattern` ("server:tool" or "server:*"); a rule for a whole server
    drops that server's narrower rules first (they would still win). The rules dropped."""
    dropped: list[str] = []
    if pattern.endswith(":*"):
        dropped = drop_rules(file, pattern[:-1])
    set_approval(file, pattern, policy)
    return dropped


def drop_rules(file: McpFile, prefix: str) -> list[str]:
    """Forget the approval rules that start with `prefix` ("NAME:"); those dropped."""
    rules = file.raw.get("approvals", {})
    dropped = [p for p in rules if p.startswith(prefix)]
    for pattern in dropped:
        del rules[pattern]
        file.approvals.pop(pattern, None)
    return dropped


def set_approval(file: McpFile, pattern: str, policy: Policy) -> None:
    file.raw.setdefault("approvals", {})[pattern] = policy
    file.approvals[pattern] = policy


def _rung_keys(entry: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    tools = _object(entry.get("tools", {}), f"{key}.tools", where)
    for k in tools:
        if k not in ("include", "exclude"):
            raise ConfigError(
                f"{key}.tools.{k} {where}: unknown key", hint="allowed: include, exclude"
            )
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{key}.enabled {where}: {enabled!r} is not true or false")
    approval = entry.get("approval", {})
    if isinstance(approval, str):
        approval = {"*": approval}
    return {
        "enabled": enabled,
        "include": tuple(_texts(tools.get("include", []), f"{key}.tools.include", where)),
        "exclude": tuple(_texts(tools.get("exclude", []), f"{key}.tools.exclude", where)),
        "startup_timeout": _seconds(entry, "startup_timeout", DEFAULT_STARTUP_TIMEOUT, key, where),
        "call_timeout": _seconds(entry, "call_timeout", DEFAULT_CALL_TIMEOUT, key, where),
        "approval": {
            glob: _policy(p, f"{key}.approval.{glob}", where)
            for glob, p in _object(approval, f"{key}.approval", where).items()
        },
    }


def _check_name(name: str, where: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
        raise ConfigError(
            f"server name {name!r} {where} is not usable",
            hint="use letters, digits, '_', '-' or '.', starting with a letter or digit",
        )


def _seconds(entry: Mapping[str, Any], name: str, default: float, key: str, where: str) -> float:
    value = entry.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"{key}.{name} {where}: {value!r} is not a number of seconds > 0")
    return float(value)


def _policy(value: Any, key: str, where: str) -> Policy:
    if value not in POLICIES:
        raise ConfigError(
            f"{key} {where}: {value!r} is not a policy", hint="allowed: allow | ask | deny"
        )
    return cast("Policy", value)


def _object(value: Any, key: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} {where} must be a JSON object, not {type(value).__name__}")
    return value


def _text(value: Any, key: str, where: str, *, nonempty: bool = False) -> str:
    if not isinstance(value, str) or (nonempty and not value.strip()):
        raise ConfigError(
            f"{key} {where}: {value!r} is not a{' non-empty' if nonempty else ''} text"
        )
    return value


def _texts(value: Any, key: str, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} {where} must be a list of texts, not {value!r}")
    return value


def _text_map(value: Any, key: str, where: str) -> dict[str, str]:
    value = _object(value, key, where)
    for k, v in value.items():
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            raise ConfigError(f"{key}.{k} {where}: {v!r} is not a text")
    return {k: str(v) for k, v in value.items()}


def _quote(word: str) -> str:
    return shlex.quote(word)
