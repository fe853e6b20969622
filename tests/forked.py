"""`rung` processes forked from a warm parent: real processes of the real command, minus
the seconds each would spend importing torch and sentence-transformers.

A test that starts `rung` to kill it, or a daemon to talk to over its socket, is testing
what the process does, not how Python starts it; yet every such process that embeds pays
~5 s of imports on a 2-core machine. The parent here (`python -m tests.forked FD`) imports
what `rung` imports, once per test worker and before any thread or model exists, then
forks a child for each process asked for. The child takes the stdin, stdout and stderr it
is sent, the environment and working directory, and runs `python -m rung.agent.cli ARGS`
in the same way (`runpy`): its `SystemExit` ends the interpreter as a fresh one ends, with
atexit handlers and threads joined, and its exit status or signal is reported back.

What a fork does not give, a test must not ask of it: a fresh interpreter's start (its
imports, `PYTHONPATH`), a hash seed of its own. Those tests start `python -m rung.agent.cli`
(`Processes.start` without `warm`)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import runpy
import select
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

PRELOAD = (
    "rung.agent.cli.main",
    "rung.agent.cli.daemon_command",
    "rung.agent.daemon.server",
    "rung.agent.daemon.api",
    "rung.memory.service",
    "sentence_transformers",
    "chromadb",
    "mcp",
    "uvicorn",
    "ollama",
)


# --- the parent: `python -m tests.forked FD` ------------------------------------------------


def serve(channel: socket.socket) -> None:
    """Fork a child for each request on `channel`; report each child's end on it."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        ready, _, _ = select.select([channel, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 512)
            _reap(channel)
        if channel in ready:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 3)
            if not message:
                return  # the test worker went away
            pid = os.fork()
            if pid == 0:
                os.close(wake_r)
                os.close(wake_w)
                _child(channel, json.loads(message), fds)  # never returns: exits as rung exits
            for fd in fds:
                os.close(fd)
            channel.send(json.dumps({"pid": pid}).encode())


def _reap(channel: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        channel.send(
            json.dumps({"exited": pid, "code": os.waitstatus_to_exitcode(status)}).encode()
        )


def _child(channel: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    channel.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = ["rung", *request["args"]]
    runpy.run_module("rung.agent.cli", run_name="__main__", alter_sys=True)
    sys.exit(0)


def main() -> None:
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    assert threading.active_count() == 1, "a preloaded module started a thread: fork is unsafe"
    serve(socket.socket(fileno=int(sys.argv[1])))


# --- the test worker's side ----------------------------------------------------------------


class WarmParent:
    """The worker's forking parent, started at the first process asked of it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env  # the parent's own (its imports'): not any test's
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: socket.socket | None = None
        self._lock = threading.Lock()
        self._pids: queue.Queue[int] = queue.Queue()
        self._ended: dict[int, int] = {}
        self._changed = threading.Condition()

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.forked", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=self.env,
            )
        threading.Thread(target=self._listen, args=(ours,), daemon=True).start()
        return ours

    def _listen(self, channel: socket.socket) -> None:
        while message := channel.recv(1 << 16):
            said = json.loads(message)
            if "pid" in said:
                self._pids.put(said["pid"])
            else:
                with self._changed:
                    self._ended[said["exited"]] = said["code"]
                    self._changed.notify_all()
        with self._changed:
            self._ended[-1] = 0  # the parent is gone: nothing more will end
            self._changed.notify_all()

    def start(self, args: Sequence[str], env: dict[str, str], cwd: str, fds: list[int]) -> int:
        with self._lock:
            if self._channel is None:
                self._channel = self._start()
            request = json.dumps({"args": list(args), "env": env, "cwd": cwd}).encode()
            socket.send_fds(self._channel, [request], fds)
            try:
                return self._pids.get(timeout=60)
            except queue.Empty:
                raise AssertionError("the warm parent did not fork (see its stderr)") from None

    def returncode(self, pid: int, timeout: float | None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._ended or -1 in self._ended, timeout)
            return self._ended.get(pid)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.shutdown(socket.SHUT_RDWR)  # the parent reads its end: it exits
            self._channel.close()
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class Forked:
    """A forked `rung`, as much of `subprocess.Popen` as the tests use."""

    def __init__(
        self,
        parent: WarmParent,
        args: Sequence[str],
        env: dict[str, str],
        *,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        cwd: str | None = None,
    ) -> None:
        self.args = list(args)
        self._parent = parent
        self.returncode: int | None = None
        theirs: list[int] = []
        ours: list[IO[bytes] | None] = []
        for n, how in enumerate((stdin, stdout, stderr)):
            if how == subprocess.PIPE:
                read, write = os.pipe()
                mine, child = (write, read) if n == 0 else (read, write)
                ours.append(os.fdopen(mine, "wb" if n == 0 else "rb"))
                theirs.append(child)
            else:
                ours.append(None)
                if how is None or how == subprocess.DEVNULL:
                    theirs.append(os.open(os.devnull, os.O_RDWR))
                else:  # a descriptor, or a file
                    theirs.append(os.dup(how if isinstance(how, int) else how.fileno()))
        self.stdin, self.stdout, self.stderr = ours
        try:
            self.pid = parent.start(args, env, cwd or os.getcwd(), theirs)
        finally:
            for fd in theirs:
                os.close(fd)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._parent.returncode(self.pid, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = self._parent.returncode(self.pid, timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def communicate(self, timeout: float | None = None) -> tuple[bytes | None, bytes | None]:
        """Both outputs read to their end, and the exit waited for."""
        if self.stdin is not None:
            self.stdin.close()
        read: dict[str, bytes] = {}
        readers = [
            threading.Thread(target=lambda k=k, s=s: read.__setitem__(k, s.read()), daemon=True)
            for k, s in (("out", self.stdout), ("err", self.stderr))
            if s is not None
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout)
        self.wait(timeout)
        return read.get("out"), read.get("err")


if __name__ == "__main__":
    main()
