"""Operations (server/operations.py): health and readiness per component, JSON-lines
logs, and graceful shutdown of a real uvicorn server: kiosks are told to reconnect
(1012), sessions end as `shutdown`, the recorder is flushed and closed last; with the
resume hook, a kiosk streaming through a restart keeps its session and every rep."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.operations import (
    JsonLinesFormatter,
    build_app,
    configure_logging,
    graceful_server,
)
from server.recording import CountingRecorder
from server.schemas import OpenMessage, encode_frame
from server.settings import Settings
from tests.live_server import free_port
from tests.server.conftest import ScriptedBackend, jpeg_bytes

HAS_RESUME = "resume" in OpenMessage.model_fields  # the ws.py/schemas.py hooks landed


# --- health ---------------------------------------------------------------------------


def test_health_live_ready_and_inference() -> None:
    app = build_app(Settings(), backend_factory=ScriptedBackend)
    with TestClient(app) as client:
        assert (
            client.get("/health/live").status_code,
            client.get("/health/live").json(),
        ) == (
            200,
            {"live": True},
        )
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        inference = client.get("/health/inference")
        assert inference.status_code == 200
        assert inference.json() == {
            "backend": "scripted",
            "loaded": True,
            "running": True,
            "degraded": None,
            "ready": True,
            "group": {"state": "not_started", "backend": None, "error": None},
        }
        app.state.runtime.stopping = True  # what a shutdown sets first
        assert client.get("/health/ready").status_code == 503
        assert client.get("/health/live").status_code == 200


@pytest.mark.parametrize("freeze", [False, True])
def test_start_up_objects_are_frozen_out_of_the_collector_only_when_asked(
    freeze: bool,
) -> None:
    """`movecoach serve` asks (one app a process): what start-up loaded leaves the
    garbage collector's full passes; an app built in a test process leaves it be."""
    import gc

    gc.unfreeze()
    try:
        app = build_app(
            Settings(), backend_factory=ScriptedBackend, freeze_start_up=freeze
        )
        with TestClient(app) as client:
            assert client.get("/health/ready").status_code == 200
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()
    assert (frozen > 10_000) is freeze, frozen


def test_a_failed_group_worker_is_reported_but_does_not_block_readiness() -> None:
    from tests.server.test_group_ws import send, until

    def broken() -> ScriptedBackend:
        raise FileNotFoundError("pose_detector.onnx")

    app = build_app(Settings(), backend_factory=ScriptedBackend)
    app.state.runtime.group.factory = broken  # build_app keeps the default
    with TestClient(app) as client:
        with client.websocket_connect("/ws/group") as ws:
            send(ws, type="open", mode="follow")
            assert until(ws, "error")["code"] == "inference_failed"
        failed = {
            "state": "failed",
            "backend": None,
            "error": "FileNotFoundError: pose_detector.onnx",
        }
        ready = client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["group_worker"] == failed
        inference = client.get("/health/inference")
        assert inference.status_code == 200
        assert (inference.json()["ready"], inference.json()["group"]) == (True, failed)


def test_health_before_the_model_is_loaded_is_not_ready() -> None:
    app = build_app(Settings(), backend_factory=ScriptedBackend)
    client = TestClient(app)  # no `with`: the lifespan (model load) has not run
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 503
    assert client.get("/health/inference").json()["ready"] is False


class Unreachable:
    """A remote inference worker whose deployment does not answer."""

    name = "remote"

    def __init__(self) -> None:
        self.backend_name = "remote"
        self.warm = True
        self.running = True
        self.degraded = None

    def load(self) -> None: ...
    def start(self) -> None: ...
    def stop(self, timeout_s: float = 5.0) -> None: ...

    async def open_stream(self) -> Any:
        raise RuntimeError("no stream")

    async def deployment_health(self) -> dict[str, Any] | None:
        raise ConnectionError("no replica")


def test_inference_health_reports_a_deployment_that_does_not_answer() -> None:
    app = build_app(Settings(), worker=Unreachable())
    with TestClient(app) as client:
        response = client.get("/health/inference")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False
    assert body["deployment"] == {
        "ready": False,
        "error": "ConnectionError: no replica",
    }


# --- logs -----------------------------------------------------------------------------


def test_json_lines_carry_the_record_its_extras_and_exception() -> None:
    formatter = JsonLinesFormatter()
    try:
        raise ValueError("bad frame")
    except ValueError:
        record = logging.getLogger("movecoach.test").makeRecord(
            "movecoach.test",
            logging.WARNING,
            __file__,
            1,
            "session %s: %d reps",
            ("abc", 3),
            sys.exc_info(),
            extra={"session_id": "abc", "kiosk": object()},
        )
    entry = json.loads(formatter.format(record))
    assert entry["message"] == "session abc: 3 reps"
    assert (entry["level"], entry["logger"]) == ("warning", "movecoach.test")
    assert entry["session_id"] == "abc" and entry["kiosk"].startswith("<object")
    assert "ValueError: bad frame" in entry["exception"]
    assert entry["time"].endswith("+00:00")


def test_configure_logging_writes_one_json_object_per_line() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        configure_logging("info", "json")
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        logging.getLogger("movecoach.a").info("first")
        logging.getLogger("movecoach.b").debug("hidden")
        logging.getLogger("movecoach.c").error("second\nline")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["first", "second\nline"]
    with pytest.raises(ValueError, match="log format must be one of text, json"):
        configure_logging("info", "xml")


