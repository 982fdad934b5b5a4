"""Crash safety of the records, end to end: a real `movecoach serve` process (real pose
model, kiosk token), a real session streamed from the shared squat video over the
websocket, SIGKILL once reps were reported, a restart, and every reported rep is in
the database (SQLite file and PostgreSQL); the cut-off session is marked interrupted.

Only as much video is streamed as it takes to see the reps (the first squats come in
the first seconds), in real time like a camera.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from kiosk.client import subprotocols
from server.schemas import encode_frame
from server.store import Store, repository, upgrade_database
from server.store.models import SessionStatus
from tests.conftest import IN_CI, ROOT, shared_data_path
from tests.live_server import ServerProcess, free_port
from tests.server.store.helpers import PG_ADMIN_URL

pytestmark = [pytest.mark.model, pytest.mark.slow]

REPS_BEFORE_KILL = 2
STREAM_LIMIT_S = 30.0  # video seconds streamed at most while waiting for the reps
MEMBER_CODE = "K-001"


def _server(db_url: str, port: int, log: Path) -> ServerProcess:
    """`movecoach serve` on the records database with kiosk tokens required."""
    args = ["--db", db_url, "--backend", "mediapipe", "--kiosk-auth"]
    return ServerProcess([*args, "--log-level", "warning"], port, log, cwd=ROOT)


def _seed(url: str) -> dict[str, Any]:
    upgrade_database(url)
    store = Store(url)
    try:
        with store.begin() as db:
            centre = repository.create_centre(db, "Riverside")
            resident = repository.create_resident(
                db, centre_id=centre.id, member_code=MEMBER_CODE, display_name="Wu"
            )
            _, token = repository.create_kiosk(db, centre_id=centre.id, name="Hall")
            return {"resident_id": resident.id, "token": token}
    finally:
        store.dispose()


async def _stream_until_reps(
    port: int, token: str, video: Path, server: ServerProcess
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """Stream the video in real time; SIGKILL the server once REPS_BEFORE_KILL reps
    came back. Returns (opened, reps reported, frames sent)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    reps: list[dict[str, Any]] = []
    got_reps = asyncio.Event()
    sent = 0
    url = f"ws://127.0.0.1:{port}/ws"
    try:
        async with connect(
            url, max_size=16 << 20, subprotocols=subprotocols(token)
        ) as ws:
            await ws.send(
                json.dumps(
                    {
                        "type": "open",
                        "v": 1,
                        "exercise": "squat",
                        "resident": MEMBER_CODE,
                    }
                )
            )
            opened = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert opened["type"] == "opened", opened

            async def receive() -> None:
                try:
                    async for raw in ws:
                        message = json.loads(raw)
                        if message["type"] == "rep_completed":
                            reps.append(message)
                            if len(reps) >= REPS_BEFORE_KILL:
                                got_reps.set()
                except ConnectionClosed:
                    pass

            receiver = asyncio.create_task(receive())
            start = time.perf_counter()
            try:
                while not got_reps.is_set() and sent / fps < STREAM_LIMIT_S:
                    ok, bgr = capture.read()
                    if not ok:
                        break
                    h, w = bgr.shape[:2]
                    bgr = cv2.resize(bgr, (640, round(h * 640 / w)))
                    jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])[1]
                    delay = start + sent / fps - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await ws.send(
                        encode_frame(1000 + round(sent * 1000 / fps), jpeg.tobytes())
                    )
                    sent += 1
                if got_reps.is_set():
                    server.kill()  # mid-session, mid-stream: no close, no shutdown
                await asyncio.wait_for(receiver, 10)
            finally:
                receiver.cancel()
    finally:
        capture.release()
    return opened, reps, sent


def _crash_and_restart(db_url: str, tmp_path: Path) -> None:
    ids = _seed(db_url)
    video = shared_data_path("video", "mrpose_air_squat.mp4")
    port = free_port()
    log = tmp_path / "server.log"
    server = _server(db_url, port, log)
    try:
        server.wait_ready()
        opened, reps, sent = asyncio.run(
            _stream_until_reps(port, ids["token"], video, server)
        )
    finally:
        server.stop()
    assert server.proc.returncode == -signal.SIGKILL, log.read_text()
    assert len(reps) >= REPS_BEFORE_KILL, (sent, reps, log.read_text())

    # Before the restart: the session is still "active", as the crash left it.
    store = Store(db_url)
    try:
        with store.session() as db:
            session = repository.find_session_by_live_id(db, opened["session_id"])
            assert session is not None and session.status is SessionStatus.ACTIVE
        restarted = _server(db_url, port, log)
        try:
            restarted.wait_ready()  # start-up marks sessions cut off by a crash
        finally:
            restarted.stop()
        with store.session() as db:
            session = repository.find_session_by_live_id(db, opened["session_id"])
            assert session is not None
            assert session.status is SessionStatus.INTERRUPTED
            assert session.end_reason == "server_restart"
            assert session.resident_id == ids["resident_id"]
            stored = {(r.count, r.timestamp_ms): r for r in session.reps}
            for reported in reps:  # every rep the kiosk was told about is there
                row = stored.get((reported["count"], reported["timestamp_ms"]))
                assert row is not None, (reported, sorted(stored))
                assert row.score == pytest.approx(reported["score"], abs=1e-6)
                assert row.duration_ms == reported["duration_ms"]
    finally:
        store.dispose()


def test_sigkill_keeps_every_reported_rep_sqlite(tmp_path: Path) -> None:
    _crash_and_restart(f"sqlite:///{tmp_path / 'records.db'}", tmp_path)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A uniquely named PostgreSQL database for this test, dropped after."""
    admin_url = make_url(PG_ADMIN_URL)
    admin = create_engine(
        admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    name = f"movecoach_kill_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL not reachable at {admin_url.host}: {exc.orig}"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_sigkill_keeps_every_reported_rep_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    _crash_and_restart(pg_url, tmp_path)
