"""Where Rung keeps its files, by the XDG base-directory convention (via platformdirs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP = "rung"
PINS_FILE = "pins.json"  # beside mcp.json: the definitions of its servers' tools, as trusted


@dataclass(frozen=True)
class Paths:
    config_dir: Path  # config.toml, mcp.json, pins.json, persona.md, profile.md
    data_dir: Path  # sessions, memory
    state_dir: Path  # logs, the audit log, input history

    @property
    def runtime_dir(self) -> Path:
        """Socket and lock; under $XDG_RUNTIME_DIR when it is set."""
        import warnings

        import platformdirs

        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime:
            return Path(runtime) / APP
        with warnings.catch_warnings():  # unset is known here: its fallback, without a warning
            warnings.simplefilter("ignore")  # on every command (platformdirs 4.14 warns)
            return Path(platformdirs.user_runtime_dir(APP, appauthor=False))

    @property
    def daemon_socket(self) -> Path:
        """The daemon's local API: HTTP over this unix socket (0600, in a 0700 folder)."""
        return self.runtime_dir / "daemon.sock"

    @property
    def daemon_token(self) -> Path:
        """The random token every request to the daemon carries; a new one at each start."""
        return self.runtime_dir / "token"

    @property
    def daemon_lock(self) -> Path:
        """Held (flock) by the one running daemon, with its pid inside."""
        return self.runtime_dir / "daemon.lock"

    @property
    def daemon_log(self) -> Path:
        """What a daemon started by `rung daemon start` writes (`rung daemon logs`)."""
        return self.state_dir / "logs" / "daemon.log"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def mcp_file(self) -> Path:
        return self.config_dir / "mcp.json"

    @property
    def pins_file(self) -> Path:
        """Each MCP server's tools as the user trusted them (rung tools diff|approve)."""
        return self.config_dir / PINS_FILE

    @property
    def persona_file(self) -> Path:
        """Who the assistant is, its tone, its rules (every tier); Markdown the user edits."""
        return self.config_dir / "persona.md"

    @property
    def profile_file(self) -> Path:
        """Who the user is (the assistant tier); Markdown the user edits."""
        return self.config_dir / "profile.md"

    @property
    def heartbeat_file(self) -> Path:
        """What the daemon's heartbeat keeps an eye on; Markdown the user edits."""
        return self.config_dir / "heartbeat.md"

    @property
    def server_logs(self) -> Path:
        """One log file per MCP server: its stderr, never the chat screen."""
        return self.state_dir / "logs" / "mcp"

    @property
    def audit_log(self) -> Path:
        """Every tool call Rung made, one JSON line each (`rung audit`)."""
        return self.state_dir / "audit.jsonl"

    @property
    def memory_dir(self) -> Path:
        """Chroma's vectors (chroma/) and the chunk index (index.sqlite3)."""
        return self.data_dir / "memory"

    @property
    def sessions_db(self) -> Path:
        return self.data_dir / "sessions.sqlite3"

    @property
    def jobs_db(self) -> Path:
        """The jobs, their runs (one per occurrence) and the inbox."""
        return self.data_dir / "jobs.sqlite3"

    @property
    def chat_history(self) -> Path:
        return self.state_dir / "chat_history"

    @classmethod
    def default(cls) -> Paths:
        import platformdirs

        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP, appauthor=False)),
            state_dir=Path(platformdirs.user_state_dir(APP, appauthor=False)),
        )