# --- graceful shutdown ----------------------------------------------------------------


class ClosingRecorder(CountingRecorder):
    """Counts, and notes when it is closed (after every session ended, or not)."""

    def __init__(self) -> None:
        super().__init__()
        self.closed_after: dict[str, int] | None = None

    def close(self) -> None:
        self.closed_after = dict(self.closed)


@contextmanager
def running(app: Any, port: int) -> Iterator[Any]:
    import uvicorn

    server = graceful_server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(30)
        assert not thread.is_alive()


def test_shutdown_tells_kiosks_to_reconnect_and_flushes_the_recorder() -> None:
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    recorder = ClosingRecorder()
    app = build_app(Settings(), backend_factory=ScriptedBackend, recorder=recorder)
    port = free_port()
    with running(app, port) as server, connect(f"ws://127.0.0.1:{port}/ws") as ws:
        ws.send(json.dumps({"type": "open", "exercise": "bicep_curl"}))
        assert json.loads(ws.recv(10))["type"] == "opened"
        ws.send(encode_frame(1, jpeg_bytes()))
        while json.loads(ws.recv(10))["type"] != "pose":
            pass
        server.should_exit = True  # what SIGTERM does
        with pytest.raises(ConnectionClosed) as info:
            for _ in range(100):
                ws.recv(10)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1012
    # The session ended as a shutdown (interrupted, resumable), then the recorder was
    # closed, with that end already handed to it.
    assert recorder.closed == {"SHUTDOWN": 1}
    assert recorder.closed_after == {"SHUTDOWN": 1}


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.skipif(
    not HAS_RESUME, reason="needs the ws.py/schemas.py resume hooks (patch)"
)
def test_a_kiosk_keeps_its_session_through_a_server_restart(tmp_path: Any) -> None:
    from kiosk.resume import stream_resumable_session
    from server.resume import ResumableRecorder, recorded_rep_counts
    from server.store import Store
    from tests.server.distributed.clips import curl_clip_jpegs

    jpegs = curl_clip_jpegs()
    url = f"sqlite:///{tmp_path / 'records.db'}"
    settings = Settings(backend="onnx", db_url=url)
    port = free_port()

    def server_app() -> tuple[Any, Store]:
        store = Store(url)
        return build_app(
            settings,
            recorder=ResumableRecorder(store, wait_for_reps=False),
            store=store,
        ), store

    first_app, first_store = server_app()
    first = running(first_app, port)
    server = first.__enter__()
    restarted: list[Any] = []

    async def kiosk() -> Any:
        pose, rep, opened = asyncio.Event(), asyncio.Event(), []

        def on_message(message: dict[str, Any]) -> None:
            if message["type"] == "pose":
                pose.set()
            elif message["type"] == "rep_completed":
                rep.set()
            elif message["type"] == "opened":
                opened.append(message)

        async def frames() -> Any:
            ts = 1
            for lap in range(2):
                if lap == 1:
                    await asyncio.wait_for(rep.wait(), 30)
                    server.should_exit = True  # SIGTERM: graceful shutdown ...
                    await asyncio.to_thread(first.__exit__, None, None, None)
                    app, store = server_app()  # ... and the new version starts
                    restarted.append((running(app, port), store))
                    await asyncio.to_thread(restarted[0][0].__enter__)
                    for _ in range(600):
                        if len(opened) == 2:
                            break
                        await asyncio.sleep(0.1)
                for jpeg in jpegs:
                    pose.clear()
                    yield ts, jpeg
                    ts += 33
                    await asyncio.wait_for(pose.wait(), 30)

        report = await stream_resumable_session(
            f"ws://127.0.0.1:{port}/ws", "bicep_curl", frames(), on_message=on_message
        )
        return report, opened

    try:
        report, opened = asyncio.run(kiosk())
    finally:
        for context, store in restarted:
            context.__exit__(None, None, None)
            store.dispose()
        first_store.dispose()
    assert report.resumed == [True]
    assert (
        opened[1]["session_id"] == opened[0]["session_id"]
        and opened[1]["resumed_reps"] == 1
    )
    assert [r["count"] for r in report.reps] == [1, 2]
    assert report.summary["summary"]["reps"] == 2
    assert recorded_rep_counts(Store(url), opened[0]["session_id"]) == [1, 2]


def test_the_server_runs_numpy_blas_on_one_thread() -> None:
    """Building the app puts numpy's OpenBLAS on one thread for the process (two
    threads doubled the rep counter's CPU per frame). In a child process, so this
    test process keeps its own setting: BLAS on two threads first, then an app."""
    import subprocess

    script = """
import json
from pathlib import Path
import numpy
from threadpoolctl import threadpool_info, threadpool_limits
from fastapi.testclient import TestClient
from server.operations import build_app
from server.settings import Settings
from tests.server.conftest import ScriptedBackend
threadpool_limits(limits=2, user_api="blas")
def numpys():
    return [p["num_threads"] for p in threadpool_info() if "numpy" in p["filepath"]]
before = numpys()
with TestClient(build_app(Settings(), backend_factory=ScriptedBackend)) as client:
    assert client.get("/health/ready").status_code == 200
    after = numpys()
print(json.dumps([before, after]))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert before == [2], before  # numpy's BLAS was found, on two threads
    assert after == [1], after
