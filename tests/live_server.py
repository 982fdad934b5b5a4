"""A real uvicorn server on a loopback port, in a thread, for tests that need real
sockets (browsers, websocket clients, the headless kiosk); and a real `movecoach serve`
process, for tests of the command and of an installation."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["ServerProcess", "free_port", "movecoach_command", "serve_in_thread"]

START_TIMEOUT_S = 120.0
PROCESS_START_TIMEOUT_S = 180.0  # model load and kernel warm-up on 2 busy cores


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: Any, port: int = 0, *, ws_max_size: int | None = None, **options: Any
) -> Iterator[int]:
    """Serve `app` on 127.0.0.1:`port` (0: any free port) until the block ends;
    yields the port. Fails the test when the server does not start. `options` go
    to `uvicorn.Config`."""
    extra = dict(options)
    if ws_max_size is not None:
        extra["ws_max_size"] = ws_max_size
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **extra)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        assert thread.is_alive(), "the server failed to start"
        assert time.monotonic() < deadline, (
            f"the server did not start in {START_TIMEOUT_S:.0f} s"
        )
        time.sleep(0.02)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(15)


def movecoach_command(python: str | Path | None = None) -> list[str]:
    """The `movecoach` entry point next to `python` (default this interpreter), else
    the one on PATH, else `python -m server.cli`."""
    interpreter = Path(python or sys.executable)
    exe = interpreter.with_name("movecoach")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("movecoach") if python is None else None
    return [found] if found else [str(interpreter), "-m", "server.cli"]


class ServerProcess:
    """`movecoach serve ARGS --host 127.0.0.1 --port PORT` in its own process (its
    own process group), its output appended to `log`.

    Args:
        args: Options after `serve` (no --host/--port).
        port: Loopback port to serve on.
        log: File the server's stdout and stderr go to.
        command: The `movecoach` command (default `movecoach_command()`).
        cwd: Working directory (default the current one).
        env: Environment (default this process's), PYTHONUNBUFFERED set.
        tls_context: Client context for https:// (the server has --ssl-*); None: http.
        argv: The whole command line instead (e.g. `make run`, which must then serve
            on `port`); `args` and `command` are ignored.
    """

    def __init__(
        self,
        args: Sequence[str],
        port: int,
        log: Path,
        *,
        command: Sequence[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        argv: Sequence[str] | None = None,
    ) -> None:
        self.port = port
        self.log = log
        self.tls_context = tls_context
        scheme = "https" if tls_context is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{port}"
        environ = dict(os.environ if env is None else env)
        environ["PYTHONUNBUFFERED"] = "1"
        self._out = log.open("ab")
        serve = [*(command or movecoach_command()), "serve", *args]
        self.proc = subprocess.Popen(
            argv or [*serve, "--host", "127.0.0.1", "--port", str(port)],
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def health(self) -> dict[str, Any] | None:
        """GET /health's body, or None while nothing answers."""
        try:
            with urllib.request.urlopen(
                f"{self.url}/health", timeout=2, context=self.tls_context
            ) as response:
                return json.loads(response.read())  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:  # 503 while loading: still a body
            return json.loads(exc.read())  # type: ignore[no-any-return]
        except OSError:
            return None

    def wait_ready(self, timeout_s: float = PROCESS_START_TIMEOUT_S) -> dict[str, Any]:
        """Wait until /health says ready; returns its body. Fails with the log when
        the process exits or the time is up."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"server exited ({self.proc.returncode}):\n{self.log.read_text()}"
                )
            body = self.health()
            if body is not None and body.get("ready"):
                return body
            time.sleep(0.25)
        raise AssertionError(
            f"server not ready in {timeout_s:.0f} s:\n{self.log.read_text()}"
        )

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM to the process group (graceful shutdown), SIGKILL to what is left
        after 15 s; closes the log."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _group_alive(self.proc.pid) and time.monotonic() < deadline:
            self.proc.poll()  # reap the leader, or the group never empties
            time.sleep(0.1)
        if _group_alive(self.proc.pid):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        self._out.close()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a zombie leader's group: still there
        return True
    return True
