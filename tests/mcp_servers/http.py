"""The toolbox test server over streamable HTTP on 127.0.0.1, as a real process.

    with HttpToolbox(log_dir) as box:
        ServerConfig("web", url=box.url)

It starts `python -m tests.mcp_servers.toolbox --http PORT` on a free port, waits (with a
deadline, polling) until the port accepts connections, and stops the process on exit.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]  # the repository root: `tests` imports from here


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class HttpToolbox:
    """The toolbox server over HTTP; `url` is its MCP endpoint, `log` its stderr."""

    def __init__(self, log_dir: Path, *args: str, start_timeout: float = 20.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.log = log_dir / f"http-toolbox-{self.port}.log"
        self.args = args
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as err:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    *("-m", "tests.mcp_servers.toolbox", "--http", str(self.port)),
                    *self.args,
                ],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + self.start_timeout
        while not self._accepts():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the HTTP toolbox exited with {self.process.returncode}: {self._tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the HTTP toolbox did not listen on {self.port} within "
                    f"{self.start_timeout:g} s: {self._tail()}"
                )
            time.sleep(0.02)  # a poll interval under a deadline, not a wait for something

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> HttpToolbox:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
