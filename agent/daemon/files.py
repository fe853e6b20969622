"""The daemon's files in the runtime dir: the private folder itself and the token file.

Standard library only: the client reads the token through this module, and `rung daemon
status` must not pay for the server's imports."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from rung.config.errors import DaemonError, DaemonNotRunning

# sun_path holds 108 bytes on Linux (104 on macOS), its terminating NUL included
MAX_SOCKET_PATH = 103


def private_dir(path: Path) -> Path:
    """`path` as a folder that only this user can enter (0700): created if missing, its mode
    narrowed if wider; refused when it is a link or belongs to someone else."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise DaemonError(
            f"{path} is not a folder", hint="remove it, or point XDG_RUNTIME_DIR elsewhere"
        )
    if info.st_uid != os.getuid():
        raise DaemonError(
            f"{path} belongs to another user (uid {info.st_uid})",
            hint="point XDG_RUNTIME_DIR at a folder of your own",
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def check_socket_path(path: Path) -> None:
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise DaemonError(
            f"the socket path {path} is too long for a unix socket "
            f"({len(os.fsencode(path))} bytes, at most {MAX_SOCKET_PATH})",
            hint="set XDG_RUNTIME_DIR to a shorter folder",
        )


def write_token(path: Path) -> str:
    """A new random token, written to `path` (0600) in one step: a reader sees the old
    file or the new one, never half of it."""
    token = secrets.token_urlsafe(32)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, token.encode("ascii"))
    finally:
        os.close(fd)
    os.replace(temporary, path)
    return token


def read_token(path: Path) -> str:
    try:
        token = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise DaemonNotRunning(
            "the daemon is not running (no token file)", hint="`rung daemon start` starts it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DaemonError(
            f"cannot read the daemon's token {path}: {getattr(exc, 'strerror', None) or exc}",
            hint="`rung daemon stop` then `rung daemon start` writes a new one",
        ) from None
    if not token:
        raise DaemonError(
            f"the daemon's token file {path} is empty",
            hint="`rung daemon stop` then `rung daemon start` writes a new one",
        )
    return token
