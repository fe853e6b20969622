"""Tool pinning, a guard against a rug pull: a server that changes a tool once it is trusted.

What the model reads about a tool, its description and its schema, is text the server
wrote; an instruction hidden there reaches the model on every turn. So the first time Rung
lists a server's tools (trust on first use) it pins each one: a sha256 digest of a canonical
JSON of its name, description, input schema and read-only flag, kept with the definition
itself so that a change can be shown. The read-only flag (MCP's readOnlyHint) is the one
annotation Rung acts on: it lifts the untrusted-content gate, so a tool that starts to call
itself read-only has changed as much as one with a new description. The other annotations
(title, destructiveHint, …) are neither shown to the model nor used, and are left out.

When the server later lists a tool whose digest differs, or a tool it did not have when it
was pinned (a rug pull can add one), that tool is blocked until the user has seen the
change (`rung tools diff SERVER`) and approved it (`rung tools approve SERVER [TOOL]`). A
tool that went away keeps its pin, so one that comes back changed is blocked too. The
built-in servers are Rung's own code and change only with Rung: they are not pinned.

The pins live in `pins.json` beside `mcp.json`: trust decisions, like its `approvals` and
`trusted`, that clearing logs or caches must not undo. The file is written atomically
(a temporary file, fsync, rename; 0600) under a lock, so two Rung processes pinning at once
lose nothing, and one that cannot be read is never written over.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from rung.config.errors import ConfigError
from rung.tools.mcp_client import RemoteTool

T = TypeVar("T")
Change = Literal["changed", "new"]
Pins = dict[str, dict[str, dict[str, Any]]]  # server -> tool -> pin
VERSION = 1


class PinsUnreadable(ConfigError):
    """The pins file is there but cannot be read (or written): nothing is written over it."""


def definition(tool: RemoteTool) -> dict[str, Any]:
    """What a pin covers: what the model is told of the tool, and its read-only flag."""
    return {
        "name": tool.name,
        "description": tool.description,
        "input_schema": tool.parameters,
        "read_only": tool.read_only,
    }


def digest(defined: Mapping[str, Any]) -> str:
    """sha256 over canonical JSON (sorted keys, no spaces, ASCII) of a definition."""
    canonical = json.dumps(defined, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(canonical.encode("ascii")).hexdigest()


def compare(
    pinned: Mapping[str, Mapping[str, Any]], tools: Sequence[RemoteTool]
) -> dict[str, Change]:
    """The tools that differ from their pins ("changed") or have none ("new")."""
    return {
        tool.name: "changed" if tool.name in pinned else "new"
        for tool in tools
        if pinned.get(tool.name, {}).get("digest") != digest(definition(tool))
    }


class PinStore:
    """`pins.json`: `{"version": 1, "servers": {SERVER: {TOOL: pin}}}`, where a pin is the
    digest, when it was pinned, and the definition (description, input_schema, read_only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = path.with_name(f".{path.name}.lock")

    def read(self) -> Pins:
        """Every server's pins; a missing file is none. `PinsUnreadable` says why not."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except UnicodeDecodeError:
            raise self._unreadable("it is not UTF-8 text") from None
        except OSError as exc:
            raise self._unreadable(exc.strerror or str(exc)) from None
        try:
            raw = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise self._unreadable(f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
        if isinstance(raw, dict) and isinstance(raw.get("version", VERSION), int):
            if raw.get("version", VERSION) > VERSION:
                raise self._unreadable("it was written by a newer Rung")
            servers = raw.get("servers", {})
            if isinstance(servers, dict) and all(_pins_of_a_server(s) for s in servers.values()):
                return servers
        raise self._unreadable('not a pins file ({"servers": {SERVER: {TOOL: pin}}})')

    def stamp(self) -> tuple[int, int, int] | None:
        """Changes whenever the file does (to notice an approval made by another process)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def changes(self, server: str, tools: Sequence[RemoteTool]) -> dict[str, Change] | None:
        """How `tools` differ from the server's pins; None if it has none yet. Writes nothing."""
        pinned = self.read().get(server)
        return None if pinned is None else compare(pinned, tools)

    def check(self, server: str, tools: Sequence[RemoteTool]) -> dict[str, Change]:
        """The tools to block; a server seen for the first time gets its tools pinned."""
        found = self.changes(server, tools)
        if found is not None:
            return found

        def first_use(pins: Pins) -> dict[str, Change]:
            if server in pins:  # another Rung process pinned it meanwhile
                return compare(pins[server], tools)
            pins[server] = _pinned(tools)
            return {}

        return self._update(first_use)

    def approve(self, server: str, tools: Sequence[RemoteTool]) -> None:
        """Pin these tools of the server as they are now (the others keep their pins)."""
        self._update(lambda pins: pins.setdefault(server, {}).update(_pinned(tools)))

    def forget(self, server: str) -> bool:
        """Drop a server's pins (it was removed or replaced); whether it had any."""
        if server not in self.read():
            return False
        return self._update(lambda pins: pins.pop(server, None) is not None)

    def _update(self, change: Callable[[Pins], T]) -> T:
        """Read, change and write the pins under the lock, so concurrent changes all land."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(self._lock):
                pins = self.read()
                result = change(pins)
                self._write(pins)
        except OSError as exc:
            raise PinsUnreadable(
                f"cannot write the tool pins {self.path}: {exc.strerror or exc}",
                hint="check that folder and its permissions",
            ) from None
        return result

    def _write(self, pins: Pins) -> None:
        text = json.dumps({"version": VERSION, "servers": pins}, indent=2, ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=".pins.", suffix=".json", dir=self.path.parent)  # 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _unreadable(self, why: str) -> PinsUnreadable:
        return PinsUnreadable(
            f"cannot read the tool pins {self.path} ({why})",
            hint="fix that file, or move it away: the tools are then pinned afresh",
        )


def _pinned(tools: Sequence[RemoteTool]) -> dict[str, dict[str, Any]]:
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    pins = {}
    for tool in tools:
        defined = definition(tool)
        pins[tool.name] = {"digest": digest(defined), "pinned": now} | {
            k: v for k, v in defined.items() if k != "name"
        }
    return pins


def _pins_of_a_server(tools: Any) -> bool:
    return isinstance(tools, dict) and all(
        isinstance(pin, dict) and isinstance(pin.get("digest"), str) for pin in tools.values()
    )


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


# -- what the user is shown ------------------------------------------------------------


def diff(name: str, pin: Mapping[str, Any] | None, now: RemoteTool) -> list[str]:
    """A unified diff of a tool's pinned definition against what the server offers now:
    the description, the input schema as indented JSON, the read-only flag."""
    before = _lines(pin) if pin is not None else []
    when = f"pinned {pin.get('pinned', '')}".strip() if pin is not None else "not pinned"
    return list(
        difflib.unified_diff(
            before, _lines(definition(now)), f"{name} ({when})", f"{name} (now)", lineterm=""
        )
    )


def _lines(defined: Mapping[str, Any]) -> list[str]:
    schema = json.dumps(defined.get("input_schema"), indent=2, sort_keys=True, ensure_ascii=False)
    description = str(defined.get("description", "")).splitlines() or [""]
    return [
        "description:",
        *(f"  {visible(line)}" for line in description),
        "input schema:",
        *(f"  {visible(line)}" for line in schema.splitlines()),
        f"read-only (readOnlyHint): {'yes' if defined.get('read_only') else 'no'}",
    ]


def visible(text: str) -> str:
    """`text` with control, invisible and direction-changing characters written as escapes,
    so that nothing in a description can hide from the person reviewing it."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def blocked_line(server: str, blocked: Mapping[str, str], problem: str = "") -> str:
    """One line for the user: which tools of `server` are blocked, why, and what to run."""
    if problem:
        return f"tool server {server}: its tools are not offered: {problem}"
    changed = [t for t, why in blocked.items() if why == "changed"]
    new = [t for t, why in blocked.items() if why != "changed"]
    parts = []
    if changed:
        were = "it was" if len(changed) == 1 else "they were"
        parts.append(f"{', '.join(changed)} changed since {were} pinned")
    if new:
        parts.append(f"{', '.join(new)} {'is' if len(new) == 1 else 'are'} new")
    return (
        f"tool server {server}: {' and '.join(parts)}; not offered to the model until you "
        f"review and approve: rung tools diff {server}"
    )


def blocked_message(server: str, tool: str) -> str:
    """What the model is told when it calls a blocked tool."""
    return (
        f"the call to {tool} (server {server}) did not run: its definition is not the one the "
        "user approved (it changed, or the tool is new), and it stays off until the user has "
        "reviewed it. Answer without it."
    )
