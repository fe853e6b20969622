"""The one error hierarchy of Rung.

It lives in the lowest layer so that every package can raise its own kind. Each error
carries a message (what failed) and a hint (what to do); the CLI prints both on one line
each and shows a traceback only with ``--debug``.
"""

from __future__ import annotations


class RungError(Exception):
    """Base of every error Rung raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UserError(RungError):
    """The user asked for something that cannot be done as asked (bad flag, empty input)."""

    exit_code = 2


class ConfigError(UserError):
    """A setting has a bad value, or the config file cannot be read."""


class InputTooLarge(UserError):
    """A message does not fit into the model's context window."""


class ModelError(RungError):
    """Something went wrong talking to the model server."""


class ModelUnavailable(ModelError):
    """The model server cannot be reached (not running, wrong host)."""


class ModelNotFound(ModelError):
    """The model is not pulled on the server."""

    def __init__(self, message: str, *, model: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.model = model


class ToolsUnsupported(ModelError):
    """The model cannot call tools, but the tier offers it tools."""


class ModelTimeout(ModelError):
    """The model server did not answer within the configured timeout."""


class ModelResponseError(ModelError):
    """The model server answered with an error or broke off mid-reply."""


class ToolError(RungError):
    """A tool failed."""


class ToolFailed(ToolError):
    """A tool ran and said it failed, in its own words (untrusted text, like its results)."""


class TurnTimeout(RungError):
    """A turn ran past `turn_timeout` and was stopped."""


class ToolTimeout(ToolError):
    """A tool call ran past its timeout."""


class ApprovalDenied(ToolError):
    """A tool call was not approved."""


class SessionError(RungError):
    """A session cannot be found, read or written."""


class DaemonError(RungError):
    """The background daemon cannot be started, reached or stopped as asked."""


class DaemonNotRunning(DaemonError):
    """No daemon answers on the socket."""

    exit_code = 3  # as `systemctl status` says of a unit that is not running


class DaemonRunning(DaemonError):
    """A daemon already runs for this user (it holds the lock)."""

    def __init__(self, pid: int | None) -> None:
        which = f"pid {pid}" if pid else "its pid not written yet"
        super().__init__(
            f"a rung daemon already runs ({which})",
            hint="`rung daemon status` shows it, `rung daemon stop` stops it",
        )
        self.pid = pid
