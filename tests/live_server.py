"""A real uvicorn server on a loopback port, in a thread, for tests that need real
sockets (browsers, websocket clients, the headless kiosk)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["free_port", "serve_in_thread"]

START_TIMEOUT_S = 120.0


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(
    app: Any, port: int = 0, *, ws_max_size: int | None = None
) -> Iterator[int]:
    """Serve `app` on 127.0.0.1:`port` (0: any free port) until the block ends;
    yields the port. Fails the test when the server does not start."""
    extra = {} if ws_max_size is None else {"ws_max_size": ws_max_size}
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
